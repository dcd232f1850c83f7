//! Deterministic construction of valid identifiers, for sample data, the synthetic source
//! generator, tests and benchmarks.
//!
//! [`make_uscc`] and [`make_ric`] assemble a code from its parts and compute the check
//! characters; [`sample_uscc`] and [`sample_ric`] derive a realistic-looking code from a
//! 64-bit seed, so the same seed always gives the same code on every platform.

use super::{ric, uscc};
use crate::date::Day;

/// Builds a USCC from its parts, computing the organisation-code check (position 17) and the
/// MOD 31 check (position 18).
///
/// # Panics
/// When a part holds a character outside the USCC character set (the region must be
/// digits and the authority one of 1–9, A, N, Y for the result to be valid).
pub fn make_uscc(authority: u8, entity: u8, region: &[u8; 6], org_body: &[u8; 8]) -> [u8; 18] {
    let mut code = [0u8; 18];
    code[0] = authority;
    code[1] = entity;
    code[2..8].copy_from_slice(region);
    code[8..16].copy_from_slice(org_body);
    code[16] = uscc::org_check_char(org_body).expect("org body must be digits or capitals");
    code[17] = uscc::check_char(&code[..17]).expect("parts must be in the USCC charset");
    code
}

/// Builds an 18-character resident ID number from its region, birth date and 3-digit
/// sequence number (odd for men, even for women), computing the check character.
///
/// # Panics
/// When `region` is not six digits, `seq` exceeds 999 or the birth year is outside 0–9999.
pub fn make_ric(region: &[u8; 6], birth: Day, seq: u16) -> [u8; 18] {
    assert!(
        seq <= 999,
        "sequence number {seq} has more than three digits"
    );
    let (y, m, d) = birth.ymd();
    assert!(
        (0..=9999).contains(&y),
        "birth year {y} does not have four digits"
    );
    let mut code = [0u8; 18];
    code[..6].copy_from_slice(region);
    write_digits(&mut code[6..10], y as u32);
    write_digits(&mut code[10..12], m);
    write_digits(&mut code[12..14], d);
    write_digits(&mut code[14..17], seq as u32);
    code[17] = ric::check_char(&code[..17]).expect("region must be six digits");
    code
}

fn write_digits(out: &mut [u8], mut v: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// A few real prefecture- and county-level division codes, so samples look like real data.
const REGIONS: [&[u8; 6]; 12] = [
    b"110000", b"110105", b"310000", b"310115", b"440300", b"440106", b"350100", b"350203",
    b"330106", b"510104", b"420102", b"610113",
];

/// Registration authorities weighted towards 9 (market regulation), which issues most codes.
const AUTHORITIES: &[u8] = b"9999999999991235NY";

/// The SplitMix64 finaliser: a cheap, well-mixed hash of the seed that every platform
/// computes identically.
pub fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A valid, conforming USCC derived from `seed`.
pub fn sample_uscc(seed: u64) -> [u8; 18] {
    let mut h = mix(seed);
    let mut take = |n: u64| {
        let v = h % n;
        h = mix(h);
        v as usize
    };
    let authority = AUTHORITIES[take(AUTHORITIES.len() as u64)];
    let entity = b"123"[take(3)];
    let region = REGIONS[take(REGIONS.len() as u64)];
    let mut body = [0u8; 8];
    // Newer codes carry letters in the body (e.g. "MA2PBMEM"); older ones are all digits.
    let letters = take(2) == 0;
    for b in body.iter_mut() {
        *b = if letters {
            uscc::CHARSET[take(uscc::CHARSET.len() as u64)]
        } else {
            b'0' + take(10) as u8
        };
    }
    make_uscc(authority, entity, region, &body)
}

/// A valid 18-character resident ID number derived from `seed`, with a birth date between
/// 1930-01-01 and 2010-12-31.
pub fn sample_ric(seed: u64) -> [u8; 18] {
    sample_ric_born(seed, (1930, 2010))
}

/// A valid 15-digit legacy resident ID number derived from `seed` (born 1930–1999).
pub fn sample_ric15(seed: u64) -> [u8; 15] {
    // A legacy number is the 18-character one without "19" and without the check character.
    let code18 = sample_ric_born(seed, (1930, 1999));
    let mut out = [0u8; 15];
    out[..6].copy_from_slice(&code18[..6]);
    out[6..15].copy_from_slice(&code18[8..17]);
    out
}

fn sample_ric_born(seed: u64, (first_year, last_year): (i32, i32)) -> [u8; 18] {
    let h = mix(seed);
    let region = REGIONS[(h % REGIONS.len() as u64) as usize];
    let first = Day::from_ymd(first_year, 1, 1).expect("real day");
    let last = Day::from_ymd(last_year, 12, 31).expect("real day");
    let span = (last.0 - first.0 + 1) as u64;
    let birth = Day(first.0 + ((h >> 8) % span) as i32);
    let seq = ((h >> 40) % 1000) as u16;
    make_ric(region, birth, seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_domain_examples() {
        assert_eq!(
            &make_uscc(b'9', b'1', b"110000", b"60003734"),
            b"91110000600037341L"
        );
        assert_eq!(
            &make_uscc(b'9', b'2', b"340602", b"MA2PBMEM"),
            b"92340602MA2PBMEM24"
        );
        let birth = Day::from_ymd(1949, 12, 31).unwrap();
        assert_eq!(&make_ric(b"110105", birth, 2), b"11010519491231002X");
    }

    #[test]
    fn samples_are_deterministic_and_valid() {
        let today = Day::from_ymd(2024, 6, 1).unwrap();
        for seed in 0..2000 {
            let u = sample_uscc(seed);
            assert_eq!(u, sample_uscc(seed));
            assert_eq!(uscc::validate(&u), Ok(()), "{:?}", std::str::from_utf8(&u));
            let r = sample_ric(seed);
            assert_eq!(
                ric::validate(&r, today),
                Ok(()),
                "{:?}",
                std::str::from_utf8(&r)
            );
            let l = sample_ric15(seed);
            assert!(
                ric::convert_legacy(&l, today).is_ok(),
                "{:?}",
                std::str::from_utf8(&l)
            );
        }
    }
}

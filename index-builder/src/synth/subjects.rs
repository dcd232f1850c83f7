//! Synthetic subjects: organisations with Unified Social Credit Codes and people with
//! resident identity numbers.
//!
//! A subject is a pure function of the seed and its key, so the generator keeps no subject
//! table: a subject that appears in several records is simply generated again, with the same
//! code and name. Keys map to identifiers through an affine permutation
//! (`k ↦ a·k + b mod M`, `a` coprime to `M`) of the identifier space, which makes distinct
//! keys give distinct identifiers while scattering them the way real ones are scattered.

use super::names::{self, OrgKind, Text};
use super::places::{self, FUJIAN_PLACES, PLACES, RIC_REGIONS};
use super::rng::{mix, Rng};
use crate::date::Day;
use crate::ids::{ric, uscc};

/// Organisation-code bodies: 10^8 all-digit bodies (codes issued before 2015) followed by
/// 31^6 bodies `MA??????` (the form issued since).
const DIGIT_BODIES: u64 = 100_000_000;
const ORG_SPACE: u64 = DIGIT_BODIES + 31u64.pow(6);

/// Identity numbers: every address code × every birth date 1950-01-01..=2004-12-31 × the
/// three-digit sequence.
const BIRTH_DAYS: u64 = 20_089;
const PERSON_SPACE: u64 = RIC_REGIONS.len() as u64 * BIRTH_DAYS * 1000;

const _: () = assert!(ORG_SPACE < 1 << 30 && PERSON_SPACE < 1 << 30);

/// A prime larger than both spaces, hence coprime to each, used as the multiplier.
const MULTIPLIER: u64 = 1_000_000_007;

/// One organisation in about ten thousand carries a nonconforming pilot-area code.
const NONCONFORMING_EVERY: u64 = 9_973;

const TAG_ORG: u64 = 0x006f_7267;
const TAG_PERSON: u64 = 0x7065_7273;

fn permute(key: u64, space: u64, seed: u64, tag: u64) -> u64 {
    // Both spaces are below 2^30, so the product stays below 2^60 and u64 suffices.
    let offset = mix(&[seed, tag]) % space;
    ((MULTIPLIER % space) * (key % space) + offset) % space
}

/// People fall into three disjoint key families so that their numbers never coincide:
/// listed people, operators of individual businesses (one per organisation key), and the
/// other persons named in links.
pub fn listed_person_key(k: u64) -> u64 {
    3 * k
}

pub fn operator_key(org: u64) -> u64 {
    3 * org + 1
}

pub fn link_person_key(j: u64) -> u64 {
    3 * j + 2
}

pub struct Person {
    pub id: [u8; 18],
    pub name: Text,
    pub surname: &'static str,
}

/// The person with this key. Keys beyond the identifier space (about 3×10^8 per family)
/// wrap around and repeat numbers; nothing near that is generated in practice.
pub fn person(seed: u64, key: u64) -> Person {
    let p = permute(key, PERSON_SPACE, seed, TAG_PERSON);
    let seq = p % 1000;
    let day = (p / 1000) % BIRTH_DAYS;
    let region = (p / 1000 / BIRTH_DAYS) as usize;

    let mut id = [b'0'; 18];
    // A slice of the first address block becomes Hong Kong, Macau and Taiwan residence
    // permits; no other block produces those prefixes, so numbers stay unique.
    let address: &[u8] = if region == 0 && seq < 50 {
        [b"810000", b"820000", b"830000"][(seq % 3) as usize]
    } else {
        RIC_REGIONS[region].as_bytes()
    };
    id[..6].copy_from_slice(address);
    let born = Day::from_ymd(1950, 1, 1)
        .expect("valid")
        .add_days(day as i32);
    let (y, m, d) = born.ymd();
    write_digits(&mut id[6..10], y as u64);
    write_digits(&mut id[10..12], m as u64);
    write_digits(&mut id[12..14], d as u64);
    write_digits(&mut id[14..17], seq);
    id[17] = ric::check_char(&id[..17]).expect("digits");

    let mut rng = Rng::new(mix(&[seed, TAG_PERSON, key]));
    let mut name = Text::new();
    let surname = names::person_name(&mut rng, &mut name);
    Person { id, name, surname }
}

pub struct Org {
    pub id: [u8; 18],
    pub name: Text,
    pub kind: OrgKind,
    /// Index into [`PLACES`].
    pub place: usize,
    /// The code fails only its MOD 31 check, like the Fujian pilot codes.
    pub nonconforming: bool,
}

/// The organisation with this key.
pub fn org(seed: u64, key: u64) -> Org {
    let mut rng = Rng::new(mix(&[seed, TAG_ORG, key]));
    let kind = OrgKind::pick(&mut rng);
    let nonconforming = key % NONCONFORMING_EVERY == 17;
    let place = if nonconforming {
        rng.pick(FUJIAN_PLACES)
    } else {
        places::pick_place(&mut rng)
    };

    let mut id = [b'0'; 18];
    id[..2].copy_from_slice(&kind.prefix());
    id[2..8].copy_from_slice(PLACES[place].code.as_bytes());
    let b = permute(key, ORG_SPACE, seed, TAG_ORG);
    if b < DIGIT_BODIES {
        write_digits(&mut id[8..16], b);
    } else {
        id[8..10].copy_from_slice(b"MA");
        let mut v = b - DIGIT_BODIES;
        for slot in id[10..16].iter_mut().rev() {
            *slot = uscc::CHARSET[(v % 31) as usize];
            v /= 31;
        }
    }
    id[16] = uscc::org_check_char(&id[8..16]).expect("body from the character set");
    id[17] = uscc::check_char(&id[..17]).expect("characters from the set");
    if nonconforming {
        id[17] = other_uscc_char(id[17], 1 + rng.below(30));
    }

    let operator_surname = if kind == OrgKind::Individual {
        person(seed, operator_key(key)).surname
    } else {
        ""
    };
    let mut name = Text::new();
    names::org_name(&mut rng, kind, &PLACES[place], operator_surname, &mut name);
    Org {
        id,
        name,
        kind,
        place,
        nonconforming,
    }
}

/// A USCC character `shift` (1–30) values away from `c`, hence different from it.
pub fn other_uscc_char(c: u8, shift: u64) -> u8 {
    let v = uscc::char_value(c).expect("USCC character") as u64;
    uscc::CHARSET[((v + shift) % 31) as usize]
}

fn write_digits(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    #[test]
    fn permutations_are_bijective() {
        assert_eq!(gcd(MULTIPLIER % ORG_SPACE, ORG_SPACE), 1);
        assert_eq!(gcd(MULTIPLIER % PERSON_SPACE, PERSON_SPACE), 1);
        let distinct: HashSet<u64> = (0..50_000).map(|k| permute(k, ORG_SPACE, 9, 1)).collect();
        assert_eq!(distinct.len(), 50_000);
    }

    #[test]
    fn generated_codes_pass_every_check() {
        let mut ids = HashSet::new();
        for key in 0..20_000 {
            let o = org(5, key);
            assert_eq!(uscc::org_check_char(&o.id[8..16]), Some(o.id[16]));
            let mod31 = uscc::check_char(&o.id[..17]);
            assert_eq!(mod31 != Some(o.id[17]), o.nonconforming, "{key}");
            if o.nonconforming {
                assert!(o.id[2..4] == *b"35");
            }
            assert!(ids.insert(o.id), "duplicate org code for key {key}");
            assert!(o.id.iter().all(|&c| uscc::char_value(c).is_some()));
        }
        let enterprises = ids.iter().filter(|id| id[..2] == *b"91").count();
        assert!((11_000..15_000).contains(&enterprises), "{enterprises}");
    }

    #[test]
    fn generated_numbers_pass_every_check_and_are_unique() {
        let mut ids = HashSet::new();
        let mut permits = 0;
        for key in 0..60_000 {
            let p = person(5, key);
            assert_eq!(ric::check_char(&p.id[..17]), Some(p.id[17]));
            let born = Day::parse_compact(&p.id[6..14]).expect("real birth date");
            assert!(born >= Day::from_ymd(1950, 1, 1).unwrap());
            assert!(born <= Day::from_ymd(2004, 12, 31).unwrap());
            permits += matches!(&p.id[..2], b"81" | b"82" | b"83") as u32;
            assert!(ids.insert(p.id), "duplicate number for key {key}");
        }
        assert!(permits > 0);
    }

    #[test]
    fn same_key_same_subject() {
        let a = org(11, 42);
        let b = org(11, 42);
        assert_eq!(a.id, b.id);
        assert_eq!(a.name.as_bytes(), b.name.as_bytes());
        assert_ne!(org(12, 42).id, a.id);
        assert_eq!(person(1, 7).name.as_bytes(), person(1, 7).name.as_bytes());
    }
}

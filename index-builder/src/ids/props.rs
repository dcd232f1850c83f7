//! Property tests: generated valid codes pass and round-trip through every presentation
//! variant, and every single-character substitution is caught.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use super::*;

fn today() -> Day {
    Day::from_ymd(2024, 6, 1).unwrap()
}

/// Fixed seed so a run is reproducible; no failure files are written.
fn config() -> Config {
    Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x1D5_C0DE),
        failure_persistence: None,
        ..Config::default()
    }
}

fn charset_char() -> impl Strategy<Value = u8> {
    prop::sample::select(uscc::CHARSET.to_vec())
}

fn digit() -> impl Strategy<Value = u8> {
    (b'0'..=b'9').prop_map(|d| d)
}

fn valid_uscc() -> impl Strategy<Value = [u8; 18]> {
    (
        prop::sample::select(b"123456789ANY".to_vec()),
        1u8..=9,
        prop::array::uniform6(digit()),
        prop::array::uniform8(charset_char()),
    )
        .prop_map(|(a, e, region, body)| {
            // Authority 9 issues entity types 1-3 only; fold 4-9 onto them.
            let e = if a == b'9' { (e - 1) % 3 + 1 } else { e };
            gen::make_uscc(a, b'0' + e, &region, &body)
        })
}

/// An address code: a province-level code of GB/T 2260, a residence permit's (81-83) or a
/// foreigners' permanent residence card's (9 and five digits), and four more digits.
fn address() -> impl Strategy<Value = [u8; 6]> {
    const PROVINCES: [&[u8; 2]; 35] = [
        b"11", b"12", b"13", b"14", b"15", b"21", b"22", b"23", b"31", b"32", b"33", b"34", b"35",
        b"36", b"37", b"41", b"42", b"43", b"44", b"45", b"46", b"50", b"51", b"52", b"53", b"54",
        b"61", b"62", b"63", b"64", b"65", b"71", b"81", b"82", b"83",
    ];
    (
        prop_oneof![
            prop::sample::select(PROVINCES.to_vec()).prop_map(|p| *p),
            digit().prop_map(|d| [b'9', d]),
        ],
        prop::array::uniform4(digit()),
    )
        .prop_map(|(p, rest)| {
            let mut a = [0u8; 6];
            a[..2].copy_from_slice(&p);
            a[2..].copy_from_slice(&rest);
            a
        })
}

fn valid_ric() -> impl Strategy<Value = [u8; 18]> {
    let first = Day::from_ymd(1800, 1, 1).unwrap().0;
    (address(), first..=today().0, 0u16..=999)
        .prop_map(|(region, birth, seq)| gen::make_ric(&region, Day(birth), seq))
}

/// The same code as a person might type or paste it: some characters full-width or in lower
/// case, spaces and hyphens between them, blanks around.
fn presented(code: &[u8], style: &[u8]) -> String {
    let mut s = String::from(" \u{3000}");
    for (i, &c) in code.iter().enumerate() {
        let k = style[i % style.len()];
        let c = c as char;
        match k % 4 {
            0 => s.push(c),
            1 => s.push(c.to_ascii_lowercase()),
            2 => s.push(char::from_u32(c as u32 + 0xFEE0).unwrap()),
            _ => {
                s.push(c);
                s.push(['-', ' ', '\u{3000}', '\u{2014}', '\u{FF0D}'][k as usize % 5]);
            }
        }
    }
    s.push('\t');
    s
}

fn text(code: &[u8]) -> &str {
    std::str::from_utf8(code).unwrap()
}

/// `parse` as it was before the all-digit shortcut: USCC first, then RIC, then lenient,
/// then the more plausible error. The shortcut must never change an answer.
fn parse_in_full(input: &str, mode: Mode, today: Day) -> Result<Id, IdError> {
    let n = normalize(input)?;
    if n.len() != 18 {
        return parse(input, mode, today);
    }
    compare_18(exactly_18(&n, IdType::Uscc)?, &n, mode, today, |_| None)
}

/// Eighteen characters of a person's number's shape: digits, the last maybe `X`; or a valid
/// code of either type with one digit changed.
fn digit_heavy() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::array::uniform17(digit()),
            prop::sample::select(b"0123456789X".to_vec())
        )
            .prop_map(|(d, last)| {
                let mut s = String::from_utf8(d.to_vec()).unwrap();
                s.push(last as char);
                s
            }),
        (valid_ric(), 0usize..18, digit()).prop_map(|(mut c, i, d)| {
            c[i] = d;
            text(&c).to_string()
        }),
        (valid_uscc(), 0usize..18, digit()).prop_map(|(mut c, i, d)| {
            c[i] = d;
            text(&c).to_string()
        }),
        valid_ric().prop_map(|c| text(&c).to_string()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_all_digit_shortcut_never_changes_an_answer(s in digit_heavy()) {
        for mode in [Mode::Strict, Mode::Lenient] {
            let fast = parse(&s, mode, today()).map_err(|e| e.to_string());
            let full = parse_in_full(&s, mode, today()).map_err(|e| e.to_string());
            prop_assert_eq!(fast, full, "{} {:?}", s, mode);
        }
    }

    #[test]
    fn every_valid_resident_id_number_is_read_as_one(code in valid_ric()) {
        // Some also pass both USCC checks; without an organisation under the code in the
        // snapshot they are still people's numbers, and masked as such.
        for mode in [Mode::Strict, Mode::Lenient] {
            let id = parse(text(&code), mode, today()).unwrap();
            prop_assert_eq!(id.id_type(), IdType::Ric);
            let masked = id.masked();
            prop_assert_eq!(&masked.as_str()[6..14], "********");
        }
    }

    #[test]
    fn generated_usccs_pass_and_round_trip(
        code in valid_uscc(),
        style in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let id = parse_uscc(text(&code), Mode::Strict).unwrap();
        prop_assert_eq!(id.as_bytes(), &code);
        prop_assert!(!id.is_nonconforming());
        let again = parse_uscc(&presented(&code, &style), Mode::Strict).unwrap();
        prop_assert_eq!(again, id);
        prop_assert_eq!(parse(id.as_str(), Mode::Strict, today()).unwrap(), id);
        let n = normalize(&presented(&code, &style)).unwrap();
        prop_assert_eq!(n.as_bytes(), &code[..]);
    }

    #[test]
    fn generated_rics_pass_and_round_trip(
        code in valid_ric(),
        style in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let id = parse_ric(text(&code), today()).unwrap();
        prop_assert_eq!(id.as_bytes(), &code);
        prop_assert_eq!(parse_ric(&presented(&code, &style), today()).unwrap(), id);
        // Untyped parsing accepts it too; an all-digit string that is also a valid USCC is
        // read as one (documented ambiguity), so only the code is compared.
        let untyped = parse(id.as_str(), Mode::Strict, today()).unwrap();
        prop_assert_eq!(untyped.as_bytes(), &code);
    }

    #[test]
    fn legacy_rics_convert_to_their_18_character_form(code in valid_ric()) {
        prop_assume!(&code[6..8] == b"19");
        let mut legacy = [0u8; 15];
        legacy[..6].copy_from_slice(&code[..6]);
        legacy[6..].copy_from_slice(&code[8..17]);
        let id = parse_ric(text(&legacy), today()).unwrap();
        prop_assert_eq!(id.as_bytes(), &code);
        prop_assert!(id.converted_from_15());
    }

    #[test]
    fn every_uscc_substitution_is_rejected(code in valid_uscc()) {
        for pos in 0..18 {
            for &c in uscc::CHARSET.iter().filter(|&&c| c != code[pos]) {
                let mut bad = code;
                bad[pos] = c;
                let r = parse_uscc(text(&bad), Mode::Strict);
                prop_assert!(r.is_err(), "{} accepted", text(&bad));
                // In lenient mode only a substitution that leaves every other rule intact
                // passes, and it is then marked nonconforming.
                if let Ok(id) = parse_uscc(text(&bad), Mode::Lenient) {
                    prop_assert!(id.is_nonconforming());
                    prop_assert!(r.unwrap_err().is_nonconforming());
                }
            }
        }
    }

    #[test]
    fn every_ric_substitution_is_rejected(code in valid_ric()) {
        for pos in 0..18 {
            let allowed: &[u8] = if pos == 17 { b"0123456789X" } else { b"0123456789" };
            for &c in allowed.iter().filter(|&&c| c != code[pos]) {
                let mut bad = code;
                bad[pos] = c;
                prop_assert!(parse_ric(text(&bad), today()).is_err(), "{} accepted", text(&bad));
            }
        }
    }

    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,24}") {
        let _ = parse(&s, Mode::Lenient, today());
        let _ = parse_uscc(&s, Mode::Strict);
        let _ = parse_ric(&s, today());
    }
}

/// The standards' algorithms written again from their texts (DOMAIN.md), sharing no code
/// with the parser or `gen`: the weights are computed, not copied, so a wrong table there
/// shows up here.
mod reference {
    pub const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

    fn value31(c: char) -> Option<u32> {
        CHARSET.find(c).map(|i| i as u32)
    }

    /// GB 32100 MOD 31: weight of position i (1-based) is 3^(i-1) mod 31.
    pub fn mod31(first17: &str) -> char {
        let mut w = 1u32;
        let mut sum = 0;
        for c in first17.chars() {
            sum += value31(c).unwrap() * w;
            w = w * 3 % 31;
        }
        CHARSET.as_bytes()[((31 - sum % 31) % 31) as usize] as char
    }

    /// GB 11714: body characters 0-9, A=10 … Z=35, weights 3 7 9 10 5 8 4 2, 11 - (Σ mod 11),
    /// 10 written X and 11 written 0.
    pub fn org(body8: &str) -> char {
        let sum: u32 = body8
            .chars()
            .zip([3, 7, 9, 10, 5, 8, 4, 2])
            .map(|(c, w)| c.to_digit(36).unwrap() * w)
            .sum();
        match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            v => char::from_digit(v, 10).unwrap(),
        }
    }

    /// ISO 7064 MOD 11-2: weight of position i (1-based) is 2^(18-i) mod 11; the check
    /// character makes Σ over all 18 ≡ 1 (mod 11), X standing for 10.
    pub fn mod11_2(first17: &str) -> char {
        let sum: u32 = first17
            .chars()
            .enumerate()
            .map(|(i, c)| c.to_digit(10).unwrap() * (1u32 << (17 - i)) % 11)
            .sum();
        let v = (12 - sum % 11) % 11;
        if v == 10 {
            'X'
        } else {
            char::from_digit(v, 10).unwrap()
        }
    }

    fn days_in_month(y: u32, m: u32) -> u32 {
        let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// `YYYYMMDD` is a calendar day from 1800-01-01 to `today` (also `YYYYMMDD`).
    pub fn birth_ok(date: &str, today: &str) -> bool {
        let n = |r: std::ops::Range<usize>| date[r].parse::<u32>().unwrap();
        let (y, m, d) = (n(0..4), n(4..6), n(6..8));
        (1..=12).contains(&m)
            && (1..=days_in_month(y, m)).contains(&d)
            && y >= 1800
            && date <= today
    }

    fn province_ok(p: &str) -> bool {
        p.starts_with('9')
            || matches!(p.parse::<u32>().unwrap(),
                11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
    }

    /// A USCC valid in every part; `strict`: the MOD 31 character too.
    pub fn uscc_ok(s: &str, strict: bool) -> bool {
        let c: Vec<char> = s.chars().collect();
        c.len() == 18
            && c.iter().all(|&x| value31(x).is_some())
            && "123456789ANY".contains(c[0])
            && if c[0] == '9' { "123" } else { "123456789" }.contains(c[1])
            && c[2..8].iter().all(char::is_ascii_digit)
            && org(&s[8..16]) == c[16]
            && (!strict || mod31(&s[..17]) == c[17])
    }

    pub fn ric_ok(s: &str, today: &str) -> bool {
        s.len() == 18
            && s[..17].bytes().all(|b| b.is_ascii_digit())
            && province_ok(&s[..2])
            && birth_ok(&s[6..14], today)
            && mod11_2(&s[..17]) == s.as_bytes()[17] as char
    }
}

/// [`today`] as `YYYYMMDD`, for the reference.
const TODAY: &str = "20240601";

fn ref_uscc() -> impl Strategy<Value = String> {
    (
        prop::sample::select(b"123456789ANY".to_vec()),
        1u8..=9,
        "[0-9]{6}",
        "[0-9A-HJ-NP-RTUW-Y]{8}",
    )
        .prop_map(|(a, e, region, body)| {
            let e = if a == b'9' { (e - 1) % 3 + 1 } else { e };
            let mut s = format!("{}{}{region}{body}", a as char, e);
            s.push(reference::org(&body));
            let check = reference::mod31(&s);
            s.push(check);
            s
        })
}

fn ref_ric() -> impl Strategy<Value = String> {
    let province = prop_oneof![
        prop::sample::select(vec![
            "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
            "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
            "63", "64", "65", "71", "81", "82", "83",
        ])
        .prop_map(str::to_string),
        "9[0-9]",
    ];
    (
        province,
        "[0-9]{4}",
        1800u32..=2024,
        1u32..=12,
        1u32..=31,
        "[0-9]{3}",
    )
        .prop_filter_map("a calendar day up to today", |(p, rest, y, m, d, seq)| {
            let date = format!("{y:04}{m:02}{d:02}");
            reference::birth_ok(&date, TODAY).then(|| {
                let mut s = format!("{p}{rest}{date}{seq}");
                let check = reference::mod11_2(&s);
                s.push(check);
                s
            })
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn codes_built_by_the_standards_text_are_valid(u in ref_uscc(), r in ref_ric()) {
        let id = parse_uscc(&u, Mode::Strict).unwrap();
        prop_assert_eq!(id.as_str(), u.as_str());
        let untyped = parse(&u, Mode::Strict, today()).unwrap();
        prop_assert_eq!(untyped.as_str(), u.as_str());
        let id = parse_ric(&r, today()).unwrap();
        prop_assert_eq!(id.as_str(), r.as_str());
        let id = parse(&r.to_lowercase(), Mode::Strict, today()).unwrap();
        prop_assert_eq!((id.as_str(), id.id_type()), (r.as_str(), IdType::Ric));
        // The legacy form of a number born in the 1900s converts to the same number.
        if &r[6..8] == "19" {
            let legacy = format!("{}{}", &r[..6], &r[8..17]);
            let converted = parse_ric(&legacy, today()).unwrap();
            prop_assert_eq!(converted.as_str(), r.as_str());
        }
    }

    /// Every single-character substitution of a valid code is rejected, or is a different
    /// code that the standards' text says is valid: the parser agrees with the reference on
    /// every one, in every entry point, and names the right check character when only the
    /// check character is wrong.
    #[test]
    fn every_substitution_agrees_with_the_standards_text(u in ref_uscc(), r in ref_ric()) {
        for code in [u, r] {
            for pos in 0..18 {
                let others = reference::CHARSET.chars().filter(|&c| c != code.as_bytes()[pos] as char);
                for c in others {
                    let mut bad = code.clone().into_bytes();
                    bad[pos] = c as u8;
                    let bad = String::from_utf8(bad).unwrap();
                    let (uscc_ok, ric_ok) =
                        (reference::uscc_ok(&bad, true), reference::ric_ok(&bad, TODAY));
                    let got = parse(&bad, Mode::Strict, today());
                    prop_assert_eq!(got.is_ok(), uscc_ok || ric_ok, "{} from {}: {:?}", bad, code, got);
                    prop_assert_eq!(parse_uscc(&bad, Mode::Strict).is_ok(), uscc_ok, "{}", bad);
                    prop_assert_eq!(
                        parse_uscc(&bad, Mode::Lenient).is_ok(),
                        reference::uscc_ok(&bad, false),
                        "{}", bad
                    );
                    prop_assert_eq!(parse_ric(&bad, today()).is_ok(), ric_ok, "{}", bad);
                    if pos == 17 {
                        let right = reference::mod31(&bad[..17]);
                        if reference::uscc_ok(&bad, false) && !uscc_ok {
                            let e = parse_uscc(&bad, Mode::Strict).unwrap_err();
                            prop_assert_eq!(e.expected_check(), Some(right));
                        }
                        let digits = bad[..17].bytes().all(|b| b.is_ascii_digit());
                        if digits && !ric_ok {
                            let right = format!("{}{}", &bad[..17], reference::mod11_2(&bad[..17]));
                            if reference::ric_ok(&right, TODAY) {
                                let e = parse_ric(&bad, today()).unwrap_err();
                                prop_assert_eq!(e.expected_check(), right.chars().last());
                            }
                        }
                    }
                }
            }
        }
    }
}

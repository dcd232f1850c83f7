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

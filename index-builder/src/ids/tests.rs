//! Table-driven tests of parsing, type detection and the exact error messages.

use super::*;

fn today() -> Day {
    Day::from_ymd(2024, 6, 1).unwrap()
}

#[test]
fn domain_examples_parse() {
    let ok = [
        ("91110000600037341L", "91110000600037341L", IdType::Uscc),
        ("9144030071526726XG", "9144030071526726XG", IdType::Uscc),
        ("92340602MA2PBMEM24", "92340602MA2PBMEM24", IdType::Uscc),
        ("121200004013590816", "121200004013590816", IdType::Uscc),
        ("11010519491231002X", "11010519491231002X", IdType::Ric),
        ("44011320141005001x", "44011320141005001X", IdType::Ric),
        ("360426199101010071", "360426199101010071", IdType::Ric),
        ("110105491231002", "11010519491231002X", IdType::Ric),
        (
            "９１１１００００６０００３７３４１Ｌ",
            "91110000600037341L",
            IdType::Uscc,
        ),
        ("9111-0000 6000 37341L", "91110000600037341L", IdType::Uscc),
    ];
    for (input, want, t) in ok {
        let id = parse(input, Mode::Strict, today()).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!((id.as_str(), id.id_type()), (want, t), "{input}");
        assert!(!id.is_nonconforming());
    }
}

#[test]
fn lenient_accepts_nonconforming_uscc_only() {
    // The standard's example with a Z (outside the character set) is malformed, not
    // nonconforming, but the error still names the right check character.
    for mode in [Mode::Strict, Mode::Lenient] {
        let e = parse_uscc("91350100M000100Y4Z", mode).unwrap_err();
        assert!(!e.is_nonconforming());
        assert_eq!(e.expected_check(), Some('3'));
    }
    // Well formed (authority, region, organisation check all right) but MOD 31 says 3.
    let input = "91350100M000100Y4L";
    let e = parse_uscc(input, Mode::Strict).unwrap_err();
    assert!(e.is_nonconforming());
    assert_eq!(e.expected_check(), Some('3'));
    assert_eq!(e.id_type(), Some(IdType::Uscc));

    for id in [
        parse_uscc(input, Mode::Lenient).unwrap(),
        parse(input, Mode::Lenient, today()).unwrap(),
    ] {
        assert_eq!(id.as_str(), input);
        assert!(id.is_nonconforming());
        assert_eq!(id.id_type(), IdType::Uscc);
    }
    // Lenient mode does not relax anything else.
    assert!(matches!(
        parse_uscc("91350100M000100Y5Z", Mode::Lenient),
        Err(IdError::OrgCheck {
            expected: '4',
            found: '5'
        })
    ));
    assert!(matches!(
        parse_ric("36042619910102009X", today()),
        Err(IdError::RicCheck { .. })
    ));
}

#[test]
fn every_authority_code_is_accepted() {
    for &a in b"123456789ANY" {
        let code = gen::make_uscc(a, b'1', b"110000", b"MA01234X");
        let s = std::str::from_utf8(&code).unwrap();
        let id = parse_uscc(s, Mode::Strict).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(id.as_bytes(), &code);
        assert_eq!(
            parse(s, Mode::Strict, today()).unwrap().id_type(),
            IdType::Uscc
        );
    }
    // B is in the character set but is no registration authority.
    let code = gen::make_uscc(b'B', b'1', b"110000", b"MA01234X");
    let e = parse_uscc(std::str::from_utf8(&code).unwrap(), Mode::Strict).unwrap_err();
    assert!(
        matches!(
            e,
            IdError::BadChar {
                position: 1,
                found: 'B',
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn legacy_numbers_are_converted() {
    let id = parse_ric("110105491231002", today()).unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
    assert!(id.converted_from_15());
    assert!(!parse_ric("11010519491231002X", today())
        .unwrap()
        .converted_from_15());
    let id = parse("110105 491231 002", Mode::Strict, today()).unwrap();
    assert_eq!(
        (id.as_str(), id.id_type()),
        ("11010519491231002X", IdType::Ric)
    );
}

#[test]
fn birth_date_is_judged_against_today() {
    let born = "11010519491231002X";
    assert!(parse_ric(born, Day::from_ymd(1949, 12, 31).unwrap()).is_ok());
    let e = parse_ric(born, Day::from_ymd(1949, 12, 30).unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid resident ID number: birth date (positions 7-14) is after the day the number is judged on"
    );
}

#[test]
fn masking_hides_the_middle_of_personal_numbers_only() {
    let person = parse_ric("11010519491231002X", today()).unwrap();
    assert_eq!(person.masked().to_string(), "110105********002X");
    assert_eq!(person.masked().as_str(), "110105********002X");
    assert!(!format!("{person:?}").contains("19491231"));
    let org = parse_uscc("91110000600037341L", Mode::Strict).unwrap();
    assert_eq!(org.masked().to_string(), "91110000600037341L");
}

#[test]
fn id_type_names() {
    assert_eq!(IdType::Uscc.as_str(), "uscc");
    assert_eq!(IdType::Ric.to_string(), "ric");
    assert_eq!(serde_json::to_string(&IdType::Ric).unwrap(), "\"ric\"");
    assert_eq!(
        serde_json::from_str::<IdType>("\"uscc\"").unwrap(),
        IdType::Uscc
    );
}

/// Which parser a row of the error table goes through.
#[derive(Clone, Copy, Debug)]
enum Via {
    Uscc,
    Ric,
    Auto,
}

fn run(via: Via, input: &str) -> Result<Id, IdError> {
    match via {
        Via::Uscc => parse_uscc(input, Mode::Strict),
        Via::Ric => parse_ric(input, today()),
        Via::Auto => parse(input, Mode::Strict, today()),
    }
}

#[test]
fn every_error_has_its_exact_message() {
    use Via::*;
    let rows: &[(Via, &str, &str)] = &[
        // Empty
        (Auto, " -\u{3000}", "no identifier given: the input is empty or holds only spaces and hyphens"),
        (Uscc, "", "no identifier given: the input is empty or holds only spaces and hyphens"),
        // Length
        (Auto, "9111000060003734", "wrong length: 16 characters; expected 18 (USCC or resident ID number) or 15 digits (legacy resident ID number)"),
        (Uscc, "11010549123100", "invalid USCC: wrong length: 14 characters; a USCC has 18"),
        (Uscc, "110105491231002", "invalid USCC: wrong length: 15 characters; a USCC has 18"),
        (Ric, "1101051949123100211", "invalid resident ID number: wrong length: 19 characters; expected 18 (or 15 digits for a legacy first-generation number)"),
        // BadChar from normalisation
        (Auto, "9111 0000.6000", "bad character '.' at position 9: expected a letter or a digit"),
        (Uscc, "9111０000张", "invalid USCC: bad character '张' at position 9: expected a letter or a digit"),
        (Ric, "110105_", "invalid resident ID number: bad character '_' at position 7: expected a letter or a digit"),
        // BadChar from the USCC rules, one row per kind of position
        (Uscc, "B1110000600037341L", "invalid USCC: bad character 'B' at position 1: expected a registration-authority code (1-9, A, N or Y)"),
        (Uscc, "O1110000600037341L", "invalid USCC: bad character 'O' at position 1: expected a registration-authority code (1-9, A, N or Y)"),
        (Uscc, "9I110000600037341L", "invalid USCC: bad character 'I' at position 2: expected an entity type of registration authority 9 (1, 2 or 3)"),
        (Uscc, "911A0000600037341L", "invalid USCC: bad character 'A' at position 4: expected a digit (positions 3-8 are the region code)"),
        (Uscc, "9111000060003S341L", "invalid USCC: bad character 'S' at position 14: expected a digit or a capital letter other than I, O, S, V, Z"),
        // CheckCharNotAllowed
        (Uscc, "91110000600037341v", "invalid USCC: bad character 'V' at position 18: expected a digit or a capital letter other than I, O, S, V, Z; the check character for positions 1-17 is 'L'"),
        (Auto, "91350100M000100Y4Z", "invalid USCC: bad character 'Z' at position 18: expected a digit or a capital letter other than I, O, S, V, Z; the check character for positions 1-17 is '3'"),
        (Ric, "11010519491231002Y", "invalid resident ID number: bad character 'Y' at position 18: expected a digit or X; the check character for positions 1-17 is 'X'"),
        // BadChar from the RIC rules
        (Ric, "1101051949A231002X", "invalid resident ID number: bad character 'A' at position 11: expected a digit"),
        (Ric, "11010549123100X", "invalid resident ID number: bad character 'X' at position 15: expected a digit (a 15-character number is the all-digit legacy form)"),
        // OrgCheck
        (Uscc, "91110000600037342L", "invalid USCC: organisation-code check character (position 17) should be '1', found '2'; one of positions 9-17 is probably mistyped"),
        // UsccCheck (nonconforming or a typo in position 18)
        (Uscc, "91110000600037341N", "invalid USCC: well formed but fails the MOD 31 check: position 18 should be 'L', found 'N' (a nonconforming pilot-area code is accepted only in lenient mode)"),
        (Auto, "91350100M000100Y4L", "invalid USCC: well formed but fails the MOD 31 check: position 18 should be '3', found 'L' (a nonconforming pilot-area code is accepted only in lenient mode)"),
        // BirthDate, each problem
        (Ric, "360426199113010079", "invalid resident ID number: birth date (positions 7-14) is no calendar day: month 13 does not exist"),
        (Auto, "360426199113010079", "invalid resident ID number: birth date (positions 7-14) is no calendar day: month 13 does not exist"),
        (Ric, "110105194902310026", "invalid resident ID number: birth date (positions 7-14) is no calendar day: day 31 does not exist in month 02"),
        (Ric, "110105490231002", "invalid resident ID number: birth date (positions 7-12 of the 15-digit number) is no calendar day: day 31 does not exist in month 02"),
        (Ric, "110105209901010012", "invalid resident ID number: birth date (positions 7-14) is after the day the number is judged on"),
        (Ric, "110105179912310016", "invalid resident ID number: birth date (positions 7-14) is before 1800-01-01"),
        // RicCheck
        (Ric, "36042619910102009X", "invalid resident ID number: check character (position 18) should be '3', found 'X'; the number is probably mistyped"),
        (Auto, "110105194912310032", "invalid resident ID number: check character (position 18) should be '8', found '2'; the number is probably mistyped"),
    ];
    for &(via, input, want) in rows {
        let e = run(via, input).expect_err(input);
        assert_eq!(e.to_string(), want, "{via:?} {input:?}");
    }
}

/// A row of the accessor table: parser, input, `id_type()`, `expected_check()`,
/// `is_nonconforming()`.
type AccessorRow = (Via, &'static str, Option<IdType>, Option<char>, bool);

#[test]
fn error_accessors() {
    let cases: &[AccessorRow] = &[
        (Via::Auto, "", None, None, false),
        (Via::Auto, "12345", None, None, false),
        (Via::Uscc, "12345", Some(IdType::Uscc), None, false),
        (
            Via::Ric,
            "1101051949A231002X",
            Some(IdType::Ric),
            None,
            false,
        ),
        (
            Via::Uscc,
            "91110000600037342L",
            Some(IdType::Uscc),
            None,
            false,
        ),
        (
            Via::Uscc,
            "91110000600037341N",
            Some(IdType::Uscc),
            Some('L'),
            true,
        ),
        (
            Via::Ric,
            "360426199113010079",
            Some(IdType::Ric),
            None,
            false,
        ),
        (
            Via::Ric,
            "36042619910102009X",
            Some(IdType::Ric),
            Some('3'),
            false,
        ),
        (
            Via::Ric,
            "36042619910102009Y",
            Some(IdType::Ric),
            Some('3'),
            false,
        ),
        (
            Via::Uscc,
            "91350100M000100Y4Z",
            Some(IdType::Uscc),
            Some('3'),
            false,
        ),
    ];
    for &(via, input, t, check, nonconforming) in cases {
        let e = run(via, input).expect_err(input);
        assert_eq!(e.id_type(), t, "{input}");
        assert_eq!(e.expected_check(), check, "{input}");
        assert_eq!(e.is_nonconforming(), nonconforming, "{input}");
        // Errors are std errors, usable with `?` into anyhow.
        let _: &dyn std::error::Error = &e;
    }
}

#[test]
fn all_digit_codes_ruled_out_as_uscc_are_read_as_people() {
    // A person's number whose position 17 is not the GB 11714 character of 9-16, one from
    // Chongqing (50…: entity type 0 does not exist), and an all-digit USCC whose inner check
    // holds: the shortcut takes the first two, the third stays a USCC.
    let t = today();
    let person = "410102196804120211";
    assert!(uscc_ruled_out(person.as_bytes().try_into().unwrap()));
    assert_eq!(
        parse(person, Mode::Strict, t).unwrap().id_type(),
        IdType::Ric
    );
    let zero = gen::make_ric(b"500101", Day::from_ymd(1990, 1, 1).unwrap(), 7);
    assert!(uscc_ruled_out(&zero));
    let zero = std::str::from_utf8(&zero).unwrap();
    assert_eq!(
        parse(zero, Mode::Lenient, t).unwrap().id_type(),
        IdType::Ric
    );
    // A first digit 0 is neither an authority nor a province: the person's error.
    let e = parse("010101199001010070", Mode::Lenient, t).unwrap_err();
    assert_eq!(e.id_type(), Some(IdType::Ric), "{e}");
    let org = "121200004013590816";
    assert!(!uscc_ruled_out(org.as_bytes().try_into().unwrap()));
    assert_eq!(parse(org, Mode::Strict, t).unwrap().id_type(), IdType::Uscc);
    // Ruled out as USCC and invalid as RIC (wrong check digit): the RIC's error, as before.
    let typo = "410102196804120212";
    assert!(uscc_ruled_out(typo.as_bytes().try_into().unwrap()));
    assert_eq!(
        parse(typo, Mode::Strict, t).unwrap_err().id_type(),
        Some(IdType::Ric)
    );
}

#[test]
fn codes_valid_as_both_types_are_people_unless_the_snapshot_holds_an_organisation() {
    let org = |_: &[u8; 18]| Some(IdType::Uscc);
    let person = |_: &[u8; 18]| Some(IdType::Ric);
    // Resident ID numbers (a residence permit and a permanent-residence number among them)
    // that pass both USCC checks as well.
    for code in [
        "410184198003151070",
        "110105199001011304",
        "810000199001014212",
        "931156199001012028",
    ] {
        let bytes: &[u8; 18] = code.as_bytes().try_into().unwrap();
        assert!(uscc::validate(bytes).is_ok(), "{code}");
        for mode in [Mode::Strict, Mode::Lenient] {
            let id = parse(code, mode, today()).unwrap();
            assert_eq!(id.id_type(), IdType::Ric, "{code}");
            assert_eq!(&id.masked().as_str()[6..14], "********");
            let id = parse_known(code, mode, today(), person).unwrap();
            assert_eq!(id.id_type(), IdType::Ric, "{code}");
            let id = parse_known(code, mode, today(), org).unwrap();
            assert_eq!(id.id_type(), IdType::Uscc, "{code}");
            assert_eq!(id.masked().as_str(), code);
        }
    }
}

#[test]
fn lenient_mode_does_not_take_a_mistyped_personal_number_for_an_organisation() {
    // 410108197301091757 with position 17 mistyped: its USCC reading fails only MOD 31.
    let typo = "410108197301091717";
    let e = parse(typo, Mode::Lenient, today()).unwrap_err();
    assert_eq!(e.id_type(), Some(IdType::Ric), "{e}");
    assert_eq!(e.expected_check(), Some('4'));
    assert_eq!(
        parse(typo, Mode::Strict, today()).unwrap_err().to_string(),
        e.to_string()
    );
    // Unless the snapshot holds an organisation under exactly that code.
    let id = parse_known(typo, Mode::Lenient, today(), |_| Some(IdType::Uscc)).unwrap();
    assert_eq!(id.id_type(), IdType::Uscc);
    assert!(id.is_nonconforming());
    assert!(parse_known(typo, Mode::Strict, today(), |_| Some(IdType::Uscc)).is_err());
    // A nonconforming code that does not look like a person's number is still accepted.
    let id = parse("91350102896967053Y", Mode::Lenient, today()).unwrap();
    assert!(id.is_nonconforming());
}

#[test]
fn detection_reports_the_more_plausible_type() {
    // All digits but no date in positions 7-14: the USCC reading is reported.
    let e = parse("911100006000373419", Mode::Strict, today()).unwrap_err();
    assert_eq!(e.id_type(), Some(IdType::Uscc), "{e}");
    // A letter among the first 17: USCC.
    let e = parse("11010519491231A02X", Mode::Strict, today()).unwrap_err();
    assert_eq!(e.id_type(), Some(IdType::Uscc), "{e}");
    // A real date in positions 7-14 with an out-of-range year still counts as a RIC.
    let e = parse("110105010101010010", Mode::Strict, today()).unwrap_err();
    assert_eq!(e.id_type(), Some(IdType::Ric), "{e}");
    assert!(matches!(
        e,
        IdError::BirthDate {
            problem: BirthDateProblem::TooEarly,
            ..
        }
    ));
    // A valid RIC whose USCC reading is merely nonconforming stays a RIC in lenient mode.
    let id = parse("11010519491231002X", Mode::Lenient, today()).unwrap();
    assert_eq!(id.id_type(), IdType::Ric);
}

#[test]
fn earliest_birth_constant_is_1800_01_01() {
    assert!(parse_ric(
        std::str::from_utf8(&gen::make_ric(
            b"110105",
            Day::from_ymd(1800, 1, 1).unwrap(),
            1
        ))
        .unwrap(),
        today()
    )
    .is_ok());
}

#[test]
fn entity_type_must_be_one_the_authority_can_issue() {
    // GB 32100-2015 table 1: every entity type (position 2) is a digit 1-9, and market
    // regulation (authority 9) issues only 1 企业, 2 个体工商户 and 3 农民专业合作社.
    for (authority, types) in [(b'9', &b"123"[..]), (b'1', b"1239"), (b'5', b"1239")] {
        for &t in types {
            let code = gen::make_uscc(authority, t, b"110000", b"60003734");
            let s = std::str::from_utf8(&code).unwrap();
            assert!(parse_uscc(s, Mode::Strict).is_ok(), "{s}");
        }
    }
    let rows: &[(u8, u8, &str)] = &[
        (
            b'9',
            b'0',
            "an entity type of registration authority 9 (1, 2 or 3)",
        ),
        (
            b'9',
            b'4',
            "an entity type of registration authority 9 (1, 2 or 3)",
        ),
        (
            b'9',
            b'A',
            "an entity type of registration authority 9 (1, 2 or 3)",
        ),
        (
            b'9',
            b'Y',
            "an entity type of registration authority 9 (1, 2 or 3)",
        ),
        (b'1', b'0', "an entity-type code (a digit 1-9)"),
        (b'N', b'K', "an entity-type code (a digit 1-9)"),
        (b'Y', b'0', "an entity-type code (a digit 1-9)"),
    ];
    for &(authority, t, expected) in rows {
        let code = gen::make_uscc(authority, t, b"110000", b"60003734");
        let s = std::str::from_utf8(&code).unwrap();
        for mode in [Mode::Strict, Mode::Lenient] {
            let e = parse_uscc(s, mode).unwrap_err();
            assert_eq!(
                e,
                IdError::BadChar {
                    id_type: Some(IdType::Uscc),
                    position: 2,
                    found: t as char,
                    expected
                },
                "{s}"
            );
            assert!(parse(s, mode, today()).is_err(), "{s}");
        }
    }
    // Lenient mode relaxes only MOD 31: a nonconforming code with a bad entity type fails.
    assert!(parse_uscc("90110000600037341A", Mode::Lenient).is_err());
}

#[test]
fn address_code_starts_with_a_province_level_code() {
    let born = Day::from_ymd(1990, 1, 1).unwrap();
    // Every province-level code of GB/T 2260, the residence permits (81, 82, 83) and the
    // foreigners' permanent residence card (9…) are accepted, in both forms.
    let provinces = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51,
        52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91, 93, 99,
    ];
    for p in provinces {
        let region = format!("{p}0101");
        let code = gen::make_ric(region.as_bytes().try_into().unwrap(), born, 7);
        let s = std::str::from_utf8(&code).unwrap();
        assert_eq!(parse_ric(s, today()).unwrap().as_bytes(), &code, "{s}");
        let legacy = format!("{region}900101007");
        assert!(parse_ric(&legacy, today()).is_ok(), "{legacy}");
    }
    // No address code starts with 0; 10, 16-20, 24-30, 38-40, 47-49, 55-60, 66-70, 72-80
    // and 84-89 are no province.
    let rows: &[(&[u8; 6], usize, char, &str)] = &[
        (
            b"010101",
            1,
            '0',
            "1-9 (a province-level address code, or 9 for a foreigner's permanent residence card)",
        ),
        (
            b"000000",
            1,
            '0',
            "1-9 (a province-level address code, or 9 for a foreigner's permanent residence card)",
        ),
        (
            b"100000",
            2,
            '0',
            "1-5 (the province-level codes starting with 1 are 11-15)",
        ),
        (
            b"160101",
            2,
            '6',
            "1-5 (the province-level codes starting with 1 are 11-15)",
        ),
        (
            b"200101",
            2,
            '0',
            "1-3 (the province-level codes starting with 2 are 21-23)",
        ),
        (
            b"380101",
            2,
            '8',
            "1-7 (the province-level codes starting with 3 are 31-37)",
        ),
        (
            b"470101",
            2,
            '7',
            "1-6 (the province-level codes starting with 4 are 41-46)",
        ),
        (
            b"550101",
            2,
            '5',
            "0-4 (the province-level codes starting with 5 are 50-54)",
        ),
        (
            b"600101",
            2,
            '0',
            "1-5 (the province-level codes starting with 6 are 61-65)",
        ),
        (
            b"720101",
            2,
            '2',
            "1 (the province-level code starting with 7 is 71)",
        ),
        (
            b"840000",
            2,
            '4',
            "1-3 (81 Hong Kong, 82 Macau and 83 Taiwan residence permits)",
        ),
    ];
    for &(region, position, found, expected) in rows {
        let code = gen::make_ric(region, born, 7);
        let s = std::str::from_utf8(&code).unwrap();
        let want = IdError::BadChar {
            id_type: Some(IdType::Ric),
            position,
            found,
            expected,
        };
        assert_eq!(parse_ric(s, today()).unwrap_err(), want, "{s}");
        let legacy = format!("{}900101007", std::str::from_utf8(region).unwrap());
        assert_eq!(parse_ric(&legacy, today()).unwrap_err(), want, "{legacy}");
        assert_eq!(parse(&legacy, Mode::Strict, today()).unwrap_err(), want);
        assert!(parse(s, Mode::Lenient, today()).is_err(), "{s}");
    }
}

#[test]
fn birth_date_errors_do_not_give_back_the_masked_digits() {
    // Positions 7-14 are what masking hides (110105********002X); an error shown next to
    // the masked input (a screening row, the builder's rejects) must not put them back.
    // It names the wrong part instead, never the year.
    let rows = [
        ("360426199113010079", "1991", "month 13 does not exist"),
        (
            "110105194902310026",
            "1949",
            "day 31 does not exist in month 02",
        ),
        (
            "110105190002290017",
            "1900",
            "day 29 does not exist in month 02",
        ),
        (
            "110105490231002",
            "1949",
            "day 31 does not exist in month 02",
        ),
        (
            "110105209901010012",
            "2099",
            "is after the day the number is judged on",
        ),
        ("110105179912310016", "1799", "is before 1800-01-01"),
    ];
    for (input, year, want) in rows {
        let e = parse_ric(input, today()).unwrap_err().to_string();
        assert!(!e.contains(year), "{input}: {e}");
        assert!(e.contains(want), "{input}: {e}");
    }
}

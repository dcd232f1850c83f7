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

use super::*;
use crate::model::{Binding as B, Effect as E, Role as R, Scenario as S};

/// Whom a row of the SPEC §4 table applies to.
#[derive(Clone, Copy, Debug)]
enum Target {
    Class(Class),
    List(&'static str),
}

/// The SPEC §4 table, one row per non-empty cell (split by class).
const SPEC_TABLE: &[(S, Target, E, B, &[R])] = {
    use Class::{Black, Focus, Red};
    use Target::{Class as C, List as L};
    const LINK_ENTRY: &[R] = &[R::LegalRep, R::Principal, R::Responsible];
    const LINK_HONORS: &[R] = &[
        R::LegalRep,
        R::Principal,
        R::Responsible,
        R::Director,
        R::Shareholder,
    ];
    const LINK_CONSUME: &[R] = &[R::LegalRep, R::Principal, R::Responsible, R::Controller];
    &[
        (S::Licensing, C(Black), E::Review, B::Mandatory, &[]),
        (S::Licensing, C(Focus), E::Review, B::Recommended, &[]),
        (S::Licensing, C(Red), E::FastTrack, B::Recommended, &[]),
        (S::Procurement, C(Black), E::Deny, B::Mandatory, &[]),
        (S::Procurement, C(Focus), E::Review, B::Recommended, &[]),
        (S::Procurement, C(Red), E::FastTrack, B::Recommended, &[]),
        (S::FiscalFunds, C(Black), E::Deny, B::Mandatory, &[]),
        (S::FiscalFunds, C(Focus), E::Review, B::Recommended, &[]),
        (S::FiscalFunds, C(Red), E::FastTrack, B::Recommended, &[]),
        (S::MarketEntry, C(Black), E::Deny, B::Mandatory, LINK_ENTRY),
        (S::Honors, C(Black), E::Deny, B::Mandatory, LINK_HONORS),
        (S::Honors, C(Focus), E::Review, B::Recommended, &[]),
        (S::Finance, C(Black), E::Deny, B::Mandatory, &[]),
        (S::Finance, C(Focus), E::Review, B::Recommended, &[]),
        (S::Finance, C(Red), E::FastTrack, B::Recommended, &[]),
        (
            S::Transport,
            L("court_defaulter"),
            E::Deny,
            B::Mandatory,
            LINK_CONSUME,
        ),
        (
            S::Consumption,
            L("court_defaulter"),
            E::Deny,
            B::Mandatory,
            LINK_CONSUME,
        ),
        (S::Inspection, C(Black), E::Review, B::Mandatory, &[]),
        (S::Inspection, C(Focus), E::Review, B::Recommended, &[]),
        (S::Inspection, C(Red), E::FastTrack, B::Recommended, &[]),
        (S::PublicServices, C(Red), E::FastTrack, B::Recommended, &[]),
    ]
};

#[test]
fn builtin_declares_every_standard_list_as_spec_section_2() {
    let c = Catalog::builtin();
    assert_eq!(c.lists.len(), STANDARD_LISTS.len());
    for (i, &(code, name, class, domain)) in STANDARD_LISTS.iter().enumerate() {
        let l = c.list(code).expect(code);
        assert_eq!(
            (l.name.as_str(), l.class, l.domain.as_str()),
            (name, class, domain)
        );
        assert_eq!(c.list_index(code), Some(i as u16));
    }
    assert_eq!(c.list_index("no_such_list"), None);
}

/// For every scenario and every standard list, the measures that apply are exactly those of
/// the SPEC §4 table, with its effect, binding and linked roles.
#[test]
fn builtin_encodes_every_cell_of_the_spec_section_4_table() {
    let c = Catalog::builtin();
    for &scenario in S::ALL {
        for list in &c.lists {
            let mut expected: Vec<(E, B, Vec<R>)> = SPEC_TABLE
                .iter()
                .filter(|row| row.0 == scenario)
                .filter(|row| match row.1 {
                    Target::Class(class) => list.class == class,
                    Target::List(code) => list.code == code,
                })
                .map(|row| (row.2, row.3, row.4.to_vec()))
                .collect();
            let mut found: Vec<(E, B, Vec<R>)> = c
                .measures_in(scenario)
                .filter(|(m, _)| m.applies_to_list(list))
                .map(|(m, e)| (e, m.binding, m.linked_roles.clone()))
                .collect();
            expected.sort();
            found.sort();
            assert_eq!(found, expected, "{scenario} / {}", list.code);
        }
    }
    // One measure per cell, no extras, and each measure acts in a single scenario.
    assert_eq!(c.measures.len(), SPEC_TABLE.len());
    assert!(c.measures.iter().all(|m| m.scenarios.len() == 1));
}

#[test]
fn builtin_measures_carry_kind_basis_and_the_green_channel() {
    let c = Catalog::builtin();
    for m in &c.measures {
        let rewards = m.scenarios.iter().all(|&(_, e)| e == E::FastTrack);
        assert_eq!(m.kind == Kind::Reward, rewards, "{}", m.id);
        assert!(!m.basis.seed.is_empty(), "{}", m.id);
        assert!(
            m.name.chars().any(|ch| ch > '\u{2e80}'),
            "{} has a Chinese name",
            m.id
        );
    }
    let green: Vec<(&str, u32)> = c
        .measures
        .iter()
        .filter(|m| m.clean_years > 0)
        .map(|m| (m.id.as_str(), m.clean_years))
        .collect();
    assert_eq!(green, [("licensing.red.green_channel", 3)]);
    let transport = c
        .measures_in(S::Transport)
        .next()
        .expect("a transport measure")
        .0;
    assert_eq!(transport.basis.seed, "五(三)1");
    assert!(transport.basis.national[0].starts_with("最高人民法院关于限制被执行人高消费"));
    assert_eq!(transport.effect_in(S::Transport), Some(E::Deny));
    assert_eq!(transport.effect_in(S::Licensing), None);
}

#[test]
fn to_toml_round_trips() {
    let c = Catalog::builtin();
    let text = c.to_toml();
    assert_eq!(Catalog::parse(&text, "canonical").unwrap(), c);
    // Canonical means stable: writing the re-read catalogue gives the same bytes.
    assert_eq!(Catalog::parse(&text, "canonical").unwrap().to_toml(), text);

    // Strings that need escapes, and a measure reaching two scenarios, survive too.
    let mut odd = c.clone();
    let m = &mut odd.measures[0];
    m.note = Some("引号\"、反斜杠\\ 和换行\n都要转义".to_string());
    m.basis.national = vec!["国发〔2016〕33号".to_string()];
    m.scenarios = vec![(S::Licensing, E::Review), (S::Inspection, E::Deny)];
    odd.measures[1].note = None;
    assert_eq!(Catalog::parse(&odd.to_toml(), "odd").unwrap(), odd);
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.toml");
    std::fs::write(&path, Catalog::builtin().to_toml()).unwrap();
    assert_eq!(Catalog::load(&path).unwrap(), Catalog::builtin());

    std::fs::write(&path, "format = 2\n").unwrap();
    let e = Catalog::load(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:1:10: catalogue format 2 is not supported; this build reads format = 1",
            path.display()
        )
    );
    let missing = dir.path().join("absent.toml");
    let e = Catalog::load(&missing).unwrap_err();
    assert!(matches!(e, CatalogError::Io { .. }), "{e}");
    assert!(e.to_string().starts_with("cannot read catalogue "), "{e}");
}

/// A small valid catalogue: one measure on lines 3–12, then the standard lists (from line 13),
/// so the expected line numbers below are plain to check by counting.
const MEASURE: &str = r#"format = 1

[[measure]]
id = "procurement.black.restrict"
name = "限制参与有关公共资源交易活动"
kind = "punish"
binding = "mandatory"
classes = ["black"]
lists = []
scenarios = { procurement = "deny" }
linked_roles = []
basis = { seed = "五(二)3" }
"#;

fn standard_lists() -> String {
    let lists = STANDARD_LISTS
        .iter()
        .map(|&(code, name, class, domain)| ListDef {
            code: code.to_string(),
            name: name.to_string(),
            class,
            domain: domain.to_string(),
        })
        .collect();
    let only_lists = Catalog {
        format: FORMAT,
        lists,
        measures: Vec::new(),
    };
    // Drop the `format = 1` line; MEASURE already has it.
    only_lists.to_toml().split_once('\n').unwrap().1.to_string()
}

fn small() -> String {
    format!("{MEASURE}{}", standard_lists())
}

fn error_of(text: &str) -> String {
    match Catalog::parse(text, "catalog.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_small_catalogue_is_valid() {
    let c = Catalog::parse(&small(), "catalog.toml").unwrap();
    assert_eq!(c.measures.len(), 1);
    assert_eq!(c.measures[0].clean_years, 0);
    assert_eq!(c.measures[0].note, None);
    assert!(c.measures[0].applies_to_list(c.list("customs_dishonest").unwrap()));
    assert!(!c.measures[0].applies_to_list(c.list("market_abnormal").unwrap()));
}
/// The measure table again, for inserting a second measure with the same id.
fn second_measure() -> String {
    let measure = &MEASURE["format = 1\n\n".len()..];
    format!("basis = {{ seed = \"五(二)3\" }}\n\n{}", measure.trim_end())
}

/// Replace the first text by the second.
type Edit<'a> = (&'a str, &'a str);

/// Each rejection, made by a few edits of the small catalogue, with its exact message.
#[test]
fn rejections_name_the_line_and_say_how_to_fix_it() {
    let second = second_measure();
    let reward = [
        (r#"kind = "punish""#, r#"kind = "reward""#),
        (r#"classes = ["black"]"#, r#"classes = ["red"]"#),
    ];
    let reward_linked = [
        reward[0],
        reward[1],
        (r#""deny""#, r#""fast_track""#),
        ("roles = []", r#"roles = ["legal_rep"]"#),
    ];
    let reward_clean = |years: &'static str| {
        vec![
            reward[0],
            reward[1],
            (r#""deny""#, r#""fast_track""#),
            ("linked_roles = []", years),
        ]
    };
    let cases: Vec<(&str, Vec<Edit>, &str)> = vec![
        (
            "unknown list code",
            vec![("lists = []", r#"lists = ["court_defaulter", "court_defaulters"]"#)],
            "catalog.toml:9:29: measure \"procurement.black.restrict\": unknown list code \
             \"court_defaulters\" in lists; declare it in a [[list]] table or fix the spelling",
        ),
        (
            "unknown class",
            vec![(r#"classes = ["black"]"#, r#"classes = ["black", "blacklist"]"#)],
            "catalog.toml:8:21: unknown class `blacklist`, expected one of: red focus black",
        ),
        (
            "unknown scenario",
            vec![(r#"{ procurement = "deny" }"#, r#"{ bidding = "deny" }"#)],
            "catalog.toml:10:15: unknown scenario `bidding`, expected one of: licensing \
             procurement fiscal_funds market_entry honors finance transport consumption \
             inspection public_services",
        ),
        (
            "unknown effect",
            vec![(r#"{ procurement = "deny" }"#, r#"{ procurement = "refuse" }"#)],
            "catalog.toml:10:29: unknown effect `refuse`, expected one of: deny review \
             fast_track",
        ),
        (
            "unknown role",
            vec![("linked_roles = []", r#"linked_roles = ["boss"]"#)],
            "catalog.toml:11:17: unknown role `boss`, expected one of: legal_rep principal \
             responsible director shareholder controller",
        ),
        (
            "syntax error",
            vec![(r#"kind = "punish""#, "kind = punish")],
            "catalog.toml:6:8: invalid string\nexpected `\"`, `'`",
        ),
        (
            "unknown key",
            vec![("linked_roles = []", "linked_role = []")],
            "catalog.toml:11:1: unknown field `linked_role`, expected one of `id`, `name`, \
             `kind`, `binding`, `classes`, `lists`, `scenarios`, `linked_roles`, \
             `clean_years`, `basis`, `note`",
        ),
        (
            "format other than 1",
            vec![("format = 1", "format = 3")],
            "catalog.toml:1:10: catalogue format 3 is not supported; this build reads format = 1",
        ),
        (
            "bad measure id",
            vec![(r#""procurement.black.restrict""#, r#""Procurement Black""#)],
            "catalog.toml:4:6: measure \"Procurement Black\": an id is dot-separated segments \
             of a-z, 0-9 and _ (e.g. licensing.black.strict_review)",
        ),
        (
            "reward for a black class",
            vec![reward[0]],
            "catalog.toml:8:12: measure \"procurement.black.restrict\": a reward measure cannot \
             apply to class black; it applies to red lists only",
        ),
        (
            "reward that denies",
            reward.to_vec(),
            "catalog.toml:10:29: measure \"procurement.black.restrict\": a reward measure cannot \
             have effect deny (in scenario procurement); use fast_track",
        ),
        (
            "linked roles on a reward",
            reward_linked.to_vec(),
            "catalog.toml:11:17: measure \"procurement.black.restrict\": linked_roles is only \
             meaningful on a punish measure (落实到人); remove it",
        ),
        (
            "punishment for a red list",
            vec![("lists = []", r#"lists = ["tax_a_grade"]"#)],
            "catalog.toml:9:10: measure \"procurement.black.restrict\": a punish measure cannot \
             apply to list \"tax_a_grade\" (class red); it applies to focus or black lists only",
        ),
        (
            "punishment that fast-tracks",
            vec![(r#""deny" }"#, r#""deny", licensing = "fast_track" }"#)],
            "catalog.toml:10:49: measure \"procurement.black.restrict\": a punish measure cannot \
             have effect fast_track (in scenario licensing); use deny or review",
        ),
        (
            "clean_years on a punishment",
            vec![("linked_roles = []", "linked_roles = []\nclean_years = 3")],
            "catalog.toml:12:15: measure \"procurement.black.restrict\": clean_years = 3 is only \
             meaningful on a reward measure; remove it or set it to 0",
        ),
        (
            "clean years longer than a lifetime",
            reward_clean("linked_roles = []\nclean_years = 2147483648"),
            "catalog.toml:12:15: measure \"procurement.black.restrict\": clean_years = \
             2147483648 is more than 100 years, longer than any record's history; the green \
             channel of 四(三) asks for 3",
        ),
        (
            "no target",
            vec![(r#"classes = ["black"]"#, "classes = []")],
            "catalog.toml:4:6: measure \"procurement.black.restrict\": classes and lists are \
             both empty, so it applies to nothing; name a class or a list",
        ),
        (
            "no scenarios",
            vec![(r#"{ procurement = "deny" }"#, "{}")],
            "catalog.toml:4:6: measure \"procurement.black.restrict\": scenarios is empty, so \
             it applies nowhere; give at least one scenario = effect",
        ),
        (
            "duplicate measure id",
            vec![(r#"basis = { seed = "五(二)3" }"#, second.as_str())],
            "catalog.toml:15:6: measure \"procurement.black.restrict\": id used twice (first \
             on line 4); ids must be unique and stable",
        ),
        (
            "missing standard list",
            vec![(r#""honest_model""#, r#""honest_models""#)],
            "catalog.toml: standard list \"honest_model\" (诚信典型 (诚信道德模范、优秀青年志愿者、\
             诚信会员)) is missing; add a [[list]] table with code = \"honest_model\", class = \
             \"red\", domain = \"civic\"",
        ),
        (
            "wrong class for a standard code",
            vec![(
                "\"经营异常名录\"\nclass = \"focus\"",
                "\"经营异常名录\"\nclass = \"black\"",
            )],
            "catalog.toml:33:8: list \"market_abnormal\": is a standard code and must have \
             class = \"focus\", domain = \"market\" (found class = \"black\", domain = \
             \"market\"); declare a new code for a different list",
        ),
        (
            "duplicate list code",
            vec![(
                "code = \"court_defaulter\"",
                "code = \"court_defaulter\"\nname = \"x\"\nclass = \"black\"\ndomain = \
                 \"judicial\"\n\n[[list]]\ncode = \"court_defaulter\"",
            )],
            "catalog.toml:21:8: list \"court_defaulter\": declared twice (first on line 15); \
             remove one of the tables",
        ),
        (
            "bad list code",
            vec![(
                "code = \"honest_model\"",
                "code = \"Honest-Model\"\nname = \"x\"\nclass = \"red\"\ndomain = \
                 \"civic\"\n\n[[list]]\ncode = \"honest_model\"",
            )],
            "catalog.toml:81:8: list \"Honest-Model\": a list code may contain only a-z, 0-9 \
             and _ (it appears in CSV files)",
        ),
    ];
    let base = small();
    for (what, edits, expected) in cases {
        let mut text = base.clone();
        for (from, to) in edits {
            assert_eq!(
                text.matches(from).count(),
                1,
                "{what}: edit {from:?} is ambiguous"
            );
            text = text.replacen(from, to, 1);
        }
        assert_eq!(error_of(&text), expected, "{what}");
    }
}

#[test]
fn a_catalogue_may_declare_more_lists() {
    let text = format!(
        "{}\n[[list]]\ncode = \"fire_safety\"\nname = \"消防安全严重失信\"\nclass = \
         \"black\"\ndomain = \"fire\"\n",
        small()
    );
    let c = Catalog::parse(&text, "catalog.toml").unwrap();
    assert_eq!(c.list_index("fire_safety"), Some(12));
    assert!(c.measures[0].applies_to_list(c.list("fire_safety").unwrap()));
}

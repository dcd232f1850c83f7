//! Canonical TOML for a catalogue.
//!
//! Written by hand rather than through serde so the output keeps the layout of the shipped
//! file (one table per list and measure, scenarios and basis as inline tables), which a clerk
//! reading a snapshot's embedded catalogue can follow. Every field is written, defaults
//! included, so two equal catalogues always give byte-identical text.

use std::fmt::Write;

use super::{Catalog, FORMAT};

pub(super) fn to_toml(catalog: &Catalog) -> String {
    let mut out = String::with_capacity(256 * (catalog.lists.len() + catalog.measures.len()));
    // Writing into a String cannot fail, so the fmt::Results below are ignored.
    let _ = writeln!(out, "format = {FORMAT}");
    for l in &catalog.lists {
        out.push_str("\n[[list]]\n");
        let _ = writeln!(out, "code = {}", quote(&l.code));
        let _ = writeln!(out, "name = {}", quote(&l.name));
        let _ = writeln!(out, "class = {}", quote(l.class.as_str()));
        let _ = writeln!(out, "domain = {}", quote(&l.domain));
    }
    for m in &catalog.measures {
        out.push_str("\n[[measure]]\n");
        let _ = writeln!(out, "id = {}", quote(&m.id));
        let _ = writeln!(out, "name = {}", quote(&m.name));
        let _ = writeln!(out, "kind = {}", quote(m.kind.as_str()));
        let _ = writeln!(out, "binding = {}", quote(m.binding.as_str()));
        let _ = writeln!(
            out,
            "classes = {}",
            array(m.classes.iter().map(|c| c.as_str()))
        );
        let _ = writeln!(out, "lists = {}", array(m.lists.iter().map(String::as_str)));
        let scenarios: Vec<String> = m
            .scenarios
            .iter()
            .map(|(s, e)| format!("{} = {}", s.as_str(), quote(e.as_str())))
            .collect();
        let _ = writeln!(out, "scenarios = {{ {} }}", scenarios.join(", "));
        let _ = writeln!(
            out,
            "linked_roles = {}",
            array(m.linked_roles.iter().map(|r| r.as_str()))
        );
        let _ = writeln!(out, "clean_years = {}", m.clean_years);
        let _ = writeln!(
            out,
            "basis = {{ seed = {}, national = {} }}",
            quote(&m.basis.seed),
            array(m.basis.national.iter().map(String::as_str))
        );
        if let Some(note) = &m.note {
            let _ = writeln!(out, "note = {}", quote(note));
        }
    }
    out
}

fn array<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.map(quote).collect();
    format!("[{}]", items.join(", "))
}

/// A TOML basic string. Non-ASCII text is written as is (TOML files are UTF-8); only the
/// quote, the backslash and control characters need escapes.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod quote_tests {
    use super::quote;

    #[test]
    fn escapes_what_toml_requires() {
        assert_eq!(quote("失信\"a\"\\b\n\u{7}"), r#""失信\"a\"\\b\n\u0007""#);
        let parsed: toml::Value = toml::from_str(&format!("v = {}", quote("x\"\\\n\u{7f}y")))
            .expect("escaped string parses");
        assert_eq!(parsed["v"].as_str(), Some("x\"\\\n\u{7f}y"));
    }
}

//! Name normalisation for the names index: the same function runs at build time (keys of
//! `names.fst`) and at query time, so "恒达建材 有限公司", "恒达建材有限公司" and the
//! full-width "ＡＢＣ科技" forms meet.

/// Trims, drops all white space (ASCII and U+3000), maps full-width ASCII (U+FF01–U+FF5E)
/// to half-width, and lower-cases ASCII letters. Chinese characters are kept as they are.
pub fn normalize_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    normalize_name_into(s, &mut out);
    out
}

/// [`normalize_name`], appending to `out` (the builder normalises millions of names into one
/// buffer rather than one allocation each).
pub fn normalize_name_into(s: &str, out: &mut String) {
    for c in s.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_whitespace() || c == '\u{3000}' {
            continue;
        }
        out.push(c.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_width_and_case_do_not_matter() {
        assert_eq!(normalize_name(" 恒达建材 有限公司 "), "恒达建材有限公司");
        assert_eq!(normalize_name("ＡＢＣ科技\u{3000}公司"), "abc科技公司");
        assert_eq!(normalize_name("ABC"), normalize_name("abc"));
    }
}

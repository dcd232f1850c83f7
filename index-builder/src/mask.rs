//! People's identity numbers in text, masked as first 6, a `*` for every middle character,
//! last 4. The server masks what it echoes and the data's own text with these rules
//! (`credgate::trust::privacy` re-exports them); the builder masks what it prints of a
//! rejected row with them.

use std::borrow::Cow;

/// Masks text a caller sent as an identifier when it may be a person's number: anything that,
/// without the separators the identifier parser drops (white space, hyphens and the dashes
/// U+2010..U+2015, full-width `－`), is 15 digits, 17 digits and a check digit or `X`, or any
/// other run of [`MIN_RUN`] or more digits (a mistyped number written in groups gives the
/// person away as much as one written without them). (An all-digit USCC is masked too when
/// it is not recognised as one: erring that way costs nothing.) Full-width digits and `Ｘ`
/// count as their ASCII forms, and the masked text is written with ASCII digits. Other text
/// is returned as it is, without allocating.
pub fn mask_input(input: &str) -> Cow<'_, str> {
    // Most text has too few digits to be anything masked: a full-width digit's UTF-8 starts
    // with EF, an ASCII one is itself, so fewer such bytes than MIN_RUN settle it at once.
    let digitish = input
        .bytes()
        .filter(|&b| b.is_ascii_digit() || b == 0xEF)
        .count();
    if digitish < MIN_RUN {
        return Cow::Borrowed(input);
    }
    let compact = || input.chars().filter(|&c| !separator(c)).map(half_width);
    let n = compact().count();
    let personal = n >= MIN_RUN
        && compact()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == n - 1 && n >= 18 && matches!(c, 'X' | 'x')));
    if !personal {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(n);
    for (i, c) in compact().enumerate() {
        out.push(if i < 6 || i >= n - 4 { c } else { '*' });
    }
    Cow::Owned(out)
}

/// The shortest run of digits that is masked in free text ([`mask_numbers`]).
pub const MIN_RUN: usize = 14;

/// A separator the identifier parser drops inside a number (see
/// `credgate_index::ids::normalize`).
fn separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '－' | '\u{2010}'..='\u{2015}')
}

/// The stretches of `text` made of digits (ASCII or full-width) with nothing between them but
/// separators (see [`mask_input`]): the byte range from a stretch's first digit to the end
/// of its last, and how many digits it holds, in order.
fn digit_stretches(text: &str) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, first) = chars.find(|&(_, c)| digit(c))?;
        let (mut end, mut digits) = (start + first.len_utf8(), 1);
        while let Some(&(i, c)) = chars.peek() {
            if digit(c) {
                end = i + c.len_utf8();
                digits += 1;
            } else if !separator(c) {
                break;
            }
            chars.next();
        }
        Some((start, end, digits))
    })
}

/// The byte ranges of `text` that hold [`MIN_RUN`] or more digits (ASCII or full-width)
/// with nothing between them but separators (see [`mask_input`]), in order: every place where
/// [`mask_numbers`] could find something to mask, a run or a whole field of a number written
/// in groups. A string of the snapshot that overlaps none of the ranges found in its string
/// heap has nothing to mask, so the engine masks only the few that do (the heap is scanned
/// once per snapshot). A range may be wider than what is masked; never narrower.
pub fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    digit_stretches(text)
        .filter(|&(_, _, digits)| digits >= MIN_RUN)
        .map(|(start, end, _)| (start, end))
        .collect()
}

/// The most digits (ASCII or full-width) in `text` with nothing but separators between them.
pub fn most_digits_in_a_row(text: &str) -> usize {
    digit_stretches(text)
        .map(|(_, _, digits)| digits)
        .max()
        .unwrap_or(0)
}

/// Masks every person's number inside free text a caller sent (an echoed CSV cell or row, a
/// JSON value, a query parameter quoted in an error message): every run of 14 or more
/// digits keeps its first 6 and last 4 characters and has the rest replaced by `*`. An `X`
/// or `x` right after 17 digits (a check character) belongs to the run. Full-width digits
/// (`０`–`９`, and `Ｘ`/`ｘ`) count as digits, since the identifier parser accepts them; they
/// stay full-width in the masked text.
///
/// The rule is wider than a person's number on purpose. A mistyped number (17 or 19 digits,
/// one glued to a letter) still gives the person away, 14 digits of a number leave only its
/// sequence and check to guess, and a bank card's 16 to 19 digits are personal information
/// too. What it costs is that an all-digit USCC, or another long number, echoed anywhere but
/// as a row's recognised identifier is masked as well. A number written with spaces or
/// hyphens inside is masked when it is the whole text ([`mask_input`]).
///
/// Text with nothing to mask is returned borrowed: nothing is allocated.
pub fn mask_numbers(text: &str) -> Cow<'_, str> {
    if text.len() < MIN_RUN {
        return Cow::Borrowed(text);
    }
    if let Cow::Owned(m) = mask_input(text) {
        return Cow::Owned(m);
    }
    let mut out: Option<String> = None;
    // Bytes of `text` already copied into `out`.
    let mut copied = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !digit(c) {
            continue;
        }
        let mut len = 1;
        let mut end = start + c.len_utf8();
        while let Some(&(i, d)) = chars.peek() {
            if !digit(d) {
                break;
            }
            chars.next();
            len += 1;
            end = i + d.len_utf8();
        }
        if len == 17 {
            if let Some(&(i, x)) = chars.peek() {
                if matches!(x, 'X' | 'x' | 'Ｘ' | 'ｘ') {
                    chars.next();
                    len = 18;
                    end = i + x.len_utf8();
                } else if x.is_ascii_uppercase() && valid_uscc(&text[start..i + 1]) {
                    // An organisation's code whose only letter is its check character
                    // (91110000600037341L): public, and left as it is.
                    continue;
                }
            }
        }
        if len < MIN_RUN {
            continue;
        }
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[copied..start]);
        for (i, d) in text[start..end].chars().enumerate() {
            out.push(if i < 6 || i >= len - 4 { d } else { '*' });
        }
        copied = end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The first `max` characters of `text`, for a message or an echo that must stay short. A
/// run of digits the cut would split is dropped whole: the part left before the cut could be
/// too short for [`mask_numbers`] to recognise and still give most of a number away.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    let Some((at, next)) = text.char_indices().nth(max) else {
        return Cow::Borrowed(text);
    };
    let kept = &text[..at];
    if digit(next) {
        Cow::Borrowed(kept.trim_end_matches(digit))
    } else {
        Cow::Borrowed(kept)
    }
}

/// Whether `code` (17 ASCII or full-width digits and a capital letter) is a valid USCC.
fn valid_uscc(code: &str) -> bool {
    crate::ids::parse_uscc(code, crate::ids::Mode::Strict).is_ok()
}

/// An ASCII or full-width digit.
fn digit(c: char) -> bool {
    matches!(c, '0'..='9' | '０'..='９')
}

/// Full-width digits and `X` as their ASCII forms.
fn half_width(c: char) -> char {
    match c {
        '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
        'Ｘ' | 'ｘ' => 'X',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_numbers_and_leaves_other_text() {
        assert_eq!(mask_input("410102196804120211"), "410102********0211");
        assert_eq!(mask_input("4101 0219 6804 1202 1x"), "410102********021x");
        assert_eq!(
            mask_input("４１０１０２１９６８０４１２０２１１"),
            "410102********0211"
        );
        assert_eq!(mask_input("410102680412021"), "410102*****2021");
        assert_eq!(mask_input("91410104MACKHWBA9J"), "91410104MACKHWBA9J");
        assert_eq!(mask_input("abc"), "abc");
        // Every separator the identifier parser drops, and mistyped numbers in groups.
        for sep in [
            "－", "‐", "‑", "‒", "–", "—", "―", "\u{3000}", "\u{A0}", "\t",
        ] {
            let grouped = format!("410102{sep}19680412{sep}0211");
            assert_eq!(mask_input(&grouped), "410102********0211", "{grouped:?}");
        }
        assert_eq!(mask_input("4101 0219 6804 1202 110"), "410102*********2110");
        assert_eq!(mask_input("3201 0285 0611 1230"), "320102******1230");
        assert_eq!(mask_input("1234 5678 9012 3"), "1234 5678 9012 3");
        assert_eq!(mask_input("4101 0219 6804 12X2"), "4101 0219 6804 12X2");
    }

    #[test]
    fn digit_runs_find_what_mask_numbers_masks() {
        assert!(digit_runs("有限公司，2024年第12345号").is_empty());
        let text = "法定代表人（410102196804120211）与（４１０１０２１９６８０４１２０２１１）";
        let runs = digit_runs(text);
        assert_eq!(runs.len(), 2);
        assert_eq!(&text[runs[0].0..runs[0].1], "410102196804120211");
        assert_eq!(
            &text[runs[1].0..runs[1].1],
            "４１０１０２１９６８０４１２０２１１"
        );
        // Runs at either end of the text, and exactly 13 and 14 digits.
        assert_eq!(digit_runs("12345678901234"), vec![(0, 14)]);
        assert!(digit_runs("1234567890123,").is_empty());
        assert_eq!(digit_runs("a12345678901234"), vec![(1, 15)]);
        // Numbers written in groups, as a whole field is masked: the run spans the groups.
        for grouped in [
            "4101 0219 6804 1202 110",
            "410184-1979-0214-1699",
            "４１０１０２\u{3000}１９６８０４１２\u{2012}０２１１",
        ] {
            assert_eq!(digit_runs(grouped), vec![(0, grouped.len())], "{grouped}");
            assert!(matches!(mask_numbers(grouped), Cow::Owned(_)), "{grouped}");
        }
        assert!(digit_runs("4101 0219 6804 1 号").is_empty());
        // Whatever the run finder misses, mask_numbers leaves alone.
        for t in ["x1234567890123y", "12345678901２3"] {
            assert!(digit_runs(t).is_empty());
            assert!(matches!(mask_numbers(t), Cow::Borrowed(_)), "{t}");
        }
    }

    #[test]
    fn numbers_inside_text_are_masked() {
        let cases = [
            // Unparsable rows as they are echoed.
            (
                "410102196804120211,\u{fffd}\u{fffd},b",
                "410102********0211,\u{fffd}\u{fffd},b",
            ),
            ("\"410102196804120211,x\n", "\"410102********0211,x\n"),
            ("{\"id\":410102196804120211}", "{\"id\":410102********0211}"),
            ("[\"41010219680412021x\"]", "[\"410102********021x\"]"),
            // Two numbers, a legacy one, one glued to a Chinese name.
            (
                "a 410102196804120211 b 410102680412021",
                "a 410102********0211 b 410102*****2021",
            ),
            ("王建国410102196804120211号", "王建国410102********0211号"),
            ("４１０１０２１９６８０４１２０２１Ｘ", "410102********021X"),
            (
                "id=４１０１０２１９６８０４１２０２１Ｘ;",
                "id=４１０１０２********０２１Ｘ;",
            ),
            // An all-digit USCC has the shape of a person's number.
            ("121200004013590816", "121200********0816"),
            (
                "/v1/subjects/410102196804120211/x",
                "/v1/subjects/410102********0211/x",
            ),
            // Mistyped numbers still give the person away: too long, too short, glued to
            // letters; and a bank card's digits are personal too. Every run of 14 or more.
            ("4101021968041202110", "410102*********2110"),
            ("41010219680412021", "410102*******2021"),
            ("41018419790214", "410184****0214"),
            ("A410102196804120211", "A410102********0211"),
            ("410102196804120211B", "410102********0211B"),
            ("41010219680412021XY", "410102********021XY"),
            ("41010219680412021X0", "410102********021X0"),
            ("card 6222021234567890123", "card 622202*********0123"),
            // 17 digits and a letter that are no valid USCC.
            ("91110000600037341N", "911100*******7341N"),
        ];
        for (text, want) in cases {
            assert_eq!(mask_numbers(text), want, "{text:?}");
        }
        // Shorter runs are left alone: USCCs with letters, dates, phone numbers.
        for text in [
            "4101841979021",
            "91410104MACKHWBA9J and 91110000600037341L",
            "2026-11-30, 13812345678",
            "no numbers here at all, just words",
            "",
        ] {
            assert!(
                matches!(mask_numbers(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }
}

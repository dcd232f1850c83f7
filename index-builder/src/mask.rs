//! People's identity numbers in text, masked as first 6, a `*` for every middle digit, last
//! 4: a whole field ([`mask_input`]), and runs of digits and numbers written in groups inside
//! longer text ([`mask_numbers`]). The server masks what it echoes and the data's own text
//! with these rules (`credgate::trust::privacy` re-exports them); the builder masks what it
//! prints of a rejected row with them.
//!
//! ```
//! use credgate_index::mask::mask_numbers;
//!
//! assert_eq!(
//!     mask_numbers("身份证号 110101 19900307 123X，2019-01-01 - 2020-12-31"),
//!     "身份证号 110101 ******** 123X，2019-01-01 - 2020-12-31"
//! );
//! ```

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
    if too_few_digits(input) {
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

/// Whether `text` has too few digits to hold anything masked, which settles most text at
/// once: every masked number has [`MIN_RUN`] digits or more, and a digit's UTF-8 is either
/// itself or, full-width, starts with EF (as do other characters, which errs the safe way).
fn too_few_digits(text: &str) -> bool {
    let digitish = text
        .bytes()
        .filter(|&b| b.is_ascii_digit() || b == 0xEF)
        .count();
    digitish < MIN_RUN
}

/// A separator the identifier parser drops inside a number
/// ([`crate::ids::normalize::is_separator`], and the full-width `－` it folds to `-`).
fn separator(c: char) -> bool {
    c == '－' || crate::ids::normalize::is_separator(c)
}

/// Punctuation that joins the groups of a number written as `410102/196804120211` or
/// `410102.19680412.0211`, which the identifier parser does not drop: such groups are one
/// number only when they hold exactly a person's number ([`mask_numbers`]), since the same
/// marks join amounts (`1,234,567.89`) and dates (`2026.11.30`, `2026/11/30`). The
/// full-width forms `／`, `．` and `，` (U+FF0F, U+FF0E, U+FF0C), which Chinese input methods
/// type, join as the ASCII ones do. The ideographic comma `、` and full stop `。` do not:
/// they separate the items of a list and end sentences, so the digits on either side of one
/// belong to different things, and no one writes the groups of a number with them.
fn punctuation(c: char) -> bool {
    matches!(c, '/' | '.' | ',' | '／' | '．' | '，')
}

/// A [`separator`] or [`punctuation`]: what may lie between the groups of a number.
fn loose_separator(c: char) -> bool {
    separator(c) || punctuation(c)
}

/// The stretches of `text` made of digits (ASCII or full-width) with nothing between them but
/// separators and punctuation ([`loose_separator`]): the byte range from a stretch's first
/// digit to the end of its last, and how many digits it holds, in order.
fn digit_stretches(text: &str) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut runs = runs(text).peekable();
    std::iter::from_fn(move || {
        let first = runs.next()?;
        let (mut end, mut digits) = (first.end, first.len);
        while let Some(run) = runs.next_if(|r| loosely_joined(text, end, r.start)) {
            end = run.end;
            digits += run.len;
        }
        Some((first.start, end, digits))
    })
}

/// The byte ranges of `text` that hold [`MIN_RUN`] or more digits (ASCII or full-width)
/// with nothing between them but separators and punctuation ([`loose_separator`]), in order:
/// every place where [`mask_numbers`] could find something to mask, a run, a number written
/// in groups inside text or a whole field that is a number (each needs 14 digits with only
/// separators or punctuation between them, and only digits are masked). A string of the snapshot that overlaps none of the
/// ranges found in its string heap has nothing to mask, so the engine masks only the few that
/// do (the heap is scanned once per snapshot). A range may be wider than what is masked;
/// never narrower.
pub fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    digit_stretches(text)
        .filter(|&(_, _, digits)| digits >= MIN_RUN)
        .map(|(start, end, _)| (start, end))
        .collect()
}

/// The most digits (ASCII or full-width) in `text` with nothing but separators and
/// punctuation ([`loose_separator`]) between them.
pub fn most_digits_in_a_row(text: &str) -> usize {
    digit_stretches(text)
        .map(|(_, _, digits)| digits)
        .max()
        .unwrap_or(0)
}

/// Masks every person's number inside free text a caller sent (an echoed CSV cell or row, a
/// JSON value, a query parameter quoted in an error message) or the data holds (a record's
/// reason). A number keeps its first 6 and last 4 digits, and every digit between them
/// becomes `*`. Full-width digits (`０`–`９`, and `Ｘ`/`ｘ`) count as digits, since the
/// identifier parser accepts them; they stay full-width in the masked text. A text that is a
/// number as a whole, in groups or not, is masked as [`mask_input`] masks it. Inside longer
/// text, two kinds of numbers are masked:
///
/// - **A run** of 14 or more digits, whatever is next to it. An `X` or `x` right after 17
///   digits (a check character) belongs to the run. 17 digits and a capital letter that make
///   a valid USCC (`91110000600037341L`) are an organisation's code and left as they are.
/// - **A number written in groups**: groups of 3 to 13 digits one after the other with only
///   separators between them (white space, `-`, `－`, U+2010–U+2015, as [`mask_input`]
///   drops), holding 14 or more digits in all, at least one group of 4 or more, and not only
///   8-digit dates (`YYYYMMDD` of 1900–2099). A group of 1 or 2 digits, or a run of 14 or
///   more, ends it; the short group belongs to it when the groups before hold 14 digits (the
///   last digits of a card, `6222 0212 3456 7890 12`), and an `X` right after its 17th digit
///   belongs to it. The separators stay where they were. So `110101 19900307 123X`,
///   `110101-19900307-1234`, `110101 1990 0307 1234`, `110 101 19900307 1234`,
///   `110101 900307 123` and `6222 0212 3456 7890 123` are masked
///   (`110101 ******** 123X`), and a date's month and day (`2019-01-01 2019-12-31`,
///   `2019-01-01 - 2020-12-31`, a time `08 30 00`), an amount grouped in thousands
///   (`123 456 789 012 345`), a range of compact dates (`20190101-20191231`) and a phone
///   number (`0371-6512 3456`) are not.
/// - **A number in groups joined by punctuation** as well: the same groups, read with `/`, `.`
///   and `,` between them too, or their full-width forms `／`, `．` and `，`
///   (`410102/196804120211`, `410102.19680412.0211`, `410102,1968,0412,021X`,
///   `410102／196804120211`; not the ideographic `、` and `。`), is masked the same way when it
///   holds exactly 15 digits, or 18 (17 and an `X`): a person's number, by the test a number in
///   groups passes (no check character or birth date is verified, as none is for a run of
///   digits). Those marks also join amounts and dates, so other lengths are left to the rules
///   above, and so are amounts (`1,234,567.89`, `123,456,789,012,345`: no group of 4) and dates
///   (`2026.11.30`, `2026/11/30`: a group of 2 ends the number). Groups that hold more than a
///   person's number are read by their parts between the punctuation: from the first part on,
///   the longest stretch of two or more parts that holds one, by the same test, is masked, and
///   the reading goes on after it, so `410102/196804120211,2019` is masked as
///   `410102/********0211,2019` and two such numbers side by side are both masked.
///
/// The rule is wider than a person's number on purpose. A mistyped number (17 or 19 digits,
/// one glued to a letter) still gives the person away, 14 digits of a number leave only its
/// sequence and check to guess, and a bank card's 16 to 19 digits are personal information
/// too. What it costs is that an all-digit USCC, or another long number, echoed anywhere but
/// as a row's recognised identifier is masked as well, and so are numbers in groups that are
/// neither a person's nor a card's: two phone numbers with only a space between them, a date
/// written right after a number in groups.
///
/// Text with nothing to mask is returned borrowed: nothing is allocated.
pub fn mask_numbers(text: &str) -> Cow<'_, str> {
    if text.len() < MIN_RUN || too_few_digits(text) {
        return Cow::Borrowed(text);
    }
    if let Cow::Owned(m) = mask_input(text) {
        return Cow::Owned(m);
    }
    let mut out = Masked {
        text,
        out: None,
        copied: 0,
        held: None,
    };
    // The number in groups being read, and where the previous run ended. With punctuation
    // in the text, also the number in groups read across it (`loose`), which holds every
    // group of `grouped`: the numbers `grouped` finds in it are held until it is decided.
    let punctuated = text.contains(punctuation);
    let mut grouped: Option<Grouped> = None;
    let mut loose: Option<Loose> = None;
    let mut previous: Option<usize> = None;
    for run in runs(text) {
        let same_stretch = previous.is_some_and(|end| joined(text, end, run.start));
        let same_loose =
            punctuated && previous.is_some_and(|end| loosely_joined(text, end, run.start));
        previous = Some(run.end);
        if !same_stretch {
            if let Some(g) = grouped.take() {
                g.finish(&mut out);
            }
        }
        if !same_loose {
            if let Some(l) = loose.take() {
                l.finish(&mut out);
            }
        }
        if run.len >= MIN_RUN {
            if let Some(g) = grouped.take() {
                g.finish(&mut out);
            }
            if let Some(l) = loose.take() {
                l.finish(&mut out);
            }
            let next = text[run.end..].chars().next();
            if run.len == 17
                && next.is_some_and(|x| {
                    x.is_ascii_uppercase()
                        && !check_x(x)
                        && valid_uscc(&text[run.start..run.end + 1])
                })
            {
                // An organisation's code whose only letter is its check character
                // (91110000600037341L): public, and left as it is.
                continue;
            }
            let (end, len) = with_check_x(text, run.end, run.len);
            out.mask(run.start, end, len);
        } else if run.len <= 2 {
            if let Some(mut g) = grouped.take() {
                if g.digits >= MIN_RUN {
                    g.end = run.end;
                    g.digits += run.len;
                }
                g.finish(&mut out);
            }
            if let Some(mut l) = loose.take() {
                l.push_short(run);
                l.finish(&mut out);
            }
        } else {
            match &mut grouped {
                Some(g) => g.push(run),
                None => grouped = Some(Grouped::new(text, run)),
            }
            if punctuated {
                match &mut loose {
                    Some(l) => l.push(run),
                    None => {
                        loose = Some(Loose::new(text, run));
                        out.held = Some(Vec::new());
                    }
                }
            }
        }
    }
    if let Some(g) = grouped {
        g.finish(&mut out);
    }
    if let Some(l) = loose {
        l.finish(&mut out);
    }
    out.finish()
}

/// Whether only separators lie between the run of digits that ends at `end` and the one
/// that starts at `start`.
fn joined(text: &str, end: usize, start: usize) -> bool {
    text[end..start].chars().all(separator)
}

/// Whether only separators and punctuation ([`loose_separator`]) lie between the run of
/// digits that ends at `end` and the one that starts at `start`.
fn loosely_joined(text: &str, end: usize, start: usize) -> bool {
    text[end..start].chars().all(loose_separator)
}

/// A maximal run of digits (ASCII or full-width): its byte range and how many digits it
/// holds.
#[derive(Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    len: usize,
}

/// The runs of digits of `text`, in order.
fn runs(text: &str) -> impl Iterator<Item = Run> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, first) = chars.find(|&(_, c)| digit(c))?;
        let mut run = Run {
            start,
            end: start + first.len_utf8(),
            len: 1,
        };
        while let Some(&(i, c)) = chars.peek() {
            if !digit(c) {
                break;
            }
            run.end = i + c.len_utf8();
            run.len += 1;
            chars.next();
        }
        Some(run)
    })
}

/// A number written in groups of 3 to 13 digits, as [`mask_numbers`] reads it: from the first
/// digit of its first group to the last of its last.
struct Grouped<'t> {
    text: &'t str,
    start: usize,
    end: usize,
    digits: usize,
    /// Whether a group holds 4 or more digits: without one, the groups are an amount's
    /// thousands.
    wide: bool,
    /// Whether every group is an 8-digit date: then it is a range of dates.
    dates: bool,
}

impl<'t> Grouped<'t> {
    fn new(text: &'t str, run: Run) -> Self {
        Grouped {
            text,
            start: run.start,
            end: run.end,
            digits: run.len,
            wide: run.len >= 4,
            dates: run.len == 8 && compact_date(&text[run.start..run.end]),
        }
    }

    fn push(&mut self, run: Run) {
        self.end = run.end;
        self.digits += run.len;
        self.wide |= run.len >= 4;
        self.dates &= run.len == 8 && compact_date(&self.text[run.start..run.end]);
    }

    /// Masks the number if it is one to mask.
    fn finish(self, out: &mut Masked<'_>) {
        if self.digits < MIN_RUN || !self.wide || self.dates {
            return;
        }
        let (end, len) = with_check_x(self.text, self.end, self.digits);
        out.mask_or_hold(self.start, end, len);
    }
}

/// Groups of digits read across punctuation ([`mask_numbers`]), as the parts between the
/// punctuation: each part is the groups joined by separators only, read as [`Grouped`] reads
/// them. The numbers those find are held in [`Masked::held`] until these are decided.
struct Loose<'t> {
    text: &'t str,
    /// Never empty.
    parts: Vec<Grouped<'t>>,
}

impl<'t> Loose<'t> {
    fn new(text: &'t str, run: Run) -> Self {
        Loose {
            text,
            parts: vec![Grouped::new(text, run)],
        }
    }

    fn digits(&self) -> usize {
        self.parts.iter().map(|p| p.digits).sum()
    }

    /// The part before `run`, which starts a new part after punctuation.
    fn last(&mut self, run: Run) -> Option<&mut Grouped<'t>> {
        let last = self.parts.last_mut()?;
        (!self.text[last.end..run.start].contains(punctuation)).then_some(last)
    }

    /// Adds a group of 3 to 13 digits.
    fn push(&mut self, run: Run) {
        match self.last(run) {
            Some(part) => part.push(run),
            None => self.parts.push(Grouped::new(self.text, run)),
        }
    }

    /// Adds a group of 1 or 2 digits, which ends the groups, when the groups before hold
    /// [`MIN_RUN`] digits (as for [`Grouped`], a card's last digits).
    fn push_short(&mut self, run: Run) {
        if self.digits() < MIN_RUN {
            return;
        }
        match self.last(run) {
            Some(part) => {
                part.end = run.end;
                part.digits += run.len;
            }
            // As for the groups before it, the short group changes neither whether a group
            // holds 4 digits nor whether they are all dates.
            None => self.parts.push(Grouped {
                text: self.text,
                start: run.start,
                end: run.end,
                digits: run.len,
                wide: false,
                dates: true,
            }),
        }
    }

    /// Decides the groups: from the first part on, the longest stretch of two or more parts
    /// that holds a person's number, 15 characters or 18 (an `X` counted), is masked whole,
    /// and the search goes on after it; the numbers found in the other parts without
    /// punctuation are masked as they were found. (All the groups, when they hold a person's
    /// number, are the longest stretch from the first part.)
    fn finish(self, out: &mut Masked<'_>) {
        let held = out.held.take().unwrap_or_default();
        let parts = &self.parts;
        let mut whole: Vec<(usize, usize, usize)> = Vec::new();
        let mut i = 0;
        while i < parts.len() {
            let (mut digits, mut wide, mut dates) =
                (parts[i].digits, parts[i].wide, parts[i].dates);
            let mut found = None;
            for (j, part) in parts.iter().enumerate().skip(i + 1) {
                digits += part.digits;
                if digits > 18 {
                    break;
                }
                wide |= part.wide;
                dates &= part.dates;
                // Only the last part can have an `X` after it: punctuation follows the others.
                let (end, len) = with_check_x(self.text, part.end, digits);
                if matches!(len, 15 | 18) && wide && !dates {
                    found = Some((j, end, len));
                }
            }
            match found {
                Some((j, end, len)) => {
                    whole.push((parts[i].start, end, len));
                    i = j + 1;
                }
                None => i += 1,
            }
        }
        // A held number lies within one part: masked as found unless its part is masked.
        let inside = |at: usize| whole.iter().any(|&(start, end, _)| start <= at && at < end);
        let mut spans: Vec<_> = held
            .into_iter()
            .filter(|&(start, _, _)| !inside(start))
            .collect();
        spans.extend_from_slice(&whole);
        spans.sort_unstable_by_key(|&(start, _, _)| start);
        for (start, end, len) in spans {
            out.mask(start, end, len);
        }
    }
}

/// The masked copy of a text, made only once something is masked.
struct Masked<'t> {
    text: &'t str,
    out: Option<String>,
    /// Bytes of `text` already copied into `out`.
    copied: usize,
    /// While a number read across punctuation is open, the numbers found inside it, to be
    /// masked as found unless a person's number read across the punctuation holds them
    /// ([`Loose::finish`]).
    held: Option<Vec<(usize, usize, usize)>>,
}

impl<'t> Masked<'t> {
    /// Masks the number at `start..end` now, or holds it while a number read across
    /// punctuation, which holds it, is undecided.
    fn mask_or_hold(&mut self, start: usize, end: usize, len: usize) {
        match &mut self.held {
            Some(held) => held.push((start, end, len)),
            None => self.mask(start, end, len),
        }
    }

    /// Masks the number in `text[start..end]`, which holds `len` digits (a final `X` counted):
    /// the first 6 and last 4 kept, every other digit a `*`, separators and punctuation as
    /// they are.
    fn mask(&mut self, start: usize, end: usize, len: usize) {
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.text.len()));
        out.push_str(&self.text[self.copied..start]);
        let mut i = 0;
        for c in self.text[start..end].chars() {
            if loose_separator(c) {
                out.push(c);
                continue;
            }
            out.push(if i < 6 || i >= len - 4 { c } else { '*' });
            i += 1;
        }
        self.copied = end;
    }

    fn finish(self) -> Cow<'t, str> {
        match self.out {
            None => Cow::Borrowed(self.text),
            Some(mut out) => {
                out.push_str(&self.text[self.copied..]);
                Cow::Owned(out)
            }
        }
    }
}

/// Whether 8 digits (ASCII or full-width) are a date `YYYYMMDD` of 1900–2099, its day 01 to
/// 31 whatever the month.
fn compact_date(digits: &str) -> bool {
    let mut d = digits.chars().map(|c| half_width(c) as u32 - '0' as u32);
    let mut two = || d.next().unwrap_or(99) * 10 + d.next().unwrap_or(99);
    let (century, _, month, day) = (two(), two(), two(), two());
    matches!(century, 19 | 20) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// A check character: `X` in either case, ASCII or full-width.
fn check_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')
}

/// The end and length of a number of `len` digits ending at `end`, with the check character
/// `X` right after its 17th digit counted in.
fn with_check_x(text: &str, end: usize, len: usize) -> (usize, usize) {
    match text[end..].chars().next() {
        Some(x) if len == 17 && check_x(x) => (end + x.len_utf8(), 18),
        _ => (end, len),
    }
}

/// The first `max` characters of `text`, for a message or an echo that must stay short. A
/// number the cut would split is dropped whole, with the groups written before it (digits
/// with only separators or punctuation between them): the part left before the cut could be too short for
/// [`mask_numbers`] to recognise and still give most of a number away (`卡号 6222 0212 3456 7`
/// would show 12 of a card's 19 digits).
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    let Some((at, next)) = text.char_indices().nth(max) else {
        return Cow::Borrowed(text);
    };
    let kept = &text[..at];
    if digit(next) {
        Cow::Borrowed(kept.trim_end_matches(|c| digit(c) || loose_separator(c)))
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
            "－", "‐", "‑", "‒", "–", "—", "―", "\u{3000}", "\u{A0}", "\t", "\u{200B}", "\u{FEFF}",
            "\u{2060}", "\u{2212}", "\u{202F}",
        ] {
            let grouped = format!("410102{sep}19680412{sep}0211");
            assert_eq!(mask_input(&grouped), "410102********0211", "{grouped:?}");
            // What the parser reads as a number, the masking treats as one.
            assert!(
                crate::ids::normalize::normalize(&grouped).is_ok(),
                "{grouped:?}"
            );
            let inside = format!("法人{grouped}，");
            assert_eq!(
                mask_numbers(&inside),
                format!("法人410102{sep}********{sep}0211，"),
                "{inside:?}"
            );
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

    /// Numbers written in groups inside longer text: the groupings of a person's number and
    /// of a bank card are masked digit by digit, separators and full-width digits kept.
    #[test]
    fn grouped_numbers_inside_text_are_masked() {
        let cases = [
            // 6-8-4 with spaces, hyphens, full-width dashes.
            (
                "法定代表人身份证号 110101 19900307 1234 被列入",
                "法定代表人身份证号 110101 ******** 1234 被列入",
            ),
            (
                "身份证：110101-19900307-1234，",
                "身份证：110101-********-1234，",
            ),
            (
                "证号110101－19900307－1234。",
                "证号110101－********－1234。",
            ),
            // 6-8-3 and the check character X (or x, Ｘ) glued to the last group.
            (
                "法定代表人身份证号 110101 19900307 123X 被列入",
                "法定代表人身份证号 110101 ******** 123X 被列入",
            ),
            ("号110101 19900307 123x号", "号110101 ******** 123x号"),
            // 6-4-4-4 and 3-3-8-4.
            (
                "证号 110101 1990 0307 1234。",
                "证号 110101 **** **** 1234。",
            ),
            (
                "证号 110 101 19900307 1234。",
                "证号 110 101 ******** 1234。",
            ),
            // The 15-digit old form: 6-6-3 and 6-9.
            ("旧证 110101 900307 123。", "旧证 110101 *****7 123。"),
            ("旧证 110101-900307123。", "旧证 110101-*****7123。"),
            // Bank cards in groups of 4: 16, 18 (a short last group) and 19 digits, and a
            // 13-digit group followed by more.
            ("卡号 6222 0212 3456 7890。", "卡号 6222 02** **** 7890。"),
            ("卡号4101 0219 6804 1202 11", "卡号4101 02** **** **02 11"),
            (
                "账户 6222 0212 3456 7890 123 。",
                "账户 6222 02** **** ***0 123 。",
            ),
            ("号4101021968041 20211。", "号410102******* *0211。"),
            // Full-width digits stay full-width; the stars are ASCII as in a run.
            (
                "号码１１０１０１\u{3000}１９９００３０７\u{3000}１２３Ｘ。",
                "号码１１０１０１\u{3000}********\u{3000}１２３Ｘ。",
            ),
            // A date in front ends at its day; the number after it is masked.
            (
                "于2019-01-01 110101 19900307 1234被列入",
                "于2019-01-01 110101 ******** 1234被列入",
            ),
            // Two numbers with only a space between them are masked as one.
            (
                "号 110101 19900307 1234 110102 19800101 5678。",
                "号 110101 ******** **** ****** ******** 5678。",
            ),
            // A run of 14 or more digits is masked as a run; the group beside it is not part
            // of it.
            (
                "号 410102196804120211 5678。",
                "号 410102********0211 5678。",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(mask_numbers(text), want, "{text:?}");
        }
    }

    #[test]
    fn cut_drops_a_number_it_would_split_with_its_groups() {
        assert_eq!(cut("卡号 6222 0212 3456 7890 123", 20), "卡号");
        assert_eq!(cut("身份证 110101-1990", 14), "身份证");
        assert_eq!(cut("abc410102196804120211", 10), "abc");
        // A cut between a number and what follows it, or in text, keeps everything before.
        assert_eq!(
            cut("号 110101 19900307 1234，", 22),
            "号 110101 19900307 1234"
        );
        assert_eq!(cut("有效期 2019-01-01 止", 15), "有效期 2019-01-01 ");
        assert_eq!(cut("abc", 3), "abc");
        // Groups joined by punctuation are dropped with the number too.
        assert_eq!(cut("号 410102.19680412.0211", 20), "号");
    }

    /// A person's number split by `/`, `.` or `,` (with spaces or hyphens too) is masked
    /// like one split by spaces, digit by digit with its punctuation kept, as a whole field
    /// or inside text; it used to be shown whole.
    #[test]
    fn numbers_split_by_punctuation_are_masked() {
        for (text, masked) in [
            ("410102/196804120211", "410102/********0211"),
            ("410102.19680412021X", "410102.********021X"),
            ("410102,19680412,0211", "410102,********,0211"),
            ("410102. 1968 0412/0211", "410102. **** ****/0211"),
            ("410102-19680412.0211", "410102-********.0211"),
            ("法人410102/196804120211，", "法人410102/********0211，"),
            (
                "身份证号：410102.680412.021。",
                "身份证号：410102.*****2.021。",
            ),
            ("410102/680412021", "410102/*****2021"),
            ("(410102,1968,0412,021x)", "(410102,****,****,021x)"),
            ("4101/0219/6804/1202/11", "4101/02**/****/**02/11"),
            (
                "４１０１０２/１９６８０４１２０２１１",
                "４１０１０２/********０２１１",
            ),
            // A date beside it ends it as before; the number is still masked.
            (
                "2019.01.01,410102.19680412.0211",
                "2019.01.01,410102.********.0211",
            ),
        ] {
            assert_eq!(mask_numbers(text), masked, "{text:?}");
        }
        // A number masked by the rules without punctuation stays masked as they mask it
        // when the groups joined across punctuation are no person's number.
        assert_eq!(
            mask_numbers("卡号 6222 0212 3456 7890, 1234 5678 9012 3456"),
            "卡号 6222 02** **** 7890, 1234 56** **** 3456"
        );
        assert_eq!(
            mask_numbers("410102 19680412 0211.5"),
            "410102 ******** 0211.5"
        );
    }

    /// The full-width `／`, `．` and `，` join groups exactly as `/`, `.` and `,` do (they are
    /// three bytes each in UTF-8); the ideographic `、` and `。` do not. Numbers split by the
    /// full-width marks used to be shown whole.
    #[test]
    fn numbers_split_by_full_width_punctuation_are_masked() {
        for (text, masked) in [
            ("410102／196804120211", "410102／********0211"),
            ("410102．19680412021X", "410102．********021X"),
            ("410102，1968，0412，0211", "410102，****，****，0211"),
            ("410102． 1968 0412／0211", "410102． **** ****／0211"),
            ("410102／19680412.0211", "410102／********.0211"),
            ("法人410102／196804120211，", "法人410102／********0211，"),
            (
                "法人410102／196804120211，2019年列入",
                "法人410102／********0211，2019年列入",
            ),
            (
                "身份证号：410102．680412．021。",
                "身份证号：410102．*****2．021。",
            ),
            (
                "４１０１０２／１９６８０４１２０２１１",
                "４１０１０２／********０２１１",
            ),
            (
                "２０１９．０１．０１，４１０１０２．１９６８０４１２．０２１１",
                "２０１９．０１．０１，４１０１０２．********．０２１１",
            ),
        ] {
            assert_eq!(mask_numbers(text), masked, "{text:?}");
            assert_eq!(digit_runs(text).len(), 1, "{text:?}");
        }
        assert_eq!(most_digits_in_a_row("法人410102／196804"), 12);
        assert_eq!(most_digits_in_a_row("2026．11．30"), 8);
        assert_eq!(cut("号 410102．19680412．0211", 20), "号");
        assert_eq!(cut("号 410102，19680412，0211", 12), "号");
        for text in [
            "金额 1，234，567．89 元",
            "金额 123，456，789，012，345 元",
            "于 2026．11．30 至 2026／11／30",
            "有效期 2019．01．01－2020．12．31 止",
            "编号 4101／0219／6804／1202",
            // The ideographic comma and full stop separate items and sentences: the numbers
            // on either side of one are not one number.
            "410102、196804120211",
            "编号 410102。196804120211。",
        ] {
            assert!(
                matches!(mask_numbers(text), Cow::Borrowed(t) if t == text),
                "{text:?} -> {:?}",
                mask_numbers(text)
            );
        }
    }

    /// A person's number joined by punctuation with more groups after or before it (a year,
    /// a day, another number) is masked as the part between punctuation that holds it. Such
    /// groups used to be read only as a whole, which was too long to be a person's number,
    /// and the number was shown whole.
    #[test]
    fn a_person_s_number_among_more_punctuated_groups_is_masked() {
        for (text, masked) in [
            (
                "法人410102/196804120211,2019年列入",
                "法人410102/********0211,2019年列入",
            ),
            ("410102/196804120211,12月", "410102/********0211,12月"),
            ("第123,410102/196804120211号", "第123,410102/********0211号"),
            (
                "410102/196804120211,410103/196805010022",
                "410102/********0211,410103/********0022",
            ),
            // The longest reading from the first group: 18 rather than 15 characters.
            ("410102.680412021/123", "410102.********1/123"),
            // A number in groups inside keeps being masked as found.
            (
                "卡号 6222 0212 3456 7890, 410102/196804120211",
                "卡号 6222 02** **** 7890, 410102/********0211",
            ),
            ("410102/19680412021X,2019", "410102/********021X,2019"),
        ] {
            assert_eq!(mask_numbers(text), masked, "{text:?}");
        }
        // Parts that are no person's number are left as they are.
        for text in [
            "金额 123,456,789,012,345.678 元",
            "编号 4101/0219/6804/1202,2019",
            "电话 0371-6512 3456, 0371-6512 3457",
            "有效期 20190101/20191231,12 止",
        ] {
            assert!(
                matches!(mask_numbers(text), Cow::Borrowed(t) if t == text),
                "{text:?} -> {:?}",
                mask_numbers(text)
            );
        }
    }

    /// Dates, date ranges, times, amounts and short numbers in groups are left as they are,
    /// without allocating.
    #[test]
    fn dates_amounts_and_short_numbers_in_groups_are_not_masked() {
        for text in [
            // Dates and ranges of them, with hyphens, spaces, full-width dashes, compact.
            "有效期 2019-01-01 2019-12-31 止",
            "有效期 2019-01-01 - 2020-12-31 止",
            "有效期 2019-01-01－2020-12-31 止",
            "有效期 2019 01 01 2020 12 31 止",
            "有效期 20190101-20191231 止",
            "有效期 20190101 - 20201231 20210101 止",
            "有效期 20190101-2019-12-31 止",
            // Times.
            "2024-03-15 08:30:00 至 2024-03-16 17:45:00",
            "自 2024-03-15 08 30 00 2024-03-16 17 45 00 止",
            // Amounts grouped in thousands.
            "罚款 1 000 000 000 000 000 元",
            "罚款 123 456 789 012 345 元",
            "罚款 12 345 678 901 234 元",
            // Fewer than 14 digits: phone numbers, a card's first groups.
            "电话 0371-6512 3456 转 801",
            "手机 138 1234 5678 或 139 8765 4321",
            "编号 1234 5678 9012 3 号",
            "编号4101 0219 6804 12X2",
            // Amounts and dates written with punctuation.
            "金额 1,234,567.89 元",
            "金额 123,456,789,012,345 元",
            "金额 1,234,567,890,123.45 元",
            "金额 1234567890123.45 元",
            "于 2026.11.30 至 2026/11/30，2026/11/30 08:30:00",
            "有效期 2019.01.01-2020.12.31 止",
            "有效期 20190101.20191231 止",
            "版本 1.2.3.4567 ip 192.168.100.200",
            // Punctuation-joined groups that are not 15 or 18 characters long.
            "编号 4101/0219/6804/1202",
            "编号 410102.1968041202",
        ] {
            assert!(
                matches!(mask_numbers(text), Cow::Borrowed(t) if t == text),
                "{text:?} -> {:?}",
                mask_numbers(text)
            );
        }
    }
}

/// Property tests of the heap scan's promise to the engine ([`digit_runs`]), on text made of
/// digit groups, separators, check characters and other text, as numbers, dates and amounts
/// are written.
#[cfg(test)]
mod props {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    use super::*;

    /// Fixed seed so a run is reproducible; no failure files are written.
    fn config() -> Config {
        Config {
            cases: 1024,
            rng_seed: RngSeed::Fixed(0x6D61_736B),
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// A group of 1 to 19 digits, each ASCII or full-width.
    fn group() -> impl Strategy<Value = String> {
        prop::collection::vec((0u8..10, prop::bool::weighted(0.2)), 1..=19).prop_map(|ds| {
            ds.into_iter()
                .map(|(d, wide)| {
                    let c = char::from(b'0' + d);
                    if wide {
                        char::from_u32('０' as u32 + u32::from(d)).unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect()
        })
    }

    fn piece() -> impl Strategy<Value = String> {
        let separators = [
            " ", "-", " - ", "－", "\u{2010}", "\u{2015}", "\u{3000}", "\t", "\n",
        ];
        let other = [
            "X",
            "x",
            "Ｘ",
            "L",
            "号",
            "，",
            ":",
            ".",
            "/",
            ",",
            ", ",
            "．",
            "／",
            "、",
            "。",
            "a",
            "91110000600037341L",
            "2019-01-01",
            "20191231",
        ];
        prop_oneof![
            5 => group(),
            4 => prop::sample::select(separators.to_vec()).prop_map(str::to_owned),
            2 => prop::sample::select(other.to_vec()).prop_map(str::to_owned),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..16).prop_map(|pieces| pieces.concat())
    }

    /// A person's number or a card's, 15 to 19 digits (ASCII or full-width), in one of the
    /// groupings people write them in, with one to three separators between the groups.
    fn grouped_number() -> impl Strategy<Value = String> {
        let groupings: [&[usize]; 10] = [
            &[6, 8, 4],
            &[6, 4, 4, 4],
            &[3, 3, 8, 4],
            &[6, 8, 3],
            &[6, 6, 3],
            &[6, 9],
            &[4, 4, 4, 4],
            &[4, 4, 4, 4, 2],
            &[4, 4, 4, 4, 3],
            &[6, 13],
        ];
        let separators = [" ", "-", " - ", "－", "\u{2012}", "\u{3000}", "  "];
        (
            prop::sample::select(groupings.to_vec()),
            prop::collection::vec(group(), 5),
            prop::collection::vec(prop::sample::select(separators.to_vec()), 4),
            prop::sample::select(vec!["", "X", "x", "Ｘ"]),
        )
            .prop_map(|(grouping, digits, seps, x)| {
                let (mut out, at) = lay_out(grouping, &digits, &seps, false);
                if at == 17 {
                    out.push_str(x);
                }
                out
            })
    }

    /// Digits from `digits` (topped up to 19 with `0123…`) in groups of the lengths of
    /// `grouping`, joined by `joints` in turn; and how many digits were laid out. With
    /// `room_for_x`, a group that would bring the count to 18 loses a digit, for an X to
    /// follow.
    fn lay_out(
        grouping: &[usize],
        digits: &[String],
        joints: &[&str],
        room_for_x: bool,
    ) -> (String, usize) {
        let digits: Vec<char> = digits
            .concat()
            .chars()
            .chain(('0'..='9').cycle().take(19))
            .collect();
        let mut out = String::new();
        let mut at = 0;
        for (i, &len) in grouping.iter().enumerate() {
            if i > 0 {
                out.push_str(joints[i - 1]);
            }
            let len = if room_for_x && at + len == 18 {
                len - 1
            } else {
                len
            };
            out.extend(&digits[at..at + len]);
            at += len;
        }
        (out, at)
    }

    /// A person's number, 15 digits or 17 and a check character, in one of the groupings
    /// people write, its groups joined by punctuation (`/`, `.`, `,`, full-width `／`, `．`,
    /// `，`), with a space or a hyphen beside it at times, and at least once.
    fn punctuated_number() -> impl Strategy<Value = String> {
        let groupings: [&[usize]; 7] = [
            &[6, 12],
            &[6, 8, 4],
            &[6, 4, 4, 4],
            &[6, 8, 3],
            &[6, 6, 3],
            &[6, 9],
            &[4, 4, 4, 4, 2],
        ];
        let joints = [
            "/", ".", ",", ". ", " / ", ",-", " ", "／", "．", "，", "， ", "－／",
        ];
        (
            prop::sample::select(groupings.to_vec()),
            prop::collection::vec(group(), 5),
            prop::collection::vec(prop::sample::select(joints.to_vec()), 4),
            prop::sample::select(vec!["", "X", "x", "Ｘ"]),
        )
            .prop_map(|(grouping, digits, mut joints, x)| {
                if !joints[..grouping.len() - 1]
                    .iter()
                    .any(|j| j.contains(punctuation))
                {
                    joints[0] = "/";
                }
                // 18 characters end in a check digit or an X: the last group loses a
                // digit for the X.
                let (mut out, at) = lay_out(grouping, &digits, &joints, !x.is_empty());
                if at == 17 {
                    out.push_str(if x.is_empty() { "7" } else { x });
                }
                out
            })
    }

    /// `number` masked by hand: its first 6 and last 4 digits (an X counted) kept, the other
    /// digits starred, the separators and punctuation kept.
    fn masked_by_hand(number: &str) -> String {
        let n = number.chars().filter(|&c| !loose_separator(c)).count();
        let mut i = 0;
        number
            .chars()
            .map(|c| {
                if loose_separator(c) {
                    return c;
                }
                i += 1;
                if i <= 6 || i > n - 4 {
                    c
                } else {
                    '*'
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(config())]

        /// A string `b` the engine reads out of a heap `a b c` overlaps a range the heap
        /// scan found whenever `mask_numbers` masks something in it; and within `b`, every
        /// character masked in place is a digit inside a range of `b`'s own.
        #[test]
        fn digit_runs_cover_everything_mask_numbers_masks(
            (a, b, c) in (text(), text(), text())
        ) {
            let masked = mask_numbers(&b);
            let Cow::Owned(m) = &masked else {
                return Ok(());
            };
            prop_assert_ne!(m, &b);
            let heap = format!("{a}{b}{c}");
            let (from, to) = (a.len(), a.len() + b.len());
            let runs = digit_runs(&heap);
            let i = runs.partition_point(|&(_, end)| end <= from);
            prop_assert!(
                runs.get(i).is_some_and(|&(start, _)| start < to),
                "{b:?} masked as {m:?}, but no range of {runs:?} overlaps {from}..{to} of {heap:?}"
            );
            if matches!(mask_input(&b), Cow::Owned(_)) {
                // A whole field is rewritten in ASCII without its separators.
                return Ok(());
            }
            let own = digit_runs(&b);
            prop_assert_eq!(m.chars().count(), b.chars().count());
            for ((at, was), now) in b.char_indices().zip(m.chars()) {
                if was != now {
                    prop_assert!(digit(was) && now == '*', "{b:?} -> {m:?}");
                    prop_assert!(
                        own.iter().any(|&(start, end)| start <= at && at < end),
                        "{b:?} -> {m:?}: byte {at} is in no range of {own:?}"
                    );
                }
            }
        }

        /// A person's or a card's number in groups inside text, joined by separators or
        /// (a person's number) by punctuation, is masked digit by digit, whatever the text
        /// around it.
        #[test]
        fn grouped_numbers_inside_any_text_are_masked(
            (a, number, c) in (text(), prop_oneof![grouped_number(), punctuated_number()], text())
        ) {
            let got = mask_numbers(&format!("{a}：{number}。{c}")).into_owned();
            let want = format!(
                "{}{}{}",
                mask_numbers(&format!("{a}：")),
                masked_by_hand(&number),
                mask_numbers(&format!("。{c}")),
            );
            prop_assert_eq!(got, want);
        }
    }
}

//! Normalisation of typed or pasted identifiers, before any validation.
//!
//! Chinese input methods produce full-width characters (`９１３５…`), forms print codes in
//! groups separated by spaces or dashes, and people type the RIC check `x` in lower case. All
//! of these denote the same identifier, so they are folded into one canonical ASCII form
//! before the standards' rules are applied. Normalisation never allocates: the result lives
//! in an 18-byte buffer on the stack, because 18 is the longest identifier there is.

use std::fmt;

use super::IdError;

/// The longest identifier (USCC and RIC both have 18 characters).
pub const MAX_LEN: usize = 18;

/// Normalised form: at most 18 ASCII bytes on the stack, zero allocation.
///
/// Every byte is an ASCII digit or an upper-case ASCII letter, and there is at least one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Normalized {
    buf: [u8; MAX_LEN],
    len: u8,
}

impl Normalized {
    /// The normalised characters as a string slice.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored, so this cannot fail.
        std::str::from_utf8(self.as_bytes()).expect("normalised form is ASCII")
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: an empty input is an error, never a `Normalized`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Normalized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Normalized({:?})", self.as_str())
    }
}

impl fmt::Display for Normalized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one input character contributes to the normalised form.
enum Mapped {
    /// A separator (space, hyphen, dash): dropped.
    Skip,
    /// A significant ASCII alphanumeric, already upper-cased.
    Keep(u8),
    /// A significant character that cannot appear in any identifier.
    Bad,
}

fn map_char(c: char) -> Mapped {
    // Full-width forms U+FF01..U+FF5E mirror ASCII 0x21..0x7E at a fixed offset.
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    match c {
        '0'..='9' | 'A'..='Z' => Mapped::Keep(c as u8),
        'a'..='z' => Mapped::Keep(c.to_ascii_uppercase() as u8),
        c if is_separator(c) => Mapped::Skip,
        _ => Mapped::Bad,
    }
}

/// Whether `c` separates the characters of a printed or pasted code, and is dropped: white
/// space of every kind (ASCII blanks, the ideographic space U+3000, the no-break spaces of web
/// pages), the characters that do not show (zero-width spaces and joiners U+200B..U+200D, the
/// word joiner U+2060, a byte-order mark U+FEFF, which copied web and chat text carries), the
/// ASCII hyphen (the full-width one is folded to it), the dashes U+2010..U+2015 that word
/// processors substitute, and the minus sign U+2212. `credgate_index::mask` drops the same.
pub fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
        )
}

/// An ASCII letter or digit upper-cased, and 0 for every other byte.
const UPPER_ALNUM: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            t[c] = b.to_ascii_uppercase();
        }
        c += 1;
    }
    t
};

/// Drops separators wherever they are ([`is_separator`]: spaces, invisible characters,
/// hyphens and dashes, also the full-width `－`), maps full-width characters (U+FF01..U+FF5E)
/// to ASCII and upper-cases.
///
/// Errors: [`IdError::Empty`] when nothing significant remains, [`IdError::BadChar`] for the
/// first character that is not an ASCII letter or digit after mapping (its 1-based position
/// counts significant characters only, so it matches the position in the normalised code),
/// and [`IdError::Length`] when more than 18 significant characters remain.
pub fn normalize(input: &str) -> Result<Normalized, IdError> {
    let bytes = input.as_bytes();
    // Nearly all input in bulk is already plain ASCII letters and digits; it only needs
    // upper-casing, which this tight loop does (one table look-up a byte, checking and
    // folding at once) without decoding characters.
    if !bytes.is_empty() && bytes.len() <= MAX_LEN {
        let mut buf = [0u8; MAX_LEN];
        let mut plain = true;
        for (d, &s) in buf.iter_mut().zip(bytes) {
            let u = UPPER_ALNUM[s as usize];
            *d = u;
            plain &= u != 0;
        }
        if plain {
            return Ok(Normalized {
                buf,
                len: bytes.len() as u8,
            });
        }
    }
    normalize_slow(input)
}

/// The general case: separators, full-width characters, or something to report.
fn normalize_slow(input: &str) -> Result<Normalized, IdError> {
    let mut buf = [0u8; MAX_LEN];
    let mut len = 0usize;
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // ASCII is the common case and is decided from the byte alone; other characters are
        // decoded only when met.
        let (mapped, original, width) = if b < 0x80 {
            (map_char(b as char), b as char, 1)
        } else {
            let c = input[i..]
                .chars()
                .next()
                .expect("index is on a char boundary");
            (map_char(c), c, c.len_utf8())
        };
        i += width;
        match mapped {
            Mapped::Skip => {}
            Mapped::Keep(a) => {
                if len < MAX_LEN {
                    buf[len] = a;
                }
                len += 1;
            }
            Mapped::Bad => {
                return Err(IdError::BadChar {
                    id_type: None,
                    position: len + 1,
                    found: original,
                    expected: "a letter or a digit",
                })
            }
        }
    }
    if len == 0 {
        return Err(IdError::Empty);
    }
    if len > MAX_LEN {
        return Err(IdError::Length {
            id_type: None,
            found: len,
        });
    }
    Ok(Normalized {
        buf,
        len: len as u8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_presentation_variants() {
        let cases = [
            ("91110000600037341L", "91110000600037341L"),
            ("  91110000600037341l\t", "91110000600037341L"),
            ("９１１１００００６０００３７３４１Ｌ", "91110000600037341L"),
            ("9111-0000 6000 37341L", "91110000600037341L"),
            ("9111－0000\u{3000}6000\u{2014}37341L", "91110000600037341L"),
            ("\u{3000}44011320141005001x\u{3000}", "44011320141005001X"),
            ("４４０１１３２０１４１００５００１ｘ", "44011320141005001X"),
            ("110105\u{A0}491231\u{2010}002", "110105491231002"),
            // Copied from web pages and chats: zero-width spaces and joiners, a byte-order
            // mark, a narrow no-break space, the word joiner and a minus sign.
            (
                "\u{FEFF}9111\u{200B}0000\u{202F}6000\u{200D}3734\u{2060}1L\u{200C}",
                "91110000600037341L",
            ),
            ("110105\u{2212}491231\u{2009}002", "110105491231002"),
            ("a", "A"),
        ];
        for (input, want) in cases {
            let n = normalize(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(n.as_str(), want, "{input:?}");
            assert_eq!(n.len(), want.len());
            assert_eq!(n.as_bytes(), want.as_bytes());
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("", "no identifier given: the input is empty or holds only spaces and hyphens"),
            (" - \u{3000}", "no identifier given: the input is empty or holds only spaces and hyphens"),
            (
                "9111000060003734-1L9",
                "wrong length: 19 characters; expected 18 (USCC or resident ID number) or 15 digits (legacy resident ID number)",
            ),
            (
                "91 11_0000",
                "bad character '_' at position 5: expected a letter or a digit",
            ),
            (
                "张三",
                "bad character '张' at position 1: expected a letter or a digit",
            ),
            (
                "９１１１．",
                "bad character '．' at position 5: expected a letter or a digit",
            ),
        ];
        for (input, want) in cases {
            let e = normalize(input).unwrap_err();
            assert_eq!(e.to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn bad_character_wins_over_length() {
        // The first bad character is reported even past the 18th significant character,
        // because fixing it is needed either way.
        let e = normalize("1234567890123456789@").unwrap_err();
        assert!(
            matches!(
                e,
                IdError::BadChar {
                    position: 20,
                    found: '@',
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

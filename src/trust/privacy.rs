//! People's identity numbers are sensitive personal information (PIPL): they are shown as
//! first 6 + `********` + last 4 unless the caller holds `personal_full`, and logs never
//! carry them at all. To let an operator follow one subject through logs and the audit trail
//! without the number, a subject is named by an HMAC-SHA256 of its normalised identifier
//! under a server secret: stable for the secret's lifetime, useless without it (the space of
//! birth dates and sequence numbers is small enough that a plain hash could be reversed by
//! trying them all).

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The keyed pseudonym of subjects.
#[derive(Clone)]
pub struct Correlator {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Correlator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Correlator(…)")
    }
}

impl Correlator {
    pub fn new(secret: &[u8; 32]) -> Correlator {
        Correlator {
            // HMAC takes keys of any length; 32 bytes cannot fail.
            mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length"),
        }
    }

    /// A secret for this process only: pseudonyms do not match across restarts.
    pub fn ephemeral() -> std::io::Result<Correlator> {
        Ok(Correlator::new(&super::random()?))
    }

    /// The secret in `path` (64 hex digits), created 0600 with a fresh secret if absent.
    pub fn from_file(path: &Path) -> Result<Correlator, SecretError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                super::warn_if_exposed(path, "link audit pseudonyms back to ID numbers");
                super::unhex::<32>(text.trim())
                    .map(|s| Correlator::new(&s))
                    .ok_or_else(|| SecretError::Malformed(path.to_path_buf()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret: [u8; 32] = super::random()
                    .map_err(|e| SecretError::Io(path.to_path_buf(), e.to_string()))?;
                let text = format!("{}\n", super::hex(&secret));
                super::write_private_new(path, text.as_bytes())
                    .map_err(|e| SecretError::Io(path.to_path_buf(), e.to_string()))?;
                Ok(Correlator::new(&secret))
            }
            Err(e) => Err(SecretError::Io(path.to_path_buf(), e.to_string())),
        }
    }

    /// Hex HMAC-SHA256 of the normalised identifier.
    pub fn subject(&self, normalised_id: &[u8]) -> String {
        String::from_utf8_lossy(&self.subject_hex(normalised_id)).into_owned()
    }

    /// The same lower-case hex digits as [`Correlator::subject`], without allocating (the
    /// audit line of every check carries one). The keyed state is computed once, in
    /// [`Correlator::new`]; each pseudonym copies it and hashes the identifier.
    pub fn subject_hex(&self, normalised_id: &[u8]) -> [u8; 64] {
        let mut mac = self.mac.clone();
        mac.update(normalised_id);
        let mut out = [0u8; 64];
        super::hex_into(&mac.finalize().into_bytes(), &mut out);
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SecretError {
    Io(PathBuf, String),
    Malformed(PathBuf),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Io(p, e) => write!(f, "subject secret {}: {e}", p.display()),
            SecretError::Malformed(p) => write!(
                f,
                "subject secret {}: expected 64 hex digits; remove the file to have a new one made (old pseudonyms will no longer match)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for SecretError {}

/// Masks an 18-character person's number: first 6 + `********` + last 4.
pub fn mask18(id: &str) -> String {
    match (id.get(..6), id.get(14..)) {
        (Some(a), Some(b)) if id.len() == 18 => format!("{a}********{b}"),
        _ => "******************".to_string(),
    }
}

/// Masks text a caller sent as an identifier when it may be a person's number: anything that,
/// without spaces and hyphens, is 15 digits or 17 digits and a check digit or `X`. (An
/// all-digit USCC is masked too when it is not recognised as one: erring that way costs
/// nothing.) Full-width digits and `Ｘ` count as their ASCII forms, and the masked text is
/// written with ASCII digits. Other text is returned as it is, without allocating.
pub fn mask_input(input: &str) -> Cow<'_, str> {
    let compact = || {
        input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(half_width)
    };
    let n = compact().count();
    let personal = match n {
        15 => compact().all(|c| c.is_ascii_digit()),
        18 => compact()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == 17 && matches!(c, 'X' | 'x'))),
        _ => false,
    };
    if !personal {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(n);
    for (i, c) in compact().enumerate() {
        out.push(if i < 6 || i >= n - 4 { c } else { '*' });
    }
    Cow::Owned(out)
}

/// Masks every person's number inside free text a caller sent (an echoed CSV cell or row, a
/// JSON value, a query parameter quoted in an error message): a run of 17 digits followed by
/// a digit or `X`/`x`, or a run of exactly 15 digits, bounded on both sides by the ends of the
/// text or by characters that are not letters or digits, keeps its first 6 and last 4
/// characters and has the rest replaced by `*`. Full-width digits (`０`–`９`, and `Ｘ`/`ｘ`
/// as the check character) count as digits, since the identifier parser accepts them; they
/// stay full-width in the masked text. Letters and digits are ASCII and full-width ones
/// only: a Chinese character is a boundary, so `王建国410102196804120211` is masked, while a
/// longer run of digits (an account number) or a run glued to a Latin letter is not a
/// person's number. An all-digit USCC has the same shape and is masked too. A number written
/// with spaces or hyphens inside is masked when it is the whole text ([`mask_input`]).
///
/// Text with nothing to mask is returned borrowed: nothing is allocated.
pub fn mask_numbers(text: &str) -> Cow<'_, str> {
    // Shorter text cannot hold a 15-character number.
    if text.len() < 15 {
        return Cow::Borrowed(text);
    }
    if let Cow::Owned(m) = mask_input(text) {
        return Cow::Owned(m);
    }
    let mut out: Option<String> = None;
    // Bytes of `text` already copied into `out`.
    let mut copied = 0;
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !digit(c) {
            prev = Some(c);
            continue;
        }
        let left_bounded = prev.is_none_or(|p| !word(p));
        let mut len = 1;
        let mut end = start + c.len_utf8();
        let mut last = c;
        while let Some(&(i, d)) = chars.peek() {
            if !digit(d) {
                break;
            }
            chars.next();
            len += 1;
            end = i + d.len_utf8();
            last = d;
        }
        if len == 17 {
            if let Some(&(i, x)) = chars.peek() {
                if matches!(x, 'X' | 'x' | 'Ｘ' | 'ｘ') {
                    chars.next();
                    len = 18;
                    end = i + x.len_utf8();
                    last = x;
                }
            }
        }
        prev = Some(last);
        let right_bounded = chars.peek().is_none_or(|&(_, n)| !word(n));
        if !(left_bounded && right_bounded && (len == 15 || len == 18)) {
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

/// An ASCII or full-width digit.
fn digit(c: char) -> bool {
    matches!(c, '0'..='9' | '０'..='９')
}

/// A letter or digit, ASCII or full-width: what a number glued to it is part of.
fn word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ')
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
        assert_eq!(mask18("410102196804120211"), "410102********0211");
        assert_eq!(mask_input("410102196804120211"), "410102********0211");
        assert_eq!(mask_input("4101 0219 6804 1202 1x"), "410102********021x");
        assert_eq!(
            mask_input("４１０１０２１９６８０４１２０２１１"),
            "410102********0211"
        );
        assert_eq!(mask_input("410102680412021"), "410102*****2021");
        assert_eq!(mask_input("91410104MACKHWBA9J"), "91410104MACKHWBA9J");
        assert_eq!(mask_input("abc"), "abc");
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
        ];
        for (text, want) in cases {
            assert_eq!(mask_numbers(text), want, "{text:?}");
        }
        // Not a person's number: too long, too short, glued to letters, a USCC with letters.
        for text in [
            "4101021968041202110",
            "41010219680412021",
            "4101021968041202",
            "A410102196804120211",
            "410102196804120211B",
            "41010219680412021XY",
            "41010219680412021X0",
            "91410104MACKHWBA9J and 91110000600037341L",
            "no numbers here at all, just words",
            "",
        ] {
            assert!(
                matches!(mask_numbers(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn pseudonyms_depend_on_the_secret() {
        let a = Correlator::new(&[1; 32]);
        let b = Correlator::new(&[2; 32]);
        let x = a.subject(b"410102196804120211");
        assert_eq!(x.len(), 64);
        assert_eq!(x, a.subject(b"410102196804120211"));
        assert_ne!(x, b.subject(b"410102196804120211"));
        assert_ne!(x, a.subject(b"410102196804120212"));
        assert_eq!(x.as_bytes(), a.subject_hex(b"410102196804120211"));
    }

    #[test]
    fn the_secret_file_is_made_once_and_private() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("subject.key");
        let a = Correlator::from_file(&p).unwrap().subject(b"x");
        let b = Correlator::from_file(&p).unwrap().subject(b"x");
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(&p, "nope").unwrap();
        assert!(Correlator::from_file(&p)
            .unwrap_err()
            .to_string()
            .contains("64 hex digits"));
    }
}

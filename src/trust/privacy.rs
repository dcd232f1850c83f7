//! People's identity numbers are sensitive personal information (PIPL): they are shown as
//! first 6 + `********` + last 4 unless the caller holds `personal_full`, and logs never
//! carry them at all. To let an operator follow one subject through logs and the audit trail
//! without the number, a subject is named by an HMAC-SHA256 of its normalised identifier
//! under a server secret: stable for the secret's lifetime, useless without it (the space of
//! birth dates and sequence numbers is small enough that a plain hash could be reversed by
//! trying them all).

use std::fmt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

// The masking rules live beside the identifier parser, whose separators they share, so that
// the index builder masks what it prints with them too.
pub use credgate_index::mask::{
    cut, digit_runs, mask_input, mask_numbers, most_digits_in_a_row, MIN_RUN,
};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask18_keeps_six_and_four() {
        assert_eq!(mask18("410102196804120211"), "410102********0211");
        assert_eq!(mask18("short"), "******************");
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

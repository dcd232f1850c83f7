//! Trust: who may ask (API keys with scopes and rate limits), what they may see (masking of
//! personal numbers, keyed pseudonyms for logs), and what the server can prove afterwards
//! (signed receipts and a durable audit trail).
//!
//! These are the primitives; the HTTP glue that applies them per request is
//! [`crate::server::auth`] and the handlers in [`crate::server::routes`].

mod alarm;
pub mod audit;
pub mod batching;
pub mod canonical;
pub mod keys;
pub mod merkle;
pub mod privacy;
pub mod ratelimit;
pub mod receipt;

/// Lower-case hexadecimal of `bytes` (the snapshot writer's, for digests and receipts).
pub use credgate_index::format::writer::hex;

/// Writes the lower-case hexadecimal of `bytes` into `out` (twice as long), without
/// allocating: the same digits as [`hex`].
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, o) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        o[0] = DIGITS[usize::from(b >> 4)];
        o[1] = DIGITS[usize::from(b & 0xf)];
    }
}

/// The bytes of a hexadecimal string of exactly `N` bytes (either case), or `None`.
pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(out)
}

/// Fresh random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], std::io::Error> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| std::io::Error::other(format!("the OS random source failed: {e}")))?;
    Ok(b)
}

/// Writes `bytes` to a new file at `path` readable by its owner only (0600), refusing to
/// overwrite an existing file.
pub fn write_private_new(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Logs a warning when the secret in `path` can be read or written by anyone but its
/// owner: whoever reads it can `what`. The server still starts (the operator decides), but
/// says how to fix it.
pub fn warn_if_exposed(path: &std::path::Path, what: &str) {
    if let Some(mode) = exposed_mode(path) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:03o}"),
            "a secret file is open to other users, and whoever reads it can {what}: chmod 600 it"
        );
    }
}

/// Logs a warning naming the directory `path` and its `mode` (from [`exposed_mode`]): users
/// other than its owner can `what`. The server still starts, as with a subject key open to
/// others, and the warning says how to fix it.
pub fn warn_dir_exposed(path: &std::path::Path, mode: u32, what: &str) {
    tracing::warn!(
        path = %path.display(),
        mode = format!("{mode:03o}"),
        "a directory is open to other users, and they can {what}: chmod 700 it"
    );
}

/// The permission bits of the file or directory at `path` when users other than its owner
/// may read or write it (or, a directory, enter it): `None` when they may not, or off Unix.
pub fn exposed_mode(path: &std::path::Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&b), "0001abff");
        let mut into = [0u8; 8];
        hex_into(&b, &mut into);
        assert_eq!(&into, b"0001abff");
        assert_eq!(unhex::<4>("0001ABff"), Some(b));
        assert_eq!(unhex::<4>("0001abf"), None);
        assert_eq!(unhex::<4>("0001abfg"), None);
    }
}

//! In-process TLS (`serve --tls-cert FILE --tls-key FILE`): rustls with the `ring` provider,
//! HTTP/1.1 only.
//!
//! [`load`] reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8,
//! PKCS#1/RSA or SEC1/EC) and builds the acceptor; it refuses a key that does not belong to
//! the leaf certificate, so a mix-up is found at start rather than at the first handshake.
//! The accept loop ([`super::run`]) performs the handshake under the header-read timeout,
//! so a client that connects and says nothing holds its connection no longer over TLS than
//! over plain HTTP.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// The ALPN protocol the server speaks; a client offering only others (h2) is refused in
/// the handshake rather than misunderstood after it.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Builds the TLS acceptor from a PEM certificate chain and a PEM private key.
pub fn load(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let chain = read_chain(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        // An encrypted key is no key to the PEM reader (PKCS#8: a block it skips) or bad
        // PEM (the traditional form's `Proc-Type` header): say what it is instead.
        if encrypted(key) {
            TlsError::Encrypted {
                file: key.to_path_buf(),
            }
        } else {
            pem_error(key, "key", e)
        }
    })?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| TlsError::Mismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            reason: e.to_string(),
        })?;
    let mut config = config;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, "certificate", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, "certificate", e))?;
    if chain.is_empty() {
        return Err(TlsError::Empty {
            file: path.to_path_buf(),
            what: "certificate",
        });
    }
    Ok(chain)
}

/// Whether the PEM file at `path` holds a passphrase-protected private key.
fn encrypted(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            || text.contains("Proc-Type: 4,ENCRYPTED")
    })
}

fn pem_error(path: &Path, what: &'static str, e: pem::Error) -> TlsError {
    match e {
        pem::Error::Io(io) => TlsError::Read {
            file: path.to_path_buf(),
            what,
            reason: io.to_string(),
        },
        pem::Error::NoItemsFound => TlsError::Empty {
            file: path.to_path_buf(),
            what,
        },
        other => TlsError::Pem {
            file: path.to_path_buf(),
            what,
            reason: other.to_string(),
        },
    }
}

#[derive(Debug)]
pub enum TlsError {
    /// The file could not be opened or read.
    Read {
        file: PathBuf,
        what: &'static str,
        reason: String,
    },
    /// The file holds no PEM section of the kind needed.
    Empty {
        file: PathBuf,
        what: &'static str,
    },
    /// A PEM section is broken.
    Pem {
        file: PathBuf,
        what: &'static str,
        reason: String,
    },
    /// rustls refused the pair: the key does not match the leaf certificate, or is of an
    /// unsupported kind.
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    /// The key is protected by a passphrase, which the server has no way to ask for.
    Encrypted {
        file: PathBuf,
    },
    Config(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { file, what, reason } => {
                write!(f, "TLS {what} file {}: {reason}", file.display())
            }
            TlsError::Empty { file, what } if *what == "certificate" => write!(
                f,
                "TLS certificate file {}: no PEM certificate found; expected \
                 -----BEGIN CERTIFICATE----- blocks, the server's certificate first",
                file.display()
            ),
            TlsError::Empty { file, .. } => write!(
                f,
                "TLS key file {}: no PEM private key found; expected a PKCS#8 \
                 (BEGIN PRIVATE KEY), RSA (BEGIN RSA PRIVATE KEY) or SEC1 (BEGIN EC PRIVATE KEY) block",
                file.display()
            ),
            TlsError::Pem { file, what, reason } => write!(
                f,
                "TLS {what} file {}: not valid PEM ({reason})",
                file.display()
            ),
            TlsError::Mismatch { cert, key, reason } => write!(
                f,
                "TLS key {} does not go with certificate {} ({reason}); give the key the \
                 certificate was issued for",
                key.display(),
                cert.display()
            ),
            TlsError::Encrypted { file } => write!(
                f,
                "TLS key file {0}: the private key is encrypted (protected by a passphrase), \
                 and credgate reads unencrypted keys only; decrypt it into a file only the \
                 server's user may read (`openssl pkey -in {0} -out key.pem`, then \
                 `chmod 600 key.pem`) and give that",
                file.display()
            ),
            TlsError::Config(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name)
    }

    #[test]
    fn the_fixture_pair_loads() {
        load(&fixture("server.pem"), &fixture("server.key")).unwrap();
    }

    fn refusal(r: Result<TlsAcceptor, TlsError>) -> TlsError {
        match r {
            Ok(_) => panic!("expected the pair to be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = refusal(load(&missing, &fixture("server.key")));
        assert!(matches!(e, TlsError::Read { .. }), "{e:?}");
        assert!(e.to_string().contains("nope.pem"), "{e}");

        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello\n").unwrap();
        let e = refusal(load(&junk, &fixture("server.key")));
        assert!(matches!(e, TlsError::Empty { .. }), "{e:?}");
        assert!(e.to_string().contains("junk.pem"), "{e}");

        // A certificate given as the key: no private key in it.
        let e = refusal(load(&fixture("server.pem"), &fixture("server.pem")));
        assert!(matches!(e, TlsError::Empty { what: "key", .. }), "{e:?}");

        let e = refusal(load(&fixture("server.pem"), &fixture("other.key")));
        assert!(matches!(e, TlsError::Mismatch { .. }), "{e:?}");
        assert!(e.to_string().contains("other.key"), "{e}");
    }
}

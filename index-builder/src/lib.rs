//! The credgate snapshot: source parsing, the immutable memory-mapped format (writer and
//! reader), and the vocabulary shared with the decision engine.

#![deny(unsafe_code)]

pub mod build;
pub mod catalog;
pub mod date;
pub mod format;
pub mod ids;
pub mod manifest;
pub mod mask;
pub mod model;
pub mod names;
pub mod publish;
pub mod source;
pub mod synth;

/// Helpers for the crate's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;

    /// An empty directory of its own under the system's temporary directory, named after
    /// `name` and this process (so parallel test runs do not meet).
    pub(crate) fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("credgate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    }
}

//! What the builder's integration tests share.

use std::path::Path;
use std::process::Command;

/// `index-builder build --source SOURCE --out ROOT`, to which a test adds its own options.
pub fn build_command(source: &Path, root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_index-builder"));
    c.args(["build", "--source"])
        .arg(source)
        .arg("--out")
        .arg(root);
    c
}

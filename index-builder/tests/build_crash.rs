//! A build that dies at any moment leaves `CURRENT` and the previous generation serving.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use credgate_index::format::reader::Snapshot;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample")
}

fn build(source: &Path, root: &Path) -> Command {
    let mut c = common::build_command(source, root);
    c.args(["--today", "2026-11-28"]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn temp_dirs(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

#[test]
fn a_build_aborted_at_any_file_leaves_the_previous_generation() {
    let root = tempfile::tempdir().unwrap();
    assert!(build(&sample(), root.path()).status().unwrap().success());
    let first = Snapshot::open(root.path()).unwrap().dir().to_path_buf();

    for point in ["ids.fst", "records.tbl", "MANIFEST"] {
        let status = build(&sample(), root.path())
            .env("CREDGATE_TEST_ABORT_AFTER", point)
            .status()
            .unwrap();
        assert!(!status.success(), "the hook at {point} aborts the process");
        let snap = Snapshot::open(root.path()).unwrap();
        assert_eq!(
            snap.dir(),
            first,
            "after an abort at {point}, CURRENT still names the first generation"
        );
        snap.verify().unwrap();
        assert_eq!(
            temp_dirs(root.path()).len(),
            1,
            "the dead build's temporary directory is left behind"
        );
        // The next successful build publishes and clears the dead build's leftovers.
        assert!(build(&sample(), root.path()).status().unwrap().success());
        assert!(temp_dirs(root.path()).is_empty());
        let now = Snapshot::open(root.path()).unwrap();
        assert_ne!(now.dir(), first);
        now.verify().unwrap();
        // Point CURRENT back, so the next round starts from the same state.
        let name = first.file_name().unwrap().to_str().unwrap();
        credgate_index::publish::set_current(root.path(), name).unwrap();
    }
}

#[test]
fn a_build_that_fails_while_the_ids_thread_waits_reports_the_error_and_exits() {
    // Pass 1 feeds the subjects to the thread writing ids.fst; a failure there used to
    // join that thread while it still waited for subjects, and the build hung.
    let root = tempfile::tempdir().unwrap();
    let mut child = build(&sample(), root.path())
        .env("CREDGATE_TEST_FAIL_AT", "subjects")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let status = status.expect("the failed build exits within 60 s instead of hanging");
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("injected failure at subjects"), "{err}");
    assert!(
        Snapshot::open(root.path()).is_err(),
        "nothing was published"
    );
}

#[test]
fn a_build_killed_while_writing_leaves_the_previous_generation() {
    let source = tempfile::tempdir().unwrap();
    credgate_index::synth::generate(
        source.path(),
        &credgate_index::synth::SynthOptions {
            records: 20_000,
            seed: 3,
        },
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    assert!(build(&sample(), root.path()).status().unwrap().success());
    let first = Snapshot::open(root.path()).unwrap().dir().to_path_buf();

    let mut child = build(source.path(), root.path()).spawn().unwrap();
    // Wait (by polling, bounded) until the build has created its temporary generation,
    // i.e. it is past reading and writing files, then kill it outright.
    let mut seen = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        if !temp_dirs(root.path()).is_empty() {
            seen = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::yield_now();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        seen,
        "the build created its temporary generation before finishing"
    );
    let snap = Snapshot::open(root.path()).unwrap();
    snap.verify().unwrap();
    assert_eq!(
        snap.dir(),
        first,
        "killed mid-write: the first generation still serves"
    );
    assert_eq!(
        temp_dirs(root.path()).len(),
        1,
        "killed while its temporary generation existed"
    );
}

#[test]
fn a_build_killed_while_writing_its_rejects_leaves_nothing_the_next_build_keeps() {
    let root = tempfile::tempdir().unwrap();
    assert!(build(&sample(), root.path()).status().unwrap().success());
    let status = build(&sample(), root.path())
        .env("CREDGATE_TEST_ABORT_AFTER", "rejects.csv")
        .status()
        .unwrap();
    assert!(!status.success(), "the hook aborts the process");
    assert!(build(&sample(), root.path()).status().unwrap().success());
    let left: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Pruning comes after publishing: when it fails, the new generation is served all the same,
/// so the build says so on stderr and exits 0, and the next build prunes what was left.
#[test]
fn a_prune_that_fails_after_publishing_warns_and_the_build_succeeds() {
    let root = tempfile::tempdir().unwrap();
    let generations = |root: &Path| {
        let mut g: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("gen-"))
            .collect();
        g.sort();
        g
    };
    for _ in 0..2 {
        let keep_one = build(&sample(), root.path())
            .args(["--keep", "1"])
            .status()
            .unwrap();
        assert!(keep_one.success());
    }
    assert_eq!(generations(root.path()).len(), 1);

    let out = build(&sample(), root.path())
        .args(["--keep", "1"])
        .env("CREDGATE_TEST_FAIL_AT", "prune")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "published, so the build succeeded: {err}"
    );
    assert!(
        err.contains("is published and CURRENT names it")
            && err.contains("injected failure at prune"),
        "{err}"
    );
    let left = generations(root.path());
    assert_eq!(
        left.len(),
        2,
        "the older generation was not removed: {left:?}"
    );
    let served = Snapshot::open(root.path()).unwrap();
    assert_eq!(
        served.dir().file_name().unwrap().to_str().unwrap(),
        left[1],
        "CURRENT names the generation just published"
    );
    served.verify().unwrap();

    assert!(build(&sample(), root.path())
        .args(["--keep", "1"])
        .status()
        .unwrap()
        .success());
    assert_eq!(generations(root.path()).len(), 1, "the next build prunes");
}

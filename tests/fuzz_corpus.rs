//! Replays the fuzzing corpus (`fuzz/corpus/<target>/`) through the same checks
//! as the fuzz targets (`chat::fuzzing`), so that CI keeps every input the
//! fuzzer found interesting passing, without libFuzzer or a nightly toolchain.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("corpus folder {} is missing: {err}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("reading the corpus folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "corpus folder {} is empty: the replay would test nothing",
        dir.display()
    );
    files
}

fn replay(target: &str) {
    let (_, check) = chat::fuzzing::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a fuzz target of that name");
    let files = corpus_files(target);
    let mut failed = Vec::new();
    for file in &files {
        let data = fs::read(file).expect("reading a corpus file");
        if panic::catch_unwind(|| check(&data)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} corpus files fail: {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn framing_corpus() {
    replay("framing");
}

#[test]
fn parse_client_corpus() {
    replay("parse_client");
}

#[test]
fn parse_server_corpus() {
    replay("parse_server");
}

#[test]
fn client_session_corpus() {
    replay("client_session");
}

/// Every fuzz target has a corpus folder, and every corpus folder a target.
#[test]
fn every_target_has_a_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut folders: Vec<String> = fs::read_dir(&dir)
        .expect("fuzz/corpus exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut targets: Vec<String> = chat::fuzzing::TARGETS
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    targets.sort();
    assert_eq!(folders, targets);
}

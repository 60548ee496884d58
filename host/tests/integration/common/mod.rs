//! Running the `baler` binary in tests: success with its output, or a clean failure (exit 1, a message
//! naming the culprit, no panic; exit 2 for a command line clap refuses).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn baler(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baler"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("binary runs")
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = baler(dir, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "baler {args:?} failed:\n{text}");
    text
}

pub fn fails(dir: &Path, args: &[&str], needle: &str) -> String {
    let out = baler(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "baler {args:?} should fail; stderr:\n{stderr}"
    );
    assert!(stderr.contains(needle), "expected '{needle}' in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A command line clap refuses before anything runs: exit 2 (clap's usage error), the message naming the value.
pub fn refused_usage(dir: &Path, args: &[&str], needle: &str) -> String {
    let out = baler(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "baler {args:?} should be a usage error; stderr:\n{stderr}"
    );
    assert!(stderr.contains(needle), "expected '{needle}' in:\n{stderr}");
    stderr
}

/// Compiles the C file `source` (relative to the host crate) into the shared library `lib`, with `defines`.
pub fn compile_c_library(source: &str, lib: &Path, defines: &[&str]) {
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall"])
        .args(defines)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(source))
        .arg("-o")
        .arg(lib)
        .args(["-ldl", "-lpthread"])
        .output()
        .expect("a C compiler (cc) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first `rows` rows of the shipped jet data, saved as `<dir>/jets.npy`, and the reference model's
/// variable names.
pub fn jets_rows(dir: &Path, rows: usize) -> (PathBuf, Vec<String>) {
    let decoder = std::fs::read(root().join("models/jets-baler-9to5/decoder.json")).unwrap();
    let names: Vec<String> = serde_json::from_slice::<serde_json::Value>(&decoder).unwrap()["data"]
        ["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let mut data =
        baler::data::Dataset::load(&root().join("data/hep_jets_dijet.npy"), &names).unwrap();
    data.rows = rows;
    data.values.truncate(rows * names.len());
    let path = dir.join("jets.npy");
    data.save(&path).unwrap();
    (path, names)
}

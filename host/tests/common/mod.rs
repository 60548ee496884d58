//! Running the `baler` binary in tests: success with its output, or a clean failure (exit 1, a message
//! naming the culprit, no panic).
#![allow(dead_code)]

use std::path::Path;
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

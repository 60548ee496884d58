//! Compiles C++ against the real `ap_fixed` headers (fetched by scripts/fetch_ap_types.sh) and runs it, so
//! the Rust arithmetic can be compared bit for bit with Xilinx's own implementation.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The folder holding `ap_fixed.h`: `$BALER_AP_TYPES`, else `scripts/.cache/ap_types` in the workspace.
/// Fails (never skips) with the command that fetches them.
pub fn ap_types_dir() -> PathBuf {
    let dir = std::env::var_os("BALER_AP_TYPES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/.cache/ap_types")
        });
    assert!(
        dir.join("ap_fixed.h").is_file(),
        "the ap_fixed headers are missing from {}: run `bash scripts/fetch_ap_types.sh` \
         (or `bash scripts/test.sh`, which fetches them), or point BALER_AP_TYPES at them",
        dir.display()
    );
    dir
}

/// Compiles `source` with g++ (C++17, `-O1`) and runs it. `-DNDEBUG` as in synthesis: `ap_private.h` asserts on
/// an internal read past the MSB when a conversion's source and target share no bit position (e.g.
/// `ap_fixed<6,9>` → `ap_fixed<9,-2>`); without the assertion it computes the correct result.
/// `input` goes to stdin; returns stdout.
pub fn compile_and_run(name: &str, source: &str, input: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let cpp = dir.join("main.cpp");
    let exe = dir.join("main");
    std::fs::write(&cpp, source).unwrap();
    // kept for reproducing a failure by hand: `main < input.txt`
    std::fs::write(dir.join("input.txt"), input).unwrap();
    let out = Command::new("g++")
        .args(["-std=c++17", "-O1", "-w", "-DNDEBUG", "-isystem"])
        .arg(ap_types_dir())
        .arg(&cpp)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("g++ must be installed (apt-get install g++)");
    assert!(
        out.status.success(),
        "g++ failed on {}:\n{}",
        cpp.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert!(
        out.status.success() && written.is_ok(),
        "{} failed ({}); rerun it with `{0} < {}`",
        exe.display(),
        out.status,
        dir.join("input.txt").display()
    );
    String::from_utf8(out.stdout).unwrap()
}

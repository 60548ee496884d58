//! The XRT path without a card: the XRT stand-in library (host/xrt-standin, XRT's C functions over the
//! C-simulated kernel) is compiled here, and `compress --fixed --device xrt:<manifest>` runs the exact host
//! code a card would see — bit-identical output to cpu-fixed — while checksum, model and card failures are
//! refused with the device named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::ok;

fn baler_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baler"));
    cmd.current_dir(dir).args(args).env_remove("XILINX_XRT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("binary runs")
}

fn fails_with(out: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "should fail: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in:\n{stderr}");
}

/// Compiles the stand-in into `dir`, as `libxrt_coreutil.so`.
fn build_standin(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("xrt-standin/xrt_standin.c");
    let lib = dir.join("libxrt_coreutil.so");
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall"])
        .arg(&source)
        .arg("-o")
        .arg(&lib)
        .args(["-ldl", "-lpthread"])
        .output()
        .expect("a C compiler (cc) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

#[test]
fn the_xrt_path_runs_against_the_standin_and_matches_cpu_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let standin = build_standin(dir);
    let model = root.join("models/jets-baler-9to5");
    let model = model.to_str().unwrap();

    // 10,000 rows: three kernel runs of up to 4,096 frames, alternating between two buffer sets
    common::jets_rows(dir, 10_000);

    ok(
        dir,
        &[
            "hls",
            "-m",
            model,
            "-i",
            "jets.npy",
            "-o",
            "hls",
            "--network",
            "encoder",
            "--frames",
            "100",
            "--csim",
        ],
    );
    let xclbin = "hls/encoder/build/csim/libbaler_encoder.so";
    let text = ok(
        dir,
        &[
            "manifest",
            "--hls",
            "hls/encoder",
            "--xclbin",
            xclbin,
            "--board",
            "software-twin",
            "-o",
            "bitstreams/jets.json",
        ],
    );
    assert!(
        text.contains("kernel baler_encoder_kernel of model"),
        "{text}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bitstreams/jets.json")).unwrap()).unwrap();
    assert_eq!(manifest["xclbin"], format!("../{xclbin}"));
    assert_eq!(manifest["kernel"]["input_container"], "int16_t");

    let standin = standin.to_str().unwrap();
    let compress = |device: &str, file: &str, env: &[(&str, &str)]| {
        let args = [
            "compress", "-m", model, "-i", "jets.npy", "-o", file, "--fixed", "--device", device,
        ];
        baler_env(dir, &args, env)
    };
    let out = compress(
        "xrt:bitstreams/jets.json",
        "xrt.baler",
        &[("BALER_XRT_LIBRARY", standin)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        dir,
        &[
            "compress",
            "-m",
            model,
            "-i",
            "jets.npy",
            "-o",
            "cpu.baler",
            "--fixed",
        ],
    );
    assert_eq!(
        std::fs::read(dir.join("xrt.baler")).unwrap(),
        std::fs::read(dir.join("cpu.baler")).unwrap()
    );

    // a card that reports a failed run, a machine without XRT, a rebuilt bitstream
    let out = compress(
        "xrt:bitstreams/jets.json",
        "x.baler",
        &[
            ("BALER_XRT_LIBRARY", standin),
            ("BALER_XRT_STANDIN_FAIL", "run"),
        ],
    );
    fails_with(
        out,
        "device xrt:bitstreams/jets.json: batch 0: the kernel run on frames 0..4096 ended in state 5",
    );
    let out = compress(
        "xrt:bitstreams/jets.json",
        "x.baler",
        &[
            ("BALER_XRT_LIBRARY", standin),
            ("BALER_XRT_STANDIN_FAIL", "open"),
        ],
    );
    fails_with(out, "xrtDeviceOpen(0) failed");
    let out = compress("xrt:bitstreams/jets.json", "x.baler", &[]);
    fails_with(out, "XRT is not installed here (XILINX_XRT is not set)");
    assert!(!dir.join("x.baler").exists());
    let mut bytes = std::fs::read(dir.join(xclbin)).unwrap();
    bytes.push(0);
    std::fs::write(dir.join(xclbin), bytes).unwrap();
    let out = compress(
        "xrt:bitstreams/jets.json",
        "x.baler",
        &[("BALER_XRT_LIBRARY", standin)],
    );
    fails_with(out, "the bitstream was rebuilt or damaged");
}

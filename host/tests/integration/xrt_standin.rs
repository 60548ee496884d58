//! The XRT path without a card: the XRT stand-in library (host/xrt-standin, XRT's C functions over the
//! C-simulated kernel) is compiled here, and `compress --fixed --device xrt:<manifest>` runs the exact host
//! code a card would see — bit-identical output to cpu-fixed — while checksum, model and card failures are
//! refused with the device named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;

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
    let lib = dir.join("libxrt_coreutil.so");
    common::compile_c_library("xrt-standin/xrt_standin.c", &lib, &[]);
    lib
}

#[test]
fn the_xrt_path_runs_against_the_standin_and_matches_cpu_fixed() {
    let root = common::root();
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

    // `baler bench` on the card: energy from the card's XMC rail sensors (a stand-in folder: 12 V × 2.5 A)
    let xmc = dir.join("xmc");
    std::fs::create_dir(&xmc).unwrap();
    for (file, value) in [("xmc_12v_pex_vol", "12000"), ("xmc_12v_pex_curr", "2500")] {
        std::fs::write(xmc.join(file), value).unwrap();
    }
    let bench = [
        "bench",
        "-m",
        model,
        "-i",
        "jets.npy",
        "-o",
        "bench",
        "--device",
        "xrt:bitstreams/jets.json",
        "--batch",
        "5000",
        "--seconds",
        "0.2",
    ];
    let out = baler_env(
        dir,
        &bench,
        &[
            ("BALER_XRT_LIBRARY", standin),
            ("BALER_XRT_SENSORS", xmc.to_str().unwrap()),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Alveo card, 1 power rails"), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bench/bench.json")).unwrap()).unwrap();
    let point = &report["points"][0];
    assert!(
        (point["power_w"].as_f64().unwrap() - 30.0).abs() < 1e-9,
        "{point}"
    );
    let per_frame = 30.0 / point["frames_per_second"].as_f64().unwrap() * 1e6;
    let reported = point["energy_uj_per_frame"].as_f64().unwrap();
    assert!(
        (reported / per_frame - 1.0).abs() < 0.05,
        "{reported} vs {per_frame}"
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
    let out = compress(
        "xrt:bitstreams/jets.json",
        "x.baler",
        &[
            ("BALER_XRT_LIBRARY", standin),
            ("BALER_XRT_STANDIN_FAIL", "load"),
        ],
    );
    fails_with(out, "xrtDeviceLoadXclbinFile(");
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

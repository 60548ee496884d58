//! `baler bench` on the shipped jet model: every device and batch size measured, bench.json and the plots
//! written, energy reported as a figure or as unavailable with the reason; unknown devices refused;
//! `BALER_CPU_KERNEL` picks cpu-f32's kernel, a bad value is refused.

use crate::common;

use common::{fails, ok, refused_usage};
use std::process::Command;

#[test]
fn bench_measures_every_device_and_batch_size() {
    let root = common::root();
    let tmp = tempfile::tempdir().unwrap();
    let model = root.join("models/jets-baler-9to5");
    let data = root.join("data/hep_jets_dijet.npy");
    let out = tmp.path().join("bench");
    let args = [
        "bench",
        "-m",
        model.to_str().unwrap(),
        "-i",
        data.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--device",
        "cpu-f32,cpu-fixed,loopback",
        "--batch",
        "1,16",
        "--seconds",
        "0.05",
        "--rows",
        "100",
    ];
    let text = ok(tmp.path(), &args);
    assert!(text.contains("batch latency p50/p99/max"), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bench.json")).unwrap()).unwrap();
    let points = report["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    for p in points {
        assert!(p["frames_per_second"].as_f64().unwrap() > 0.0, "{p}");
        let q = &p["batch_latency_ms"];
        let (p50, p99, max) = (
            q["p50"].as_f64().unwrap(),
            q["p99"].as_f64().unwrap(),
            q["max"].as_f64().unwrap(),
        );
        assert!(p50 <= p99 && p99 <= max, "{q}");
        // a figure from a power counter, or the reason there is none: never an estimate
        let energy = &p["energy_uj_per_frame"];
        let source = p["energy_source"].as_str().unwrap();
        assert!(
            energy.is_number() != source.starts_with("unavailable: "),
            "{p}"
        );
    }
    assert_eq!(report["options"]["batch_sizes"], serde_json::json!([1, 16]));
    for png in ["throughput.png", "latency.png"] {
        assert!(std::fs::metadata(out.join(png)).unwrap().len() > 1000);
    }
    // the recorded run can be repeated as it was
    let again = tmp.path().join("again");
    ok(
        tmp.path(),
        &[
            "bench",
            "--repeat",
            out.join("bench.json").to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ],
    );
    let repeated: serde_json::Value =
        serde_json::from_slice(&std::fs::read(again.join("bench.json")).unwrap()).unwrap();
    assert_eq!(repeated["options"], report["options"]);
    assert_eq!(repeated["points"].as_array().unwrap().len(), 6);
    fails(
        tmp.path(),
        &["bench", "--repeat", data.to_str().unwrap()],
        "not a bench.json",
    );

    let mut bad = args.to_vec();
    bad[8] = "fpga0";
    refused_usage(
        tmp.path(),
        &bad,
        "device fpga0: unknown device; the devices are cpu-f32, gpu",
    );
    // absurd options, on the command line or in an edited bench.json, are refused before anything runs
    let mut huge = args.to_vec();
    huge[10] = "10000000000";
    fails(
        tmp.path(),
        &huge,
        "--batch 10000000000: batch sizes must be 1 to",
    );
    let mut forever = args.to_vec();
    forever[12] = "inf";
    fails(tmp.path(), &forever, "--seconds inf");
    let mut edited = report.clone();
    edited["options"]["depth"] = 0.into();
    let edited_path = tmp.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    fails(
        tmp.path(),
        &["bench", "--repeat", edited_path.to_str().unwrap()],
        "--depth 0: batches in flight must be 1 to 64",
    );
}

#[test]
fn baler_cpu_kernel_picks_the_cpu_f32_kernel() {
    let root = common::root();
    let tmp = tempfile::tempdir().unwrap();
    let bench = |kernel: &str, out: &str| {
        Command::new(env!("CARGO_BIN_EXE_baler"))
            .current_dir(tmp.path())
            .env("BALER_CPU_KERNEL", kernel)
            .args(["bench", "-m"])
            .arg(root.join("models/jets-baler-9to5"))
            .arg("-i")
            .arg(root.join("data/hep_jets_dijet.npy"))
            .args(["-o", out, "--device", "cpu-f32", "--batch", "16"])
            .args(["--seconds", "0.02", "--rows", "100"])
            .output()
            .unwrap()
    };
    // the portable kernel runs on every CPU; bench.json says which ran
    let out = bench("portable", "portable");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("portable/bench.json")).unwrap())
            .unwrap();
    let detail = report["points"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("portable path"), "{detail}");
    let out = bench("avx3", "bad");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("device cpu-f32: BALER_CPU_KERNEL='avx3' is not a kernel; use one of avx512, avx2, portable")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
}

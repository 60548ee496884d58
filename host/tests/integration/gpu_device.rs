//! The `gpu` device (wgpu feature; Mesa's software Vulkan where there is no GPU) computes what `cpu-f32`
//! computes, up to float rounding, and `baler bench` reads its energy through NVML (the NVML stand-in here).
//! Run with `cargo test -p baler --features wgpu --test integration gpu_device`.

use baler::model::Model;
use baler::runtime::{CpuFloat, Device, GpuFloat};
use std::path::Path;
use std::process::Command;

use crate::common;

#[test]
fn gpu_and_cpu_encoders_agree() {
    let model = Model::load(&common::root().join("models/jets-baler-9to5")).unwrap();
    let input: Vec<f64> = (0..256 * 9)
        .map(|i| ((i * 37) % 100) as f64 / 100.0)
        .collect();
    let gpu = GpuFloat::new(&model.encoder, &model.encoder_params, model.decoder.id)
        .unwrap()
        .run(&input)
        .unwrap();
    let cpu = CpuFloat::new(&model.encoder, &model.encoder_params, model.decoder.id)
        .unwrap()
        .run(&input)
        .unwrap();
    assert_eq!(gpu.len(), 256 * 5);
    for (g, c) in gpu.iter().zip(&cpu) {
        assert!((g - c).abs() <= 1e-4 * (1.0 + c.abs()), "{g} vs {c}");
    }
}

/// `baler bench --device gpu` with `BALER_NVML_LIBRARY` at the NVML stand-in named `nvml_name`: the
/// energy source and bench.json's first point.
fn bench_gpu(dir: &Path, nvml: &Path, nvml_name: &str) -> (String, serde_json::Value) {
    let root = common::root();
    let out = Command::new(env!("CARGO_BIN_EXE_baler"))
        .current_dir(dir)
        .args(["bench", "-m"])
        .arg(root.join("models/jets-baler-9to5"))
        .arg("-i")
        .arg(root.join("data/hep_jets_dijet.npy"))
        .args([
            "-o",
            "bench",
            "--device",
            "gpu",
            "--batch",
            "256",
            "--seconds",
            "0.3",
        ])
        .env("BALER_NVML_LIBRARY", nvml)
        .env("BALER_NVML_STANDIN_NAME", nvml_name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bench/bench.json")).unwrap()).unwrap();
    let point = report["points"][0].clone();
    (point["energy_source"].as_str().unwrap().to_string(), point)
}

#[test]
fn gpu_energy_is_read_through_nvml_for_the_adapter_it_runs_on() {
    let tmp = tempfile::tempdir().unwrap();
    let nvml = tmp.path().join("libnvidia-ml.so.1");
    common::compile_c_library("nvml-standin/nvml_standin.c", &nvml, &[]);
    // NVML lists another GPU than the adapter: no figure, and the reason names both
    let (source, point) = bench_gpu(tmp.path(), &nvml, "NVIDIA Stand-in GPU");
    let adapter = source
        .split_once("runs on ")
        .and_then(|(_, rest)| {
            rest.split_once(", which NVML does not list (it lists: NVIDIA Stand-in GPU)")
        })
        .map(|(adapter, _)| adapter.to_string())
        .unwrap_or_else(|| panic!("{source}"));
    assert!(point["energy_uj_per_frame"].is_null(), "{point}");
    // NVML lists the adapter (the stand-in takes its name): 70 W from its energy counter
    let (source, point) = bench_gpu(tmp.path(), &nvml, &adapter);
    assert!(source.contains("energy counter"), "{source}");
    let watts = point["power_w"].as_f64().unwrap();
    assert!((watts - 70.0).abs() < 3.0, "{point}");
}

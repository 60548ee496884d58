//! The `gpu` device (wgpu feature; Mesa's software Vulkan where there is no GPU) computes what `cpu-f32`
//! computes, up to float rounding. Run with `cargo test -p baler --features wgpu --test gpu_device`.
#![cfg(feature = "wgpu")]

use baler::model_store::Model;
use baler::runtime::{CpuFloat, Device, GpuFloat};
use std::path::Path;

#[test]
fn gpu_and_cpu_encoders_agree() {
    let model =
        Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/jets-baler-9to5"))
            .unwrap();
    let input: Vec<f64> = (0..256 * 9)
        .map(|i| ((i * 37) % 100) as f64 / 100.0)
        .collect();
    let gpu = GpuFloat::new(&model).unwrap().run(&input).unwrap();
    let cpu = CpuFloat::new(&model).unwrap().run(&input).unwrap();
    assert_eq!(gpu.len(), 256 * 5);
    for (g, c) in gpu.iter().zip(&cpu) {
        assert!((g - c).abs() <= 1e-4 * (1.0 + c.abs()), "{g} vs {c}");
    }
}

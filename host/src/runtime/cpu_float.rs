//! `cpu-f32`: the float encoder on the CPU, the baseline a user compares to — dense encoders through the
//! cache-blocked SIMD kernel over rayon's threads, others through burn's CPU backend.

use super::dense_f32::{CpuKernel, DenseF32};
use super::{Device, DeviceError, DeviceInfo};
use crate::model_store::Model;
use crate::network::{Network, run_network};
use burn::tensor::Device as BurnDevice;
use rayon::prelude::*;

/// Frames per parallel task of the dense kernel.
const TASK_FRAMES: usize = 1024;

/// A float encoder on a burn device (the CPU's flex backend, or wgpu for `gpu`).
pub(super) struct BurnEncoder {
    network: Network,
    device: BurnDevice,
}

impl BurnEncoder {
    /// The encoder of `model` on `device`; errors name the runtime device `name`.
    pub(super) fn new(model: &Model, device: BurnDevice, name: &str) -> Result<Self, DeviceError> {
        let network = Network::from_params(&model.encoder, &model.encoder_params, &device)
            .map_err(|e| DeviceError {
                device: name.into(),
                message: e.to_string(),
            })?;
        Ok(BurnEncoder { network, device })
    }

    /// Whole frames of normalised values → latent values.
    pub(super) fn run(&self, input: &[f64], inputs: usize) -> Vec<f64> {
        let values: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let out = run_network(&self.network, &values, inputs, &self.device);
        out.into_iter().map(f64::from).collect()
    }
}

enum Kernel {
    Dense(DenseF32),
    Burn(BurnEncoder),
}

/// The float model's encoder on the CPU.
pub struct CpuFloat {
    info: DeviceInfo,
    kernel: Kernel,
}

impl CpuFloat {
    /// The encoder of `model`, a dense one on the kernel `BALER_CPU_KERNEL` forces, else the best this CPU has.
    pub fn new(model: &Model) -> Result<Self, DeviceError> {
        Self::with_kernel(model, CpuKernel::from_env()?)
    }

    /// The encoder of `model`, a dense one on `kernel` (an error if this CPU lacks it; other encoders run
    /// through burn whatever the kernel).
    pub fn with_kernel(model: &Model, kernel: CpuKernel) -> Result<Self, DeviceError> {
        let kernel = kernel.require()?;
        let (encoder, detail) = match DenseF32::new(&model.encoder, &model.encoder_params) {
            Some(dense) => (
                Kernel::Dense(dense.with_kernel(kernel)?),
                format!(
                    "cache-blocked SIMD dense kernel, {kernel} path ({})",
                    kernel.describe()
                ),
            ),
            None => (
                Kernel::Burn(BurnEncoder::new(model, BurnDevice::flex(), "cpu-f32")?),
                "burn flex backend".to_string(),
            ),
        };
        Ok(CpuFloat {
            info: DeviceInfo {
                name: "cpu-f32".into(),
                detail: format!(
                    "float encoder, {detail}, {} CPU threads",
                    rayon::current_num_threads()
                ),
                model_id: Some(model.decoder.id.to_string()),
                inputs: model.encoder.input_shape.iter().product(),
                outputs: model.decoder.latent(),
            },
            kernel: encoder,
        })
    }
}

impl Device for CpuFloat {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        super::whole_frames(&self.info, input)?;
        Ok(match &self.kernel {
            Kernel::Dense(dense) => {
                let values: Vec<f32> = input.iter().map(|&v| v as f32).collect();
                let task = TASK_FRAMES * self.info.inputs;
                // one task runs on this thread: handing it to rayon's pool costs two thread wake-ups
                if values.len() <= task {
                    return Ok(dense.run(&values).into_iter().map(f64::from).collect());
                }
                values
                    .par_chunks(task)
                    .flat_map_iter(|chunk| dense.run(chunk))
                    .map(f64::from)
                    .collect()
            }
            Kernel::Burn(encoder) => encoder.run(input, self.info.inputs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_f32_runs_and_names_every_kernel_of_this_cpu() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/jets-baler-9to5");
        let model = Model::load(&dir).unwrap();
        let input: Vec<f64> = (0..100 * 9)
            .map(|i| ((i * 37) % 100) as f64 / 50.0 - 1.0)
            .collect();
        let mut portable = CpuFloat::with_kernel(&model, CpuKernel::Portable).unwrap();
        let expected = portable.run(&input).unwrap();
        assert_eq!(expected.len(), 100 * 5);
        for kernel in CpuKernel::ALL {
            match CpuFloat::with_kernel(&model, kernel) {
                Ok(mut device) => {
                    let detail = &device.info().detail;
                    assert!(detail.contains(&format!("{kernel} path")), "{detail}");
                    let got = device.run(&input).unwrap();
                    for (g, e) in got.iter().zip(&expected) {
                        assert!(
                            (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                            "{kernel}: {g} vs {e}"
                        );
                    }
                }
                // a kernel this CPU lacks is refused, naming the device and the feature
                Err(e) => {
                    let missing = kernel.require().unwrap_err();
                    assert_eq!(e, missing);
                    assert!(e.to_string().starts_with("device cpu-f32: "), "{e}");
                }
            }
        }
    }
}

//! `cpu-f32`: the float encoder (or decoder) on the CPU, the baseline a user compares to — dense networks through
//! the cache-blocked SIMD kernel over rayon's threads, others through burn's CPU backend.

use super::dense_f32::{CpuKernel, DenseF32};
use super::{Device, DeviceError, DeviceInfo};
use crate::network::{Network, run_network};
use baler_core::{LayerParams, ModelId, NetworkSpec};
use burn::tensor::Device as BurnDevice;
use rayon::prelude::*;

/// Frames per parallel task of the dense kernel.
const TASK_FRAMES: usize = 1024;

/// A float network on a burn device (the CPU's flex backend, or wgpu for `gpu`).
pub(super) struct BurnNetwork {
    network: Network,
    device: BurnDevice,
}

impl BurnNetwork {
    /// `network` with `params` on `device`; errors name the runtime device `name`.
    pub(super) fn new(
        network: &NetworkSpec,
        params: &[LayerParams],
        device: BurnDevice,
        name: &str,
    ) -> Result<Self, DeviceError> {
        let network = Network::from_params(network, params, &device).map_err(|e| DeviceError {
            device: name.into(),
            message: e.to_string(),
        })?;
        Ok(BurnNetwork { network, device })
    }

    /// Whole frames of input values → output values.
    pub(super) fn run(&self, input: &[f64], inputs: usize) -> Vec<f64> {
        let values: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let out = run_network(&self.network, &values, inputs, &self.device);
        out.into_iter().map(f64::from).collect()
    }
}

enum Kernel {
    Dense(DenseF32),
    Burn(BurnNetwork),
}

/// A float network (encoder or decoder) on the CPU.
pub struct CpuFloat {
    info: DeviceInfo,
    kernel: Kernel,
}

impl CpuFloat {
    /// `network` with `params` (a half of model `id`), a dense one on the kernel `BALER_CPU_KERNEL` forces, else
    /// the best this CPU has.
    pub fn new(
        network: &NetworkSpec,
        params: &[LayerParams],
        id: ModelId,
    ) -> Result<Self, DeviceError> {
        Self::with_kernel(network, params, id, CpuKernel::from_env()?)
    }

    /// `network` with `params`, a dense one on `kernel` (an error if this CPU lacks it; other networks run
    /// through burn whatever the kernel).
    pub fn with_kernel(
        network: &NetworkSpec,
        params: &[LayerParams],
        id: ModelId,
        kernel: CpuKernel,
    ) -> Result<Self, DeviceError> {
        let kernel = kernel.require()?;
        let (encoder, detail) = match DenseF32::new(network, params) {
            Some(dense) => (
                Kernel::Dense(dense.with_kernel(kernel)?),
                format!(
                    "cache-blocked SIMD dense kernel, {kernel} path ({})",
                    kernel.describe()
                ),
            ),
            None => (
                Kernel::Burn(BurnNetwork::new(
                    network,
                    params,
                    BurnDevice::flex(),
                    "cpu-f32",
                )?),
                "burn flex backend".to_string(),
            ),
        };
        Ok(CpuFloat {
            info: DeviceInfo {
                name: "cpu-f32".into(),
                detail: format!(
                    "float network, {detail}, {} CPU threads",
                    rayon::current_num_threads()
                ),
                model_id: Some(id.to_string()),
                inputs: network.input_shape.iter().product(),
                outputs: output_values(network),
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

/// Values per frame a network gives (0 for one that has not passed validation).
pub(super) fn output_values(network: &NetworkSpec) -> usize {
    network.output_shape().map_or(0, |s| s.iter().product())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    #[test]
    fn cpu_f32_runs_and_names_every_kernel_of_this_cpu() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/jets-baler-9to5");
        let model = Model::load(&dir).unwrap();
        let input: Vec<f64> = (0..100 * 9)
            .map(|i| ((i * 37) % 100) as f64 / 50.0 - 1.0)
            .collect();
        let mut portable = CpuFloat::with_kernel(
            &model.encoder,
            &model.encoder_params,
            model.decoder.id,
            CpuKernel::Portable,
        )
        .unwrap();
        let expected = portable.run(&input).unwrap();
        assert_eq!(expected.len(), 100 * 5);
        for kernel in CpuKernel::ALL {
            match CpuFloat::with_kernel(
                &model.encoder,
                &model.encoder_params,
                model.decoder.id,
                kernel,
            ) {
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

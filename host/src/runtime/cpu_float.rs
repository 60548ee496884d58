//! `cpu-f32`: the float encoder through burn's CPU backend, batched — the baseline a user compares to.

use super::{Device, DeviceError, DeviceInfo};
use crate::codec::run_network;
use crate::model_store::Model;
use crate::network::Network;
use burn::tensor::Device as BurnDevice;

/// The float model's encoder on the CPU.
pub struct CpuFloat {
    info: DeviceInfo,
    network: Network,
    device: BurnDevice,
}

impl CpuFloat {
    /// The encoder of `model` on burn's CPU backend.
    pub fn new(model: &Model) -> Result<Self, DeviceError> {
        let device = BurnDevice::flex();
        let network = Network::from_params(&model.encoder, &model.encoder_params, &device)
            .map_err(|e| DeviceError {
                device: "cpu-f32".into(),
                message: e.to_string(),
            })?;
        let inputs = model.encoder.input_shape.iter().product();
        Ok(CpuFloat {
            info: DeviceInfo {
                name: "cpu-f32".into(),
                detail: "float encoder, burn flex backend (CPU)".into(),
                model_id: Some(model.decoder.id.to_string()),
                inputs,
                outputs: model.decoder.latent(),
            },
            network,
            device,
        })
    }
}

impl Device for CpuFloat {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        let values: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let out = run_network(&self.network, &values, self.info.inputs, &self.device);
        Ok(out.into_iter().map(f64::from).collect())
    }
}

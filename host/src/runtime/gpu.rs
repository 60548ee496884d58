//! `gpu`: the float encoder through burn's wgpu backend (Vulkan, Metal or DX12; Mesa's software Vulkan where
//! there is no GPU, which is how CI runs it), built with the `wgpu` feature.

use super::{Device, DeviceError, DeviceInfo};
use crate::codec::run_network;
use crate::model_store::Model;
use crate::network::Network;
use burn::tensor::Device as BurnDevice;

/// The float model's encoder on the default wgpu adapter.
pub struct GpuFloat {
    info: DeviceInfo,
    network: Network,
    device: BurnDevice,
}

impl GpuFloat {
    /// The encoder of `model` on the default wgpu adapter.
    pub fn new(model: &Model) -> Result<Self, DeviceError> {
        let device = BurnDevice::wgpu(Default::default());
        let network = Network::from_params(&model.encoder, &model.encoder_params, &device)
            .map_err(|e| DeviceError {
                device: "gpu".into(),
                message: e.to_string(),
            })?;
        Ok(GpuFloat {
            info: DeviceInfo {
                name: "gpu".into(),
                detail: "float encoder, burn wgpu backend (default adapter)".into(),
                model_id: Some(model.decoder.id.to_string()),
                inputs: model.encoder.input_shape.iter().product(),
                outputs: model.decoder.latent(),
            },
            network,
            device,
        })
    }
}

impl Device for GpuFloat {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        super::whole_frames(&self.info, input)?;
        let values: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let out = run_network(&self.network, &values, self.info.inputs, &self.device);
        Ok(out.into_iter().map(f64::from).collect())
    }
}

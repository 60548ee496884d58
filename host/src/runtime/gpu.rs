//! `gpu`: the float encoder through burn's wgpu backend (Vulkan, Metal or DX12; Mesa's software Vulkan where
//! there is no GPU), built with the `wgpu` feature.

use super::cpu_float::BurnEncoder;
use super::{Device, DeviceError, DeviceInfo};
use crate::model_store::Model;
use burn::tensor::Device as BurnDevice;

/// The float model's encoder on the default wgpu adapter.
pub struct GpuFloat {
    info: DeviceInfo,
    encoder: BurnEncoder,
}

impl GpuFloat {
    /// The encoder of `model` on the default wgpu adapter.
    pub fn new(model: &Model) -> Result<Self, DeviceError> {
        Ok(GpuFloat {
            info: DeviceInfo {
                name: "gpu".into(),
                detail: "float encoder, burn wgpu backend (default adapter)".into(),
                model_id: Some(model.decoder.id.to_string()),
                inputs: model.encoder.input_shape.iter().product(),
                outputs: model.decoder.latent(),
            },
            encoder: BurnEncoder::new(model, BurnDevice::wgpu(Default::default()), "gpu")?,
        })
    }
}

impl Device for GpuFloat {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        super::whole_frames(&self.info, input)?;
        Ok(self.encoder.run(input, self.info.inputs))
    }
}

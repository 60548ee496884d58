//! `gpu`: the float encoder through burn's wgpu backend (Vulkan, Metal or DX12; Mesa's software Vulkan where
//! there is no GPU), built with the `wgpu` feature.

use super::cpu_float::BurnEncoder;
use super::{Device, DeviceError, DeviceInfo, PowerSource};
use crate::model_store::Model;
use burn::tensor::Device as BurnDevice;
use std::sync::OnceLock;

/// The wgpu runtime on the default adapter, set up once per process: burn's device and the adapter's
/// name and description, or why there is none.
fn default_adapter() -> &'static Result<(BurnDevice, String, String), String> {
    static ADAPTER: OnceLock<Result<(BurnDevice, String, String), String>> = OnceLock::new();
    ADAPTER.get_or_init(|| {
        let (device, setup) = BurnDevice::wgpu_options()
            .init_with_setup()
            .map_err(|e| format!("no GPU adapter: {e}"))?;
        let a = setup.adapter.get_info();
        let about = format!(
            "{} ({:?}, {} {})",
            a.name, a.backend, a.driver, a.driver_info
        );
        Ok((device, a.name, about))
    })
}

/// The float model's encoder on the default wgpu adapter.
pub struct GpuFloat {
    info: DeviceInfo,
    adapter: String,
    encoder: BurnEncoder,
}

impl GpuFloat {
    /// The encoder of `model` on the default wgpu adapter.
    pub fn new(model: &Model) -> Result<Self, DeviceError> {
        let (device, adapter, about) = default_adapter().as_ref().map_err(|e| DeviceError {
            device: "gpu".into(),
            message: e.clone(),
        })?;
        Ok(GpuFloat {
            info: DeviceInfo {
                name: "gpu".into(),
                detail: format!("float encoder, burn wgpu backend on {about}"),
                model_id: Some(model.decoder.id.to_string()),
                inputs: model.encoder.input_shape.iter().product(),
                outputs: model.decoder.latent(),
            },
            adapter: adapter.clone(),
            encoder: BurnEncoder::new(model, device.clone(), "gpu")?,
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

    fn power_source(&self) -> PowerSource {
        PowerSource::NvidiaGpu {
            adapter: self.adapter.clone(),
        }
    }
}

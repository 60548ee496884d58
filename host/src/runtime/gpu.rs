//! `gpu`: the float encoder (or decoder) through burn's wgpu backend (Vulkan, Metal or DX12; Mesa's software Vulkan where
//! there is no GPU), built with the `wgpu` feature.

use super::cpu_float::{BurnNetwork, output_values};
use super::{Device, DeviceError, DeviceInfo, PowerSource};
use baler_core::{LayerParams, ModelId, NetworkSpec};
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

/// A float network (encoder or decoder) on the default wgpu adapter.
pub struct GpuFloat {
    info: DeviceInfo,
    adapter: String,
    network: BurnNetwork,
}

impl GpuFloat {
    /// `network` with `params` (a half of model `id`) on the default wgpu adapter.
    pub fn new(
        network: &NetworkSpec,
        params: &[LayerParams],
        id: ModelId,
    ) -> Result<Self, DeviceError> {
        let (device, adapter, about) = default_adapter().as_ref().map_err(|e| DeviceError {
            device: "gpu".into(),
            message: e.clone(),
        })?;
        Ok(GpuFloat {
            info: DeviceInfo {
                name: "gpu".into(),
                detail: format!("float network, burn wgpu backend on {about}"),
                model_id: Some(id.to_string()),
                inputs: network.input_shape.iter().product(),
                outputs: output_values(network),
            },
            adapter: adapter.clone(),
            network: BurnNetwork::new(network, params, device.clone(), "gpu")?,
        })
    }
}

impl Device for GpuFloat {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        super::whole_frames(&self.info, input)?;
        Ok(self.network.run(input, self.info.inputs))
    }

    fn power_source(&self) -> PowerSource {
        PowerSource::NvidiaGpu {
            adapter: self.adapter.clone(),
        }
    }
}

//! `cpu-fixed`: the bit-exact fixed-point reference of `baler-core`, over all cores (rayon); dense layers with
//! wrapping accumulators run in `i64`.

use super::{Device, DeviceError, DeviceInfo};
use baler_core::quantized::QuantizedNetwork;
use rayon::prelude::*;

/// The fixed-point reference on the CPU.
pub struct CpuFixed {
    info: DeviceInfo,
    network: QuantizedNetwork,
}

impl CpuFixed {
    /// A device running `network` (validated) of the quantised model `model_id`.
    pub fn new(network: QuantizedNetwork, model_id: &str) -> Self {
        let info = DeviceInfo {
            name: "cpu-fixed".into(),
            detail: format!(
                "bit-exact ap_fixed reference on {} CPU threads",
                rayon::current_num_threads()
            ),
            model_id: Some(model_id.into()),
            inputs: network.input_shape.iter().product(),
            outputs: network
                .spec()
                .output_shape()
                .map_or(0, |s| s.iter().product()),
        };
        CpuFixed { info, network }
    }
}

impl Device for CpuFixed {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        super::whole_frames(&self.info, input)?;
        let inputs = self.info.inputs;
        let output = self.network.output();
        let runner = self.network.runner();
        Ok(input
            .par_chunks(inputs)
            .flat_map_iter(|frame| runner.run(frame).into_iter().map(|c| output.value_of(c)))
            .collect())
    }
}

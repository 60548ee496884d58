//! `cpu-fixed`: the bit-exact fixed-point reference of `baler-core`, over all cores (rayon); dense layers with
//! wrapping accumulators run in `i64`.

use super::{Device, DeviceError, DeviceInfo};
use baler_core::fixed::FixedFormat;
use baler_core::quantized::{FixedRunner, QuantizedNetwork};
use rayon::prelude::*;

/// Batches of up to this many frames run on the calling thread.
const SERIAL_FRAMES: usize = 8;

/// The fixed-point reference on the CPU.
pub struct CpuFixed {
    info: DeviceInfo,
    /// Prepared once: preparing the jet encoder takes about as long as running 10 frames.
    runner: FixedRunner,
    output: FixedFormat,
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
        CpuFixed {
            info,
            runner: network.runner(),
            output: network.output(),
        }
    }
}

impl Device for CpuFixed {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        super::whole_frames(&self.info, input)?;
        let inputs = self.info.inputs;
        let (runner, output) = (&self.runner, self.output);
        let run = |frame: &[f64]| runner.run(frame).into_iter().map(|c| output.value_of(c));
        // a few frames run on this thread: handing them to rayon's pool costs two thread wake-ups
        if input.len() <= SERIAL_FRAMES * inputs {
            return Ok(input.chunks(inputs).flat_map(run).collect());
        }
        Ok(input.par_chunks(inputs).flat_map_iter(run).collect())
    }
}

/// Runs a validated network over rows of `inputs` values (in parallel), as `cpu-fixed` does, without a device;
/// returns the output values.
pub fn run_rows(network: &QuantizedNetwork, values: &[f64], inputs: usize) -> Vec<f64> {
    let output = network.output();
    let runner = network.runner();
    values
        .par_chunks(inputs)
        .flat_map_iter(|row| runner.run(row).into_iter().map(|c| output.value_of(c)))
        .collect()
}

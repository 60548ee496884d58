//! `loopback`: returns its input, so that a benchmark measures the streaming path alone (queues, threads,
//! copies) — what the host adds in front of any card.

use super::{Device, DeviceError, DeviceInfo};

/// A device whose output is its input.
pub struct Loopback {
    info: DeviceInfo,
}

impl Loopback {
    /// A loopback for frames of `values` values.
    pub fn new(values: usize) -> Self {
        Loopback {
            info: DeviceInfo {
                name: "loopback".into(),
                detail: "returns its input (the streaming path alone)".into(),
                model_id: None,
                inputs: values,
                outputs: values,
            },
        }
    }
}

impl Device for Loopback {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        Ok(input.to_vec())
    }
}

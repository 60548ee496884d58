//! The device runtime: one streaming API over the devices that run an encoder (or decoder) on frames — the CPU in float
//! (`cpu-f32`) and fixed point (`cpu-fixed`), a GPU (`gpu`, wgpu feature), the C-simulated HLS kernel (`csim:`),
//! the Verilog IP core in Verilator (`rtl:`), a card through XRT (`xrt:`), a board over a serial link (`serial:`)
//! and a `loopback` for the streaming path alone — with batches in flight.

mod codes;
mod cpu_fixed;
#[cfg(feature = "train")]
mod cpu_float;
mod csim;
mod dense_f32;
#[cfg(feature = "wgpu")]
mod gpu;
mod loopback;
pub mod manifest;
mod rtl;
pub mod serial;
mod spec;
mod stream;
mod xrt;

pub use crate::error::DeviceError;
pub use crate::model::ModelKind;
pub use cpu_fixed::CpuFixed;
pub use cpu_fixed::run_rows;
#[cfg(feature = "train")]
pub use cpu_float::CpuFloat;
pub use csim::CsimKernel;
pub use dense_f32::{CpuKernel, DenseF32};
#[cfg(feature = "wgpu")]
pub use gpu::GpuFloat;
pub use loopback::Loopback;
pub use rtl::RtlCore;
pub use spec::{
    DEVICE_NAMES, DeviceSpec, open, open_decoder, open_encoder, open_float, open_quantized,
    wrong_model,
};
pub use stream::{BatchTiming, DeviceStream, StreamCounters};
pub use xrt::XrtKernel;

/// How long a device may take for one batch before it counts as not answering.
pub const DEVICE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// What a device says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    /// The name it was opened with (`cpu-fixed`, `csim:<path>`).
    pub name: String,
    /// What it is, in words.
    pub detail: String,
    /// The quantised model it runs, when it knows.
    pub model_id: Option<String>,
    /// Input values per frame.
    pub inputs: usize,
    /// Output values per frame.
    pub outputs: usize,
}

/// What a cycle-accurate simulation of the hardware measured for a batch.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SimulatedCycles {
    /// The design's target clock, MHz: the ns figures assume it (a target, not a timing-closed Fmax).
    pub clock_mhz: f64,
    /// Cycles from the first frame's last input beat to its first output beat.
    pub latency_cycles: f64,
    /// Cycles per frame when neither side waits (none for a batch of one frame).
    pub cycles_per_frame: Option<f64>,
}

/// Where a device's energy can be measured (`baler bench` opens the meter).
#[derive(Clone, Debug, PartialEq)]
pub enum PowerSource {
    /// The CPU packages' energy counters (RAPL).
    CpuPackages,
    /// The NVIDIA GPU behind this wgpu adapter name (NVML).
    NvidiaGpu {
        /// The adapter's name, as wgpu reports it.
        adapter: String,
    },
    /// The Alveo card's power rails.
    AlveoCard,
    /// None, and why.
    Unavailable(String),
}

/// A device that runs a network on batches of frames.
pub trait Device: Send {
    /// Its description.
    fn info(&self) -> &DeviceInfo;

    /// Runs `input.len() / inputs` frames of normalised values (whole frames); returns the output values,
    /// frame after frame.
    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError>;

    /// Where its energy can be measured: the CPU packages unless it says otherwise.
    fn power_source(&self) -> PowerSource {
        PowerSource::CpuPackages
    }

    /// Cycles of the last batch, for a device that simulates hardware cycle by cycle.
    fn cycles(&self) -> Option<SimulatedCycles> {
        None
    }

    /// An error of this device.
    fn error(&self, message: impl Into<String>) -> DeviceError
    where
        Self: Sized,
    {
        DeviceError {
            device: self.info().name.clone(),
            message: message.into(),
        }
    }
}

/// The number of frames in `input`, or an error of the device if it is not whole frames.
pub(crate) fn whole_frames(info: &DeviceInfo, input: &[f64]) -> Result<usize, DeviceError> {
    if input.len().is_multiple_of(info.inputs) {
        Ok(input.len() / info.inputs)
    } else {
        Err(DeviceError {
            device: info.name.clone(),
            message: format!(
                "{} values are not whole frames of {}",
                input.len(),
                info.inputs
            ),
        })
    }
}

//! `rtl:<project>`: the Verilog IP core that `baler hls --rtl --verilate` simulated, as a device — the Verilated
//! core in a shared library, fed frames as AXI4-Stream beats; each batch also reports its cycles.

use super::csim::check_kernel;
use super::{Device, DeviceError, DeviceInfo, PowerSource, SimulatedCycles};
use baler_core::fixed::FixedFormat;
use baler_core::quantized::QuantizedNetwork;
use baler_hls::rtl::{RtlDeviceDescription, device_library};
use std::ffi::{CStr, c_char, c_double, c_int, c_longlong, c_ulonglong, c_void};
use std::path::Path;

type Open = unsafe extern "C" fn() -> *mut c_void;
type Close = unsafe extern "C" fn(*mut c_void);
type Run = unsafe extern "C" fn(
    *mut c_void,
    *const c_longlong,
    *mut c_longlong,
    c_ulonglong,
    *mut c_double,
) -> c_int;
type Describe = unsafe extern "C" fn() -> *const c_char;

/// The Verilated IP core.
pub struct RtlCore {
    info: DeviceInfo,
    sim: *mut c_void,
    run: Run,
    close: Close,
    input: FixedFormat,
    output: FixedFormat,
    clock_mhz: f64,
    last: Option<SimulatedCycles>,
    // keeps the code of the functions above mapped; dropped last
    _library: libloading::Library,
}

// SAFETY: the simulator instance is only touched through `&mut self`, on one thread at a time.
unsafe impl Send for RtlCore {}

impl RtlCore {
    /// Loads the device library that `baler hls --rtl --verilate` built in the HLS project `project` and checks
    /// that it was built for `network` of the quantised model `model_id`.
    pub fn open(
        project: &Path,
        network: &QuantizedNetwork,
        model_id: &str,
    ) -> Result<Self, DeviceError> {
        let name = format!("rtl:{}", project.display());
        let fail = |message: String| DeviceError {
            device: name.clone(),
            message,
        };
        let file = device_library(project);
        if !file.is_file() {
            return Err(fail(format!(
                "no {}: give the HLS project folder of the encoder and build it with `baler hls --rtl --verilate`",
                file.display()
            )));
        }
        // SAFETY: loading runs the library's initialisers; it is a core that `baler hls --rtl --verilate` built.
        let library = unsafe { libloading::Library::new(&file) }
            .map_err(|e| fail(format!("cannot load {}: {e}", file.display())))?;
        // SAFETY: the generated device file defines these symbols with exactly these C signatures.
        let (describe, open, close, run) = unsafe {
            (
                entry_point::<Describe>(&library, &file, "baler_rtl_description").map_err(fail)?,
                entry_point::<Open>(&library, &file, "baler_rtl_open").map_err(fail)?,
                entry_point::<Close>(&library, &file, "baler_rtl_close").map_err(fail)?,
                entry_point::<Run>(&library, &file, "baler_rtl_run").map_err(fail)?,
            )
        };
        // SAFETY: a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(describe()) }
            .to_string_lossy()
            .into_owned();
        let d: RtlDeviceDescription = serde_json::from_str(&text)
            .map_err(|e| fail(format!("unreadable description {text:?}: {e}")))?;
        let layout = check_kernel(&d.design, network, model_id).map_err(fail)?;
        // SAFETY: a fresh simulator instance, freed by `close` in `drop`.
        let sim = unsafe { open() };
        Ok(RtlCore {
            info: DeviceInfo {
                name,
                detail: format!(
                    "Verilog IP core {} in Verilator ({} MHz design clock)",
                    d.design.kernel, d.clock_mhz
                ),
                model_id: d.design.model_id,
                inputs: d.design.inputs,
                outputs: d.design.outputs,
            },
            sim,
            run,
            close,
            input: layout.input,
            output: layout.output,
            clock_mhz: d.clock_mhz,
            last: None,
            _library: library,
        })
    }
}

/// The function `symbol` of `library` (the file `file`) as `T`.
///
/// # Safety
/// `T` must be the function's C signature.
unsafe fn entry_point<T: Copy>(
    library: &libloading::Library,
    file: &Path,
    symbol: &str,
) -> Result<T, String> {
    // SAFETY: the caller vouches for the signature.
    unsafe { library.get::<T>(symbol.as_bytes()) }
        .map(|f| *f)
        .map_err(|e| format!("{} has no {symbol}(): {e}", file.display()))
}

impl Device for RtlCore {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        let frames = super::whole_frames(&self.info, input)?;
        let codes: Vec<c_longlong> = input
            .iter()
            .map(|&v| self.input.from_f64(v) as c_longlong)
            .collect();
        let mut out: Vec<c_longlong> = vec![0; frames * self.info.outputs];
        let mut figures = [0.0 as c_double; 2];
        // SAFETY: `codes` holds `frames` whole input frames and `out` room for their output frames.
        let status = unsafe {
            (self.run)(
                self.sim,
                codes.as_ptr(),
                out.as_mut_ptr(),
                frames as c_ulonglong,
                figures.as_mut_ptr(),
            )
        };
        match status {
            0 => {}
            1 => return Err(self.error("an output beat had TLAST or TKEEP wrong")),
            _ => {
                return Err(self.error(
                    "the simulated core stopped answering (no output beat for 100,000 cycles)",
                ));
            }
        }
        self.last = Some(SimulatedCycles {
            clock_mhz: self.clock_mhz,
            latency_cycles: figures[0],
            cycles_per_frame: (figures[1] >= 0.0).then_some(figures[1]),
        });
        Ok(out
            .into_iter()
            .map(|c| self.output.value_of(i128::from(c)))
            .collect())
    }

    fn power_source(&self) -> PowerSource {
        PowerSource::Unavailable("a Verilator simulation has no board power".into())
    }

    fn cycles(&self) -> Option<SimulatedCycles> {
        self.last
    }
}

impl Drop for RtlCore {
    fn drop(&mut self) {
        // SAFETY: `sim` came from the library's `open` and is freed once.
        unsafe { (self.close)(self.sim) }
    }
}

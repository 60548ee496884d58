//! `xrt:<manifest>`: an FPGA card through Xilinx XRT's native C API, bound at run time with libloading (no
//! build-time dependency): open the card, load the manifest's checked `.xclbin`, allocate buffers, and run the
//! kernel on chunks of a batch with two buffer sets, so that the next chunk's transfer overlaps the current
//! chunk's run. `BALER_XRT_LIBRARY` names the library (the XRT stand-in in tests), else
//! `$XILINX_XRT/lib/libxrt_coreutil.so`.

use super::codes::{CodeLayout, aligned_bytes, as_bytes_mut};
use super::csim::check_kernel;
use super::manifest::BitstreamManifest;
use super::{Device, DeviceError, DeviceInfo, PowerSource};
use baler_core::quantized::QuantizedNetwork;
use std::ffi::{CString, c_char, c_int, c_uint, c_void};
use std::path::{Path, PathBuf};

type Handle = *mut c_void;
const SYNC_TO_DEVICE: c_int = 0;
const SYNC_FROM_DEVICE: c_int = 1;
const STATE_COMPLETED: c_int = 4;
/// Frames per kernel run; a batch is cut into chunks of this size.
const CHUNK_FRAMES: usize = 4096;

/// The XRT functions used, resolved from the library.
struct Api {
    device_open: unsafe extern "C" fn(c_uint) -> Handle,
    device_close: unsafe extern "C" fn(Handle) -> c_int,
    load_xclbin: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    xclbin_uuid: unsafe extern "C" fn(Handle, *mut u8) -> c_int,
    kernel_open: unsafe extern "C" fn(Handle, *const u8, *const c_char) -> Handle,
    kernel_close: unsafe extern "C" fn(Handle) -> c_int,
    arg_group: unsafe extern "C" fn(Handle, c_int) -> c_int,
    bo_alloc: unsafe extern "C" fn(Handle, usize, u64, u32) -> Handle,
    bo_free: unsafe extern "C" fn(Handle) -> c_int,
    bo_write: unsafe extern "C" fn(Handle, *const c_void, usize, usize) -> c_int,
    bo_read: unsafe extern "C" fn(Handle, *mut c_void, usize, usize) -> c_int,
    bo_sync: unsafe extern "C" fn(Handle, c_int, usize, usize) -> c_int,
    run_open: unsafe extern "C" fn(Handle) -> Handle,
    run_set_arg: unsafe extern "C" fn(Handle, c_int, ...) -> c_int,
    run_start: unsafe extern "C" fn(Handle) -> c_int,
    run_wait: unsafe extern "C" fn(Handle) -> c_int,
    run_close: unsafe extern "C" fn(Handle) -> c_int,
}

/// The XRT library: `$BALER_XRT_LIBRARY`, else XRT's own under `$XILINX_XRT`.
fn library_path() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("BALER_XRT_LIBRARY") {
        return Ok(PathBuf::from(path));
    }
    match std::env::var_os("XILINX_XRT") {
        Some(root) => Ok(Path::new(&root).join("lib/libxrt_coreutil.so")),
        None => Err(
            "XRT is not installed here (XILINX_XRT is not set): install XRT and `source \
                     /opt/xilinx/xrt/setup.sh`, or point BALER_XRT_LIBRARY at an XRT library"
                .into(),
        ),
    }
}

impl Api {
    fn load(library: &libloading::Library) -> Result<Api, String> {
        macro_rules! symbol {
            ($name:literal) => {
                // SAFETY: the signature is the one XRT's headers declare for this C function.
                *unsafe { library.get($name.as_bytes()) }
                    .map_err(|e| format!("the XRT library lacks {}: {e}", $name))?
            };
        }
        Ok(Api {
            device_open: symbol!("xrtDeviceOpen"),
            device_close: symbol!("xrtDeviceClose"),
            load_xclbin: symbol!("xrtDeviceLoadXclbinFile"),
            xclbin_uuid: symbol!("xrtDeviceGetXclbinUUID"),
            kernel_open: symbol!("xrtPLKernelOpen"),
            kernel_close: symbol!("xrtKernelClose"),
            arg_group: symbol!("xrtKernelArgGroupId"),
            bo_alloc: symbol!("xrtBOAlloc"),
            bo_free: symbol!("xrtBOFree"),
            bo_write: symbol!("xrtBOWrite"),
            bo_read: symbol!("xrtBORead"),
            bo_sync: symbol!("xrtBOSync"),
            run_open: symbol!("xrtRunOpen"),
            run_set_arg: symbol!("xrtRunSetArg"),
            run_start: symbol!("xrtRunStart"),
            run_wait: symbol!("xrtRunWait"),
            run_close: symbol!("xrtRunClose"),
        })
    }
}

/// One set of input and output buffers, and the run using them, if any.
struct Slot {
    input: Handle,
    output: Handle,
    run: Option<(Handle, usize, usize)>, // run, first frame, frames
}

/// A card running a baler kernel.
pub struct XrtKernel {
    info: DeviceInfo,
    api: Api,
    device: Handle,
    kernel: Handle,
    slots: Vec<Slot>,
    layout: CodeLayout,
    // keeps the functions in `api` mapped; dropped last
    _library: libloading::Library,
}

// SAFETY: the handles are used from one thread at a time (the device belongs to one stream worker).
unsafe impl Send for XrtKernel {}

impl XrtKernel {
    /// Opens card 0 with the bitstream of `manifest`, checked against its sha256 and against `network` of the
    /// quantised model `model_id`.
    pub fn open(
        manifest: &Path,
        network: &QuantizedNetwork,
        model_id: &str,
    ) -> Result<Self, DeviceError> {
        let name = format!("xrt:{}", manifest.display());
        let fail = |message: String| DeviceError {
            device: name.clone(),
            message,
        };
        let (manifest, xclbin) = BitstreamManifest::load(manifest).map_err(fail)?;
        let layout = check_kernel(&manifest.kernel, network, model_id).map_err(fail)?;
        let path = library_path().map_err(fail)?;
        // SAFETY: loading XRT (or its stand-in) runs its initialisers, as any XRT host program does.
        let library = unsafe { libloading::Library::new(&path) }.map_err(|e| {
            fail(format!(
                "cannot load the XRT library {}: {e}",
                path.display()
            ))
        })?;
        let api = Api::load(&library).map_err(fail)?;
        let c = |s: &str| CString::new(s).map_err(|_| fail(format!("{s:?} contains a NUL byte")));
        let (xclbin_c, kernel_c) = (
            c(&xclbin.display().to_string())?,
            c(&manifest.kernel.kernel)?,
        );
        // SAFETY (all calls below): arguments follow XRT's C API; handles come from the calls before them.
        let device = unsafe { (api.device_open)(0) };
        if device.is_null() {
            return Err(fail(
                "xrtDeviceOpen(0) failed: no card, or no permission to open it".into(),
            ));
        }
        let mut opened = XrtKernel {
            info: DeviceInfo {
                name: name.clone(),
                detail: format!(
                    "{} ({}, {} MHz) via XRT {}",
                    manifest.board,
                    manifest.platform,
                    manifest.clock_mhz,
                    path.display()
                ),
                model_id: manifest.kernel.model_id.clone(),
                inputs: manifest.kernel.inputs,
                outputs: manifest.kernel.outputs,
            },
            api,
            device,
            kernel: std::ptr::null_mut(),
            slots: Vec::new(),
            layout,
            _library: library,
        };
        let api = &opened.api;
        if unsafe { (api.load_xclbin)(device, xclbin_c.as_ptr()) } != 0 {
            return Err(fail(format!(
                "xrtDeviceLoadXclbinFile({}) failed",
                xclbin.display()
            )));
        }
        let mut uuid = [0u8; 16];
        if unsafe { (api.xclbin_uuid)(device, uuid.as_mut_ptr()) } != 0 {
            return Err(fail("xrtDeviceGetXclbinUUID failed".into()));
        }
        opened.kernel = unsafe { (api.kernel_open)(device, uuid.as_ptr(), kernel_c.as_ptr()) };
        if opened.kernel.is_null() {
            return Err(fail(format!(
                "xrtPLKernelOpen({}) failed: the xclbin has no such kernel",
                manifest.kernel.kernel
            )));
        }
        let in_size = CHUNK_FRAMES * opened.info.inputs * layout.input_element.bytes;
        let out_size = CHUNK_FRAMES * opened.info.outputs * layout.output_element.bytes;
        for _ in 0..2 {
            let groups = unsafe {
                (
                    (api.arg_group)(opened.kernel, 0),
                    (api.arg_group)(opened.kernel, 1),
                )
            };
            if groups.0 < 0 || groups.1 < 0 {
                return Err(fail("xrtKernelArgGroupId failed".into()));
            }
            let input = unsafe { (api.bo_alloc)(device, in_size, 0, groups.0 as u32) };
            let output = unsafe { (api.bo_alloc)(device, out_size, 0, groups.1 as u32) };
            let slot = Slot {
                input,
                output,
                run: None,
            };
            let ok = !input.is_null() && !output.is_null();
            opened.slots.push(slot);
            if !ok {
                return Err(fail(format!(
                    "xrtBOAlloc of {in_size} + {out_size} bytes failed"
                )));
            }
        }
        Ok(opened)
    }

    fn call(&self, what: &str, status: c_int) -> Result<(), DeviceError> {
        if status == 0 {
            Ok(())
        } else {
            Err(self.error(format!("{what} failed (status {status})")))
        }
    }

    /// Writes `frames` frames of `input` into slot `s` and starts the kernel on them.
    fn start(
        &mut self,
        s: usize,
        input: &[f64],
        first: usize,
        frames: usize,
    ) -> Result<(), DeviceError> {
        let n = self.info.inputs;
        let bytes = frames * n * self.layout.input_element.bytes;
        let mut buf = aligned_bytes(bytes);
        self.layout.encode(
            &input[first * n..(first + frames) * n],
            as_bytes_mut(&mut buf),
        );
        let (api, input_bo, output_bo) = (&self.api, self.slots[s].input, self.slots[s].output);
        // SAFETY: the buffers were allocated for CHUNK_FRAMES ≥ frames frames; the run's arguments are baler's
        // kernel signature (input buffer, output buffer, unsigned frame count).
        unsafe {
            self.call(
                "xrtBOWrite",
                (api.bo_write)(input_bo, buf.as_ptr().cast(), bytes, 0),
            )?;
            self.call(
                "xrtBOSync(to device)",
                (api.bo_sync)(input_bo, SYNC_TO_DEVICE, bytes, 0),
            )?;
            let run = (api.run_open)(self.kernel);
            if run.is_null() {
                return Err(self.error("xrtRunOpen failed"));
            }
            self.slots[s].run = Some((run, first, frames));
            self.call("xrtRunSetArg(in)", (api.run_set_arg)(run, 0, input_bo))?;
            self.call("xrtRunSetArg(out)", (api.run_set_arg)(run, 1, output_bo))?;
            self.call(
                "xrtRunSetArg(frames)",
                (api.run_set_arg)(run, 2, frames as c_uint),
            )?;
            self.call("xrtRunStart", (api.run_start)(run))
        }
    }

    /// Waits for slot `s`'s run and returns its output values with the first frame's index.
    fn finish(&mut self, s: usize) -> Result<Option<(usize, Vec<f64>)>, DeviceError> {
        let Some((run, first, frames)) = self.slots[s].run.take() else {
            return Ok(None);
        };
        let api = &self.api;
        let bytes = frames * self.info.outputs * self.layout.output_element.bytes;
        let mut buf = aligned_bytes(bytes);
        // SAFETY: `run` was started on this slot's buffers; the output buffer holds `frames` frames.
        unsafe {
            let state = (api.run_wait)(run);
            (api.run_close)(run);
            if state != STATE_COMPLETED {
                return Err(self.error(format!("the kernel run on frames {first}..{} ended in state {state}, not COMPLETED (4)", first + frames)));
            }
            let output = self.slots[s].output;
            self.call(
                "xrtBOSync(from device)",
                (api.bo_sync)(output, SYNC_FROM_DEVICE, bytes, 0),
            )?;
            self.call(
                "xrtBORead",
                (api.bo_read)(output, buf.as_mut_ptr().cast(), bytes, 0),
            )?;
        }
        Ok(Some((
            first,
            self.layout.decode(&as_bytes_mut(&mut buf)[..bytes]),
        )))
    }
}

impl Device for XrtKernel {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn power_source(&self) -> PowerSource {
        PowerSource::AlveoCard
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        let outputs = self.info.outputs;
        let frames = super::whole_frames(&self.info, input)?;
        let mut output = vec![0.0; frames * outputs];
        let mut place = |(first, values): (usize, Vec<f64>)| {
            output[first * outputs..first * outputs + values.len()].copy_from_slice(&values);
        };
        // chunk k uses slot k % 2: while it runs, chunk k+1 is encoded and transferred into the other slot
        for (k, first) in (0..frames).step_by(CHUNK_FRAMES).enumerate() {
            let s = k % 2;
            if let Some(done) = self.finish(s)? {
                place(done);
            }
            self.start(s, input, first, CHUNK_FRAMES.min(frames - first))?;
        }
        for k in 0..2 {
            // the older run first: results stay in order
            let s = (frames.div_ceil(CHUNK_FRAMES) + k) % 2;
            if let Some(done) = self.finish(s)? {
                place(done);
            }
        }
        Ok(output)
    }
}

impl Drop for XrtKernel {
    fn drop(&mut self) {
        let api = &self.api;
        // SAFETY: every handle was returned by XRT and is released once.
        unsafe {
            for slot in &self.slots {
                if let Some((run, ..)) = slot.run {
                    (api.run_wait)(run);
                    (api.run_close)(run);
                }
                for bo in [slot.input, slot.output] {
                    if !bo.is_null() {
                        (api.bo_free)(bo);
                    }
                }
            }
            if !self.kernel.is_null() {
                (api.kernel_close)(self.kernel);
            }
            (api.device_close)(self.device);
        }
    }
}

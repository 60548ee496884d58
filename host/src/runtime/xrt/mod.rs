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
mod api;

use api::{BufferHandle, DeviceHandle, KernelHandle, RunHandle, STATE_COMPLETED, XrtApi};
use std::ffi::{CString, c_int};
use std::path::{Path, PathBuf};

/// Frames per kernel run; a batch is cut into chunks of this size.
const CHUNK_FRAMES: usize = 4096;

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

/// One set of input and output buffers, and the run using them, if any.
struct Slot {
    input: BufferHandle,
    output: BufferHandle,
    run: Option<(RunHandle, usize, usize)>, // run, first frame, frames
}

/// A card running a baler kernel. Its handles are released in `Drop` (an `Option` so that a half-opened card is
/// released too).
pub struct XrtKernel {
    info: DeviceInfo,
    layout: CodeLayout,
    slots: Vec<Slot>,
    kernel: Option<KernelHandle>,
    device: Option<DeviceHandle>,
    api: XrtApi,
}

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
        let api = XrtApi::load(&path).map_err(fail)?;
        let c = |s: &str| CString::new(s).map_err(|_| fail(format!("{s:?} contains a NUL byte")));
        let (xclbin_c, kernel_c) = (
            c(&xclbin.display().to_string())?,
            c(&manifest.kernel.kernel)?,
        );
        let device = api.device_open(0).ok_or_else(|| {
            fail("xrtDeviceOpen(0) failed: no card, or no permission to open it".into())
        })?;
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
            layout,
            slots: Vec::new(),
            kernel: None,
            device: Some(device),
            api,
        };
        let (api, device) = (&opened.api, opened.device.as_ref().expect("opened above"));
        if api.load_xclbin(device, &xclbin_c) != 0 {
            return Err(fail(format!(
                "xrtDeviceLoadXclbinFile({}) failed",
                xclbin.display()
            )));
        }
        let uuid = api
            .xclbin_uuid(device)
            .map_err(|status| fail(format!("xrtDeviceGetXclbinUUID failed (status {status})")))?;
        let kernel = api.kernel_open(device, &uuid, &kernel_c).ok_or_else(|| {
            fail(format!(
                "xrtPLKernelOpen({}) failed: the xclbin has no such kernel",
                manifest.kernel.kernel
            ))
        })?;
        let groups = (api.arg_group(&kernel, 0), api.arg_group(&kernel, 1));
        let in_size = CHUNK_FRAMES * opened.info.inputs * layout.input_element.bytes;
        let out_size = CHUNK_FRAMES * opened.info.outputs * layout.output_element.bytes;
        let mut slots = Vec::new();
        let mut buffers_ok = groups.0 >= 0 && groups.1 >= 0;
        for _ in 0..2 {
            if !buffers_ok {
                break;
            }
            let input = api.bo_alloc(device, in_size, groups.0 as u32);
            let output = api.bo_alloc(device, out_size, groups.1 as u32);
            match (input, output) {
                (Some(input), Some(output)) => slots.push(Slot {
                    input,
                    output,
                    run: None,
                }),
                (input, output) => {
                    input
                        .into_iter()
                        .chain(output)
                        .for_each(|bo| api.bo_free(bo));
                    buffers_ok = false;
                }
            }
        }
        opened.kernel = Some(kernel);
        opened.slots = slots;
        if groups.0 < 0 || groups.1 < 0 {
            return Err(fail("xrtKernelArgGroupId failed".into()));
        }
        if !buffers_ok {
            return Err(fail(format!(
                "xrtBOAlloc of {in_size} + {out_size} bytes failed"
            )));
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
        let (api, slot) = (&self.api, &self.slots[s]);
        let kernel = self.kernel.as_ref().expect("an opened card has its kernel");
        self.call(
            "xrtBOWrite and xrtBOSync(to device)",
            api.write_to_device(&slot.input, &as_bytes_mut(&mut buf)[..bytes]),
        )?;
        let run = api
            .run_open(kernel)
            .ok_or_else(|| self.error("xrtRunOpen failed"))?;
        // the arguments in order, then the start; the first failure is reported
        let status = [
            ("xrtRunSetArg(in)", api.run_set_buffer(&run, 0, &slot.input)),
            (
                "xrtRunSetArg(out)",
                api.run_set_buffer(&run, 1, &slot.output),
            ),
            (
                "xrtRunSetArg(frames)",
                api.run_set_u32(&run, 2, frames as u32),
            ),
        ]
        .into_iter()
        .find(|(_, status)| *status != 0)
        .unwrap_or_else(|| ("xrtRunStart", api.run_start(&run)));
        self.slots[s].run = Some((run, first, frames));
        self.call(status.0, status.1)
    }

    /// Waits for slot `s`'s run and returns its output values with the first frame's index.
    fn finish(&mut self, s: usize) -> Result<Option<(usize, Vec<f64>)>, DeviceError> {
        let Some((run, first, frames)) = self.slots[s].run.take() else {
            return Ok(None);
        };
        let bytes = frames * self.info.outputs * self.layout.output_element.bytes;
        let mut buf = aligned_bytes(bytes);
        let state = self.api.run_finish(run);
        if state != STATE_COMPLETED {
            return Err(self.error(format!(
                "the kernel run on frames {first}..{} ended in state {state}, not COMPLETED ({STATE_COMPLETED})",
                first + frames
            )));
        }
        self.call(
            "xrtBOSync(from device) and xrtBORead",
            self.api
                .read_from_device(&self.slots[s].output, &mut as_bytes_mut(&mut buf)[..bytes]),
        )?;
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
        for slot in self.slots.drain(..) {
            if let Some((run, ..)) = slot.run {
                self.api.run_finish(run);
            }
            self.api.bo_free(slot.input);
            self.api.bo_free(slot.output);
        }
        if let Some(kernel) = self.kernel.take() {
            self.api.kernel_close(kernel);
        }
        if let Some(device) = self.device.take() {
            self.api.device_close(device);
        }
    }
}

//! `csim:<library>`: the Vitis kernel that `baler hls --csim` compiles with g++ into a shared library, loaded at
//! run time and called through its `extern "C"` entry point — the same buffers of integer codes a card gets.

use super::codes::{CodeLayout, aligned_bytes, as_bytes_mut};
use super::{Device, DeviceError, DeviceInfo, PowerSource};
use baler_core::quantized::QuantizedNetwork;
use baler_hls::KernelDescription;
use std::ffi::{CStr, c_char, c_void};
use std::path::{Path, PathBuf};

type Kernel = unsafe extern "C" fn(*const c_void, *mut c_void, u32);
type Describe = unsafe extern "C" fn() -> *const c_char;

/// The C-simulated kernel.
pub struct CsimKernel {
    info: DeviceInfo,
    kernel: Kernel,
    layout: CodeLayout,
    // keeps the code of `kernel` mapped; dropped last
    _library: libloading::Library,
}

/// The library of `path`: the file itself, or the one `baler hls --csim` built in an HLS project folder.
pub fn library_path(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    std::fs::read_dir(path.join("build/csim"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("lib") && n.ends_with(".so"))
        })
}

/// The buffer layout of a kernel described by `d`, if it was built for `network` of the model `model_id`.
pub fn check_kernel(
    d: &KernelDescription,
    network: &QuantizedNetwork,
    model_id: &str,
) -> Result<CodeLayout, String> {
    let parse = |f: &str| {
        f.parse()
            .map_err(|_| format!("kernel format {f} does not parse"))
    };
    let (input, output) = (parse(&d.input_format)?, parse(&d.output_format)?);
    let element = |c: &str| {
        super::codes::Element::parse(c)
            .ok_or_else(|| format!("kernel buffer type {c} is not a C integer"))
    };
    let (input_element, output_element) =
        (element(&d.input_container)?, element(&d.output_container)?);
    let inputs: usize = network.input_shape.iter().product();
    let outputs: usize = network
        .spec()
        .output_shape()
        .map_or(0, |s| s.iter().product());
    let matches = d.model_id.as_deref() == Some(model_id)
        && (d.inputs, d.outputs) == (inputs, outputs)
        && input == network.input
        && output == network.output();
    if !matches {
        return Err(format!(
            "the kernel was built for model {} ({} → {} values, {input} → {output}), this model is {model_id} \
             ({inputs} → {outputs}, {} → {}): build it for this model with `baler hls`",
            d.model_id.as_deref().unwrap_or("(none)"),
            d.inputs,
            d.outputs,
            network.input,
            network.output()
        ));
    }
    Ok(CodeLayout {
        input,
        input_element,
        output,
        output_element,
    })
}

impl CsimKernel {
    /// Loads the kernel library at `path` (or in the HLS project folder `path`) and checks that it was built
    /// for `network` of the quantised model `model_id`.
    pub fn open(
        path: &Path,
        network: &QuantizedNetwork,
        model_id: &str,
    ) -> Result<Self, DeviceError> {
        let name = format!("csim:{}", path.display());
        let fail = |message: String| DeviceError {
            device: name.clone(),
            message,
        };
        let file = library_path(path).ok_or_else(|| {
            fail("no kernel library there: give the lib<name>.so or the HLS project folder that `baler hls --csim` built".into())
        })?;
        // SAFETY: loading runs the library's initialisers; it is a kernel that `baler hls --csim` compiled.
        let library = unsafe { libloading::Library::new(&file) }
            .map_err(|e| fail(format!("cannot load {}: {e}", file.display())))?;
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let symbol = format!(
            "{}_kernel_description",
            stem.strip_prefix("lib").unwrap_or(stem)
        );
        // SAFETY: the generated kernel file defines this symbol as `const char* f(void)` returning a static string.
        let text = unsafe {
            let describe: libloading::Symbol<Describe> = library
                .get(symbol.as_bytes())
                .map_err(|e| fail(format!("{} has no {symbol}(): {e}", file.display())))?;
            CStr::from_ptr(describe()).to_string_lossy().into_owned()
        };
        let d: KernelDescription = serde_json::from_str(&text)
            .map_err(|e| fail(format!("unreadable kernel description {text:?}: {e}")))?;
        let layout = check_kernel(&d, network, model_id).map_err(fail)?;
        // SAFETY: the generated kernel is `extern "C" void k(const intN_t* in, intM_t* out, unsigned int frames)`;
        // typed pointers and `void*` share the C ABI.
        let kernel = unsafe {
            *library
                .get::<Kernel>(d.kernel.as_bytes())
                .map_err(|e| fail(format!("{} has no {}(): {e}", file.display(), d.kernel)))?
        };
        Ok(CsimKernel {
            info: DeviceInfo {
                name,
                detail: format!("C-simulated HLS kernel {} ({})", d.kernel, file.display()),
                model_id: d.model_id,
                inputs: d.inputs,
                outputs: d.outputs,
            },
            kernel,
            layout,
            _library: library,
        })
    }
}

impl Device for CsimKernel {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        let outputs = self.info.outputs;
        let frames = super::whole_frames(&self.info, input)?;
        let count = u32::try_from(frames)
            .map_err(|_| self.error(format!("{frames} frames in one batch: at most 2^32 - 1")))?;
        let mut in_buf = aligned_bytes(input.len() * self.layout.input_element.bytes);
        self.layout.encode(input, as_bytes_mut(&mut in_buf));
        let out_len = frames * outputs * self.layout.output_element.bytes;
        let mut out_buf = aligned_bytes(out_len);
        // SAFETY: both buffers hold `frames` whole frames of the kernel's element types (checked at open).
        unsafe { (self.kernel)(in_buf.as_ptr().cast(), out_buf.as_mut_ptr().cast(), count) };
        Ok(self.layout.decode(&as_bytes_mut(&mut out_buf)[..out_len]))
    }

    fn power_source(&self) -> PowerSource {
        PowerSource::Unavailable("a C simulation has no board power".into())
    }
}

//! `csim:<library>`: the Vitis kernel that `baler hls --csim` compiles with g++ into a shared library, loaded at
//! run time and called through its `extern "C"` entry point — the same buffers of integer codes a card gets.

use super::{Device, DeviceError, DeviceInfo};
use baler_core::fixed::FixedFormat;
use baler_core::quantized::QuantizedNetwork;
use std::ffi::{CStr, c_char, c_void};
use std::path::{Path, PathBuf};

type Kernel = unsafe extern "C" fn(*const c_void, *mut c_void, u32);
type Describe = unsafe extern "C" fn() -> *const c_char;

/// The kernel's description, as `<kernel>_description()` returns it.
#[derive(serde::Deserialize)]
struct Description {
    kernel: String,
    model_id: Option<String>,
    inputs: usize,
    outputs: usize,
    input_format: String,
    output_format: String,
    input_container: String,
    output_container: String,
}

/// Bytes of a buffer element: `int16_t` → 2; signedness from the prefix.
fn container(name: &str) -> Option<(usize, bool)> {
    let signed = !name.starts_with('u');
    let bits: usize = name
        .trim_start_matches('u')
        .strip_prefix("int")?
        .strip_suffix("_t")?
        .parse()
        .ok()?;
    matches!(bits, 8 | 16 | 32 | 64).then_some((bits / 8, signed))
}

/// The C-simulated kernel.
pub struct CsimKernel {
    info: DeviceInfo,
    kernel: Kernel,
    input: FixedFormat,
    output: FixedFormat,
    input_bytes: usize,
    output_bytes: (usize, bool),
    // keeps the code of `kernel` mapped; dropped last
    _library: libloading::Library,
}

/// The library of `path`: the file itself, or the one `baler hls --csim` built in an HLS project folder.
fn library_path(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    let build = path.join("build/csim");
    std::fs::read_dir(&build)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("lib") && n.ends_with(".so"))
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
        let design = stem.strip_prefix("lib").unwrap_or(stem);
        let symbol = format!("{design}_kernel_description");
        // SAFETY: the generated kernel file defines this symbol as `const char* f(void)` returning a static string.
        let text = unsafe {
            let describe: libloading::Symbol<Describe> = library
                .get(symbol.as_bytes())
                .map_err(|e| fail(format!("{} has no {symbol}(): {e}", file.display())))?;
            CStr::from_ptr(describe()).to_string_lossy().into_owned()
        };
        let d: Description = serde_json::from_str(&text)
            .map_err(|e| fail(format!("unreadable kernel description {text:?}: {e}")))?;
        let formats = (
            d.input_format.parse::<FixedFormat>(),
            d.output_format.parse::<FixedFormat>(),
        );
        let (Ok(input), Ok(output)) = formats else {
            return Err(fail(format!(
                "kernel formats {} / {} do not parse",
                d.input_format, d.output_format
            )));
        };
        let (Some((input_bytes, _)), Some(output_bytes)) = (
            container(&d.input_container),
            container(&d.output_container),
        ) else {
            return Err(fail(format!(
                "kernel buffer types {} / {} are not C integers",
                d.input_container, d.output_container
            )));
        };
        let inputs: usize = network.input_shape.iter().product();
        let outputs: usize = network
            .spec()
            .output_shape()
            .map_or(0, |s| s.iter().product());
        if d.model_id.as_deref() != Some(model_id)
            || (d.inputs, d.outputs) != (inputs, outputs)
            || input != network.input
            || output != network.output()
        {
            return Err(fail(format!(
                "the kernel was built for model {} ({} → {} values, {input} → {output}), this model is {model_id} \
                 ({inputs} → {outputs}, {} → {}): run `baler hls --csim` for this model",
                d.model_id.as_deref().unwrap_or("(none)"),
                d.inputs,
                d.outputs,
                network.input,
                network.output()
            )));
        }
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
                inputs,
                outputs,
            },
            kernel,
            input,
            output,
            input_bytes,
            output_bytes,
            _library: library,
        })
    }
}

impl Device for CsimKernel {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn run(&mut self, input: &[f64]) -> Result<Vec<f64>, DeviceError> {
        let (inputs, outputs) = (self.info.inputs, self.info.outputs);
        if !input.len().is_multiple_of(inputs) {
            return Err(self.error(format!(
                "{} values are not whole frames of {inputs}",
                input.len()
            )));
        }
        let frames = input.len() / inputs;
        let frames_u32 = u32::try_from(frames)
            .map_err(|_| self.error(format!("{frames} frames in one batch: at most 2^32 - 1")))?;
        // little-endian codes in buffers aligned for the widest element
        let mut in_buf = vec![0u64; (input.len() * self.input_bytes).div_ceil(8)];
        let in_bytes = bytemuck_bytes_mut(&mut in_buf);
        for (value, slot) in input
            .iter()
            .zip(in_bytes.chunks_exact_mut(self.input_bytes))
        {
            let code = self.input.from_f64(*value) as i64;
            slot.copy_from_slice(&code.to_le_bytes()[..self.input_bytes]);
        }
        let (out_size, signed) = self.output_bytes;
        let mut out_buf = vec![0u64; (frames * outputs * out_size).div_ceil(8)];
        // SAFETY: both buffers hold `frames` whole frames of the kernel's element types (checked at open).
        unsafe {
            (self.kernel)(
                in_buf.as_ptr().cast(),
                out_buf.as_mut_ptr().cast(),
                frames_u32,
            )
        };
        let out_bytes = bytemuck_bytes_mut(&mut out_buf);
        Ok(out_bytes[..frames * outputs * out_size]
            .chunks_exact(out_size)
            .map(|b| {
                let mut word = [0u8; 8];
                word[..out_size].copy_from_slice(b);
                let raw = u64::from_le_bytes(word);
                let code = if signed {
                    // sign-extend from the element's width
                    let shift = 64 - 8 * out_size as u32;
                    (((raw << shift) as i64) >> shift) as i128
                } else {
                    raw as i128
                };
                self.output.value_of(code)
            })
            .collect())
    }
}

/// The bytes of a `u64` buffer.
fn bytemuck_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: u8 has no alignment or validity requirements; the length covers exactly the words.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
}

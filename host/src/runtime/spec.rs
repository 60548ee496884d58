//! The device a user names (`cpu-f32`, `gpu`, `cpu-fixed`, `csim:<path>`, `rtl:<project>`, `xrt:<manifest>`,
//! `serial:<port>?…`, `loopback`), parsed once into a `DeviceSpec`, and the functions that open it with a model's encoder or decoder.

use super::serial::{SerialDevice, SerialSpec};
use super::{CpuFixed, CsimKernel, Device, DeviceError, Loopback, RtlCore, XrtKernel};
use crate::error::{Error, Result};
use crate::model::{AnyDecoder, Model, ModelKind, QuantizedModel};
use baler_core::quantized::QuantizedNetwork;
use baler_core::{LayerParams, ModelId, NetworkSpec};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Every device name, for help texts and errors.
pub const DEVICE_NAMES: &str = "cpu-f32, gpu (wgpu feature), cpu-fixed, \
                                csim:<kernel library or HLS project folder>, rtl:<HLS project folder>, \
                                xrt:<bitstream manifest>, \
                                serial:<port or twin>?baud=<bits per second>, loopback";

/// A device, as named on the command line or in a recorded benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The float encoder on the CPU.
    CpuF32,
    /// The float encoder on a GPU through burn's wgpu backend.
    Gpu,
    /// The quantised encoder in the bit-exact reference.
    CpuFixed,
    /// The quantised encoder as the C-simulated HLS kernel: a shared library or an HLS project folder.
    Csim(PathBuf),
    /// The quantised encoder as the Verilog IP core in Verilator: the HLS project folder of `baler hls --rtl
    /// --verilate`.
    Rtl(PathBuf),
    /// The quantised encoder on a card through XRT: a bitstream manifest.
    Xrt(PathBuf),
    /// The quantised encoder on a board over a serial link: what follows `serial:` (a port, or `twin` for an
    /// emulated board, and its settings; see [`SerialSpec::parse`]).
    Serial(String),
    /// No encoder: the frames come back as they went (the streaming path alone).
    Loopback,
}

impl DeviceSpec {
    /// The device that runs a `kind` of model when none is named: `cpu-f32` (the fastest float network on any
    /// CPU) or `cpu-fixed`.
    pub fn default_for(kind: ModelKind) -> DeviceSpec {
        match kind {
            ModelKind::Float => DeviceSpec::CpuF32,
            ModelKind::Quantized => DeviceSpec::CpuFixed,
        }
    }

    /// The kind of model it runs (the loopback reads the float model's frame size).
    pub fn model_kind(&self) -> ModelKind {
        match self {
            DeviceSpec::CpuF32 | DeviceSpec::Gpu | DeviceSpec::Loopback => ModelKind::Float,
            DeviceSpec::CpuFixed
            | DeviceSpec::Csim(_)
            | DeviceSpec::Rtl(_)
            | DeviceSpec::Xrt(_)
            | DeviceSpec::Serial(_) => ModelKind::Quantized,
        }
    }
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(name: &str) -> std::result::Result<Self, DeviceError> {
        let path = |p: &str| {
            if p.is_empty() {
                Err(DeviceError {
                    device: name.into(),
                    message: "a path must follow the colon".into(),
                })
            } else {
                Ok(PathBuf::from(p))
            }
        };
        match name.split_once(':') {
            None => match name {
                "cpu-f32" => Ok(DeviceSpec::CpuF32),
                "gpu" => Ok(DeviceSpec::Gpu),
                "cpu-fixed" => Ok(DeviceSpec::CpuFixed),
                "loopback" => Ok(DeviceSpec::Loopback),
                _ => Err(DeviceError {
                    device: name.into(),
                    message: format!("unknown device; the devices are {DEVICE_NAMES}"),
                }),
            },
            Some(("csim", p)) => Ok(DeviceSpec::Csim(path(p)?)),
            Some(("rtl", p)) => Ok(DeviceSpec::Rtl(path(p)?)),
            Some(("xrt", p)) => Ok(DeviceSpec::Xrt(path(p)?)),
            Some(("serial", rest)) => match SerialSpec::parse(rest) {
                Ok(_) => Ok(DeviceSpec::Serial(rest.into())),
                Err(message) => Err(DeviceError {
                    device: name.into(),
                    message,
                }),
            },
            Some(_) => Err(DeviceError {
                device: name.into(),
                message: format!("unknown device; the devices are {DEVICE_NAMES}"),
            }),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::CpuF32 => write!(f, "cpu-f32"),
            DeviceSpec::Gpu => write!(f, "gpu"),
            DeviceSpec::CpuFixed => write!(f, "cpu-fixed"),
            DeviceSpec::Csim(p) => write!(f, "csim:{}", p.display()),
            DeviceSpec::Rtl(p) => write!(f, "rtl:{}", p.display()),
            DeviceSpec::Xrt(p) => write!(f, "xrt:{}", p.display()),
            DeviceSpec::Serial(rest) => write!(f, "serial:{rest}"),
            DeviceSpec::Loopback => write!(f, "loopback"),
        }
    }
}

impl serde::Serialize for DeviceSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DeviceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Opens `spec` with the encoder of the model in `model_dir`: the float model for `cpu-f32`, `gpu` and
/// `loopback`, the quantised one (from `baler quantize`) for the others.
pub fn open(spec: &DeviceSpec, model_dir: &Path) -> Result<Box<dyn Device>> {
    match spec.model_kind() {
        ModelKind::Float => {
            let m = Model::load(model_dir)?;
            open_float(spec, &m.encoder, &m.encoder_params, m.decoder.id)
        }
        ModelKind::Quantized => {
            let m = QuantizedModel::load(model_dir)?;
            open_quantized(spec, &m.encoder, m.decoder.id)
        }
    }
}

/// [`open`] for a model whose decoder is loaded already: the quantised decoder is not read again.
pub fn open_encoder(
    spec: &DeviceSpec,
    model_dir: &Path,
    decoder: &AnyDecoder,
) -> Result<Box<dyn Device>> {
    match (spec.model_kind(), decoder) {
        (ModelKind::Quantized, AnyDecoder::Quantized(d)) => {
            let encoder = QuantizedModel::load_encoder(model_dir, d)?;
            open_quantized(spec, &encoder, d.id)
        }
        _ => open(spec, model_dir),
    }
}

/// Opens `spec` with a decoder (for decompression): the float one on `cpu-f32` or `gpu`, the quantised one on
/// `cpu-fixed` or a decoder kernel (`csim:`, `xrt:`). The loopback has no decoder.
pub fn open_decoder(spec: &DeviceSpec, decoder: &AnyDecoder) -> Result<Box<dyn Device>> {
    if spec.model_kind() != decoder.kind() {
        return Err(wrong_model(spec, decoder.kind()));
    }
    if *spec == DeviceSpec::Loopback {
        return Err(Error::Mismatch(
            "device loopback runs no decoder: decompress on cpu-f32 or gpu".into(),
        ));
    }
    match decoder {
        AnyDecoder::Float(d) => open_float(spec, &d.network, &d.params, d.id),
        AnyDecoder::Quantized(d) => open_quantized(spec, &d.network, d.id),
    }
}

/// Opens a float-model device (`cpu-f32`, `gpu`, `loopback`) running `network` with `params` (either half of
/// the model `id`).
pub fn open_float(
    spec: &DeviceSpec,
    network: &NetworkSpec,
    params: &[LayerParams],
    id: ModelId,
) -> Result<Box<dyn Device>> {
    #[cfg(not(feature = "train"))]
    let _ = (params, id); // only cpu-f32 and gpu, which need burn, use them
    Ok(match spec {
        #[cfg(feature = "train")]
        DeviceSpec::CpuF32 => Box::new(super::CpuFloat::new(network, params, id)?),
        #[cfg(feature = "wgpu")]
        DeviceSpec::Gpu => Box::new(super::GpuFloat::new(network, params, id)?),
        DeviceSpec::Loopback => Box::new(Loopback::new(network.input_shape.iter().product())),
        #[cfg(not(feature = "train"))]
        DeviceSpec::CpuF32 => return Err(not_built(spec, "train")),
        #[cfg(not(feature = "wgpu"))]
        DeviceSpec::Gpu => return Err(not_built(spec, "wgpu")),
        _ => return Err(wrong_model(spec, ModelKind::Float)),
    })
}

/// Opens a quantised-model device (`cpu-fixed`, `csim:`, `rtl:`, `xrt:`, `serial:`) running `network` (either half of the
/// quantised model `id`).
pub fn open_quantized(
    spec: &DeviceSpec,
    network: &QuantizedNetwork,
    id: ModelId,
) -> Result<Box<dyn Device>> {
    let model_id = id;
    let id = id.to_string();
    Ok(match spec {
        DeviceSpec::CpuFixed => Box::new(CpuFixed::new(network.clone(), &id)),
        DeviceSpec::Csim(path) => Box::new(CsimKernel::open(path, network, &id)?),
        DeviceSpec::Rtl(project) => Box::new(RtlCore::open(project, network, &id)?),
        DeviceSpec::Xrt(manifest) => Box::new(XrtKernel::open(manifest, network, &id)?),
        DeviceSpec::Serial(rest) => {
            let serial = SerialSpec::parse(rest).map_err(|message| DeviceError {
                device: spec.to_string(),
                message,
            })?;
            Box::new(SerialDevice::open(&serial, network, model_id)?)
        }
        _ => return Err(wrong_model(spec, ModelKind::Quantized)),
    })
}

/// The error for a device this build leaves out.
#[allow(dead_code)] // unused when every feature is on
fn not_built(spec: &DeviceSpec, feature: &str) -> Error {
    Error::Mismatch(format!(
        "device {spec}: this build has no {spec} device (rebuild with --features {feature})"
    ))
}

/// The error for a device asked to run the other kind of model.
pub fn wrong_model(spec: &DeviceSpec, asked: ModelKind) -> Error {
    match asked {
        ModelKind::Float => Error::Mismatch(format!(
            "device {spec} runs the quantised model (from `baler quantize`): add --fixed, or use cpu-f32 or gpu"
        )),
        ModelKind::Quantized => Error::Mismatch(format!(
            "device {spec} runs the float model: drop --fixed, or with --fixed use cpu-fixed, csim:<…>, rtl:<…>, xrt:<…> \
             or serial:<…>"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_and_prints_back() {
        for name in [
            "cpu-f32",
            "gpu",
            "cpu-fixed",
            "csim:hls/encoder",
            "rtl:hls/encoder",
            "xrt:bitstreams/a.json",
            "serial:/dev/ttyUSB0?baud=921600",
            "serial:twin?baud=3000000&flip=1e-4&window=8",
            "loopback",
        ] {
            let spec: DeviceSpec = name.parse().unwrap();
            assert_eq!(spec.to_string(), name);
        }
        for bad in ["fpga", "pcie:0", "CPU-F32"] {
            let err = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(err.contains(bad) && err.contains("cpu-f32, gpu"), "{err}");
        }
        let err = "csim:".parse::<DeviceSpec>().unwrap_err().to_string();
        assert!(err.contains("a path must follow the colon"), "{err}");
        for (bad, says) in [
            ("serial:", "a port must follow"),
            ("serial:/dev/ttyS0?baud=9", "at least 300"),
            ("serial:/dev/ttyS0?flip=1e-3", "for serial:twin"),
            ("serial:twin?drop=2", "from 0 to 1"),
            ("serial:twin?speed=9600", "unknown setting 'speed'"),
        ] {
            let err = bad.parse::<DeviceSpec>().unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert_eq!(
            DeviceSpec::Csim("x".into()).model_kind(),
            ModelKind::Quantized
        );
    }
}

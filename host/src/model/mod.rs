//! Models on disk, apart from what computes with them: the float model (JSON + safetensors) and its fixed-point
//! version side by side in one folder, every JSON file in one envelope, every count checked on load.

mod envelope;
pub mod float;
pub mod quantized;
mod signature;

use crate::error::Result;
use baler_core::fixed::FixedFormat;
use baler_core::{ModelId, Normalization};
use std::path::{Path, PathBuf};

pub use float::{Decoder, Model, restamp_ids};
pub use quantized::{QuantizedDecoder, QuantizedModel};
pub use signature::DataSignature;

/// Float decoder description.
pub const DECODER_JSON: &str = "decoder.json";
/// Float decoder weights.
pub const DECODER_WEIGHTS: &str = "decoder.safetensors";
/// Float encoder description.
pub const ENCODER_JSON: &str = "encoder.json";
/// Float encoder weights.
pub const ENCODER_WEIGHTS: &str = "encoder.safetensors";
/// Quantised decoder (written by `baler quantize`).
pub const QUANTIZED_DECODER: &str = "quantized-decoder.json";
/// Quantised encoder.
pub const QUANTIZED_ENCODER: &str = "quantized-encoder.json";
/// The quantised decoder packed for sending: what a receiver needs and R_actual counts.
pub const QUANTIZED_DECODER_PACKED: &str = "quantized-decoder.pack";

/// Which model runs: the trained float model, or its fixed-point version from `baler quantize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelKind {
    /// `encoder.*` and `decoder.*`, in f32.
    #[default]
    Float,
    /// `quantized-encoder.json` and `quantized-decoder.json`, bit-exact fixed point.
    Quantized,
}

/// What compressing and decompressing need to know of a decoder, float and quantised alike.
pub trait DecoderFacts {
    /// The model id written into compressed files.
    fn id(&self) -> ModelId;
    /// The layout of the data it restores.
    fn data(&self) -> &DataSignature;
    /// The normalisation the encoder expects and the decoder undoes.
    fn normalization(&self) -> &Normalization;
    /// Latent values per sample.
    fn latent(&self) -> usize;
    /// The fixed-point format the decoder reads the latent in (the quantised decoder's).
    fn latent_format(&self) -> Option<FixedFormat>;
}

/// Both decoders keep these facts in fields of the same names.
macro_rules! decoder_facts {
    ($($decoder:ty => $format:expr),*) => {$(
        impl DecoderFacts for $decoder {
            fn latent_format(&self) -> Option<FixedFormat> {
                $format(self)
            }
            fn id(&self) -> ModelId {
                self.id
            }
            fn data(&self) -> &DataSignature {
                &self.data
            }
            fn normalization(&self) -> &Normalization {
                &self.normalization
            }
            fn latent(&self) -> usize {
                <$decoder>::latent(self)
            }
        }
    )*};
}
decoder_facts!(
    Decoder => |_: &Decoder| None,
    QuantizedDecoder => |d: &QuantizedDecoder| Some(d.network.input)
);

/// The decoder of either kind of model.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyDecoder {
    /// The float decoder.
    Float(Decoder),
    /// The fixed-point decoder.
    Quantized(QuantizedDecoder),
}

impl AnyDecoder {
    /// Reads and checks the `kind` of decoder in a model folder.
    pub fn load(dir: &Path, kind: ModelKind) -> Result<Self> {
        Ok(match kind {
            ModelKind::Float => AnyDecoder::Float(Decoder::load(dir)?),
            ModelKind::Quantized => AnyDecoder::Quantized(QuantizedDecoder::load(dir)?),
        })
    }

    /// The files of the `kind` of decoder a receiver needs besides the compressed data (for R_actual).
    pub fn files(dir: &Path, kind: ModelKind) -> Vec<PathBuf> {
        match kind {
            ModelKind::Float => vec![dir.join(DECODER_JSON), dir.join(DECODER_WEIGHTS)],
            // a folder quantised before the packed decoder existed has only the JSON
            ModelKind::Quantized => match dir.join(QUANTIZED_DECODER_PACKED) {
                packed if packed.exists() => vec![packed],
                _ => vec![dir.join(QUANTIZED_DECODER)],
            },
        }
    }

    /// The bytes of [`AnyDecoder::files`]: what a receiver needs besides the compressed data (for R_actual).
    pub fn files_bytes(dir: &Path, kind: ModelKind) -> crate::Result<u64> {
        Self::files(dir, kind)
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .map(|m| m.len())
                    .map_err(crate::Error::io(p))
            })
            .sum()
    }

    /// Its kind.
    pub fn kind(&self) -> ModelKind {
        match self {
            AnyDecoder::Float(_) => ModelKind::Float,
            AnyDecoder::Quantized(_) => ModelKind::Quantized,
        }
    }

    fn facts(&self) -> &dyn DecoderFacts {
        match self {
            AnyDecoder::Float(d) => d,
            AnyDecoder::Quantized(d) => d,
        }
    }
}

impl DecoderFacts for AnyDecoder {
    fn id(&self) -> ModelId {
        self.facts().id()
    }
    fn data(&self) -> &DataSignature {
        self.facts().data()
    }
    fn normalization(&self) -> &Normalization {
        self.facts().normalization()
    }
    fn latent(&self) -> usize {
        self.facts().latent()
    }
    fn latent_format(&self) -> Option<FixedFormat> {
        self.facts().latent_format()
    }
}

/// An error, in words, where `dir` is not a folder (the model has not been trained, or the path is wrong).
fn model_folder(dir: &Path) -> Result<()> {
    match dir.is_dir() {
        true => Ok(()),
        false => Err(crate::error::Error::Mismatch(format!(
            "{}: no model folder here: train a model (`baler train`, then `baler quantize` for --fixed and \
             error-bounded mode), or give its folder with -m",
            dir.display()
        ))),
    }
}

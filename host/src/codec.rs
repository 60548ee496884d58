//! Compression with any model on any device (normalise, encode through the device's stream, store the latent),
//! and decompression with the float decoder (decode, undo the normalisation, round integer variables).

use crate::config::LatentPrecision;
use crate::container::{CompressedFile, Header};
use crate::data::Dataset;
use crate::error::Result;
use crate::model_store::{DataSignature, Decoder};
#[cfg(feature = "train")]
use crate::model_store::{check_header, restore};
#[cfg(feature = "train")]
use crate::network::{Network, run_network};
use crate::quantized::{BATCH_FRAMES, QuantizedDecoder};
use crate::runtime::DeviceStream;
use baler_core::{ModelId, Normalization};
#[cfg(feature = "train")]
use burn::tensor::Device;
use std::path::Path;

/// What compressing needs to know of the decoder that will restore the data: float and quantised decoders alike.
pub trait DecoderFacts {
    /// The id written into the file.
    fn id(&self) -> ModelId;
    /// The layout of the data it restores.
    fn data(&self) -> &DataSignature;
    /// The normalisation the encoder expects.
    fn normalization(&self) -> &Normalization;
    /// Latent values per sample.
    fn latent(&self) -> usize;
}

/// Both decoders keep these facts in fields of the same names.
macro_rules! decoder_facts {
    ($($decoder:ty),*) => {$(
        impl DecoderFacts for $decoder {
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
decoder_facts!(Decoder, QuantizedDecoder);

/// Encodes `data` (whose layout must match the decoder's) with the encoder behind `encoder` (any device: the
/// float model on `cpu-f32` or `gpu`, the quantised one on `cpu-fixed`, `csim:` or `xrt:`) into a compressed file
/// whose latent is stored in `precision`.
pub fn compress(
    decoder: &dyn DecoderFacts,
    data: &Dataset,
    source: &Path,
    precision: LatentPrecision,
    encoder: &mut DeviceStream,
) -> Result<CompressedFile> {
    decoder.data().check(data, source)?;
    let latent = encoder.run_all(&data.normalized(decoder.normalization()), BATCH_FRAMES)?;
    Ok(CompressedFile {
        header: Header {
            model_id: decoder.id().to_string(),
            kind: data.kind,
            shape: data.shape(),
            dtype: data.dtype,
            names: data.names.clone(),
            latent_size: decoder.latent(),
            latent_precision: precision,
        },
        latent: precision.store_all(latent)?,
    })
}

/// Restores the data of a compressed file with its model's decoder; a file made by another model is refused.
#[cfg(feature = "train")]
pub fn decompress(
    decoder: &Decoder,
    file: &CompressedFile,
    source: &Path,
    device: &Device,
) -> Result<Dataset> {
    let h = &file.header;
    check_header(h, decoder.id, decoder.latent(), &decoder.data, source)?;
    let network = Network::from_params(&decoder.network, &decoder.params, device)?;
    let output = run_network(&network, &file.latent, h.latent_size, device);
    let values = output.into_iter().map(f64::from).collect();
    Ok(restore(&decoder.normalization, &decoder.data, h, values))
}

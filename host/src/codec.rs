//! Compression and decompression with either kind of model on any device: check the layout, normalise, run the
//! encoder (or decoder) through the device's stream, store the latent (or undo the normalisation and round the
//! integer variables).

use crate::config::LatentPrecision;
use crate::container::{CompressedFile, Header};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::DecoderFacts;
use crate::runtime::DeviceStream;
use std::path::Path;

/// Frames per batch sent to a device.
pub const BATCH_FRAMES: usize = 4096;

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

/// Restores the data of a compressed file with its model's decoder running behind `decoder_device` (the float
/// decoder on `cpu-f32` or `gpu`, the quantised one on `cpu-fixed` or a decoder kernel); a file made by another
/// model is refused.
pub fn decompress(
    decoder: &dyn DecoderFacts,
    file: &CompressedFile,
    source: &Path,
    decoder_device: &mut DeviceStream,
) -> Result<Dataset> {
    let h = &file.header;
    check_header(h, decoder, source)?;
    let latent: Vec<f64> = file.latent.iter().map(|&v| f64::from(v)).collect();
    let mut values = decoder_device.run_all(&latent, BATCH_FRAMES)?;
    let expected = h.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if expected != Some(values.len()) {
        return Err(Error::Mismatch(format!(
            "device {} gave {} values for data of shape {:?}: it does not run this model's decoder",
            decoder_device.info().name,
            values.len(),
            h.shape
        )));
    }
    decoder.normalization().invert(&mut values);
    let integer = &decoder.data().integer;
    if !integer.is_empty() {
        for (i, v) in values.iter_mut().enumerate() {
            if integer[i % integer.len()] {
                *v = v.round() + 0.0; // + 0.0 turns -0.0 into 0.0
            }
        }
    }
    Ok(Dataset {
        kind: h.kind,
        names: h.names.clone(),
        dtype: h.dtype,
        rows: h.rows(),
        values,
    })
}

/// Refuses a compressed file that another model wrote or whose layout the decoder cannot restore.
fn check_header(header: &Header, decoder: &dyn DecoderFacts, source: &Path) -> Result<()> {
    let id = decoder.id();
    if header.model_id != id.to_string() {
        return Err(Error::Mismatch(format!(
            "{}: compressed with model {} but the decoder given is model {id}; use the model that compressed it",
            source.display(),
            header.model_id,
        )));
    }
    let data = decoder.data();
    if header.latent_size != decoder.latent()
        || header.kind != data.kind
        || header.names != data.names
    {
        return Err(Error::Mismatch(format!(
            "{}: the header's layout does not match model {id}",
            source.display(),
        )));
    }
    Ok(())
}

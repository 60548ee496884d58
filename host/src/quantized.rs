//! Quantised models on disk (`quantized-decoder.json` apart from `quantized-encoder.json`: formats and exact
//! integer codes, see docs/quantization.md) and compression/decompression through the bit-exact reference.

use crate::config::LatentPrecision;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::format::{CompressedFile, Header};
use crate::fsutil;
use crate::model_store::{DataSignature, check_header, read_json, restore, write_json};
use crate::runtime::DeviceStream;
use baler_core::quantized::{QuantizedNetwork, quantized_model_id};
use baler_core::{ModelId, Normalization};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Quantised decoder file name.
pub const QUANTIZED_DECODER: &str = "quantized-decoder.json";
/// Quantised encoder file name.
pub const QUANTIZED_ENCODER: &str = "quantized-encoder.json";

#[derive(Serialize, Deserialize)]
struct DecoderFile {
    format: String,
    version: u32,
    model_id: String,
    source_model_id: String,
    data: DataSignature,
    normalization: Normalization,
    network: QuantizedNetwork,
}

#[derive(Serialize, Deserialize)]
struct EncoderFile {
    format: String,
    version: u32,
    model_id: String,
    network: QuantizedNetwork,
}

/// Everything decompression with a quantised model needs.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedDecoder {
    /// Latent codes → normalised data, in fixed point.
    pub network: QuantizedNetwork,
    /// The normalisation of the float model.
    pub normalization: Normalization,
    /// The training data's layout.
    pub data: DataSignature,
    /// The float model it was quantised from.
    pub source_model_id: ModelId,
    /// Hash of the quantised decoder and normalisation.
    pub id: ModelId,
}

/// A whole quantised model.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedModel {
    /// Normalised data → latent, in fixed point.
    pub encoder: QuantizedNetwork,
    /// The decompression half.
    pub decoder: QuantizedDecoder,
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::malformed(path, e.to_string())
}

impl QuantizedDecoder {
    /// A decoder with its id computed.
    pub fn new(
        network: QuantizedNetwork,
        normalization: Normalization,
        data: DataSignature,
        source_model_id: ModelId,
    ) -> Self {
        let id = quantized_model_id(&network, &normalization);
        QuantizedDecoder {
            network,
            normalization,
            data,
            source_model_id,
            id,
        }
    }

    /// Latent values per sample.
    pub fn latent(&self) -> usize {
        self.network.input_shape.iter().product()
    }

    /// Reads and checks `quantized-decoder.json` in a model folder.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(QUANTIZED_DECODER);
        let file: DecoderFile = read_json(&path, "baler-quantized-decoder")?;
        file.network.validate().map_err(|e| invalid(&path, e))?;
        let source = ModelId::parse(&file.source_model_id)
            .ok_or_else(|| invalid(&path, "source_model_id is not a model id"))?;
        let decoder = QuantizedDecoder::new(file.network, file.normalization, file.data, source);
        if file.model_id != decoder.id.to_string() {
            return Err(invalid(
                &path,
                format!(
                    "its contents hash to model id {}, not the recorded {}: the file was edited or damaged",
                    decoder.id, file.model_id
                ),
            ));
        }
        Ok(decoder)
    }

    /// The files a receiver needs besides the compressed data, for R_actual.
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        vec![dir.join(QUANTIZED_DECODER)]
    }
}

impl QuantizedModel {
    /// Reads both quantised files of a model folder and checks that they belong together.
    pub fn load(dir: &Path) -> Result<Self> {
        let decoder = QuantizedDecoder::load(dir)?;
        let path = dir.join(QUANTIZED_ENCODER);
        let file: EncoderFile = read_json(&path, "baler-quantized-encoder")?;
        file.network.validate().map_err(|e| invalid(&path, e))?;
        if file.model_id != decoder.id.to_string() {
            return Err(Error::Mismatch(format!(
                "{}: belongs to quantised model {}, but the decoder beside it is {}",
                path.display(),
                file.model_id,
                decoder.id
            )));
        }
        Ok(QuantizedModel {
            encoder: file.network,
            decoder,
        })
    }

    /// Writes the two files into the model folder.
    pub fn save(&self, dir: &Path) -> Result<()> {
        fsutil::create_dir(dir)?;
        let d = &self.decoder;
        write_json(
            &dir.join(QUANTIZED_DECODER),
            &DecoderFile {
                format: "baler-quantized-decoder".into(),
                version: 1,
                model_id: d.id.to_string(),
                source_model_id: d.source_model_id.to_string(),
                data: d.data.clone(),
                normalization: d.normalization.clone(),
                network: d.network.clone(),
            },
        )?;
        write_json(
            &dir.join(QUANTIZED_ENCODER),
            &EncoderFile {
                format: "baler-quantized-encoder".into(),
                version: 1,
                model_id: d.id.to_string(),
                network: self.encoder.clone(),
            },
        )
    }
}

/// Frames per batch sent to a device.
pub const BATCH_FRAMES: usize = 4096;

/// Runs a validated network over rows of `inputs` values (in parallel); returns the output values.
pub fn run_rows(network: &QuantizedNetwork, values: &[f64], inputs: usize) -> Vec<f64> {
    let output = network.output();
    let runner = network.runner();
    values
        .par_chunks(inputs)
        .flat_map_iter(|row| runner.run(row).into_iter().map(|c| output.value_of(c)))
        .collect()
}

/// Encodes `data` with the fixed-point encoder on `device` (any fixed-point device gives the same codes). The
/// latent is stored exactly with `f32` (the latent format is at most 24 bits wide, see `precision`); `f16`
/// rounds it.
pub fn compress(
    model: &QuantizedModel,
    data: &Dataset,
    source: &Path,
    precision: LatentPrecision,
    device: &mut DeviceStream,
) -> Result<CompressedFile> {
    let decoder = &model.decoder;
    decoder.data.check(data, source)?;
    let mut normalized = data.values.clone();
    decoder.normalization.apply(&mut normalized);
    let latent = precision.store_all(device.run_all(&normalized, BATCH_FRAMES)?)?;
    Ok(CompressedFile {
        header: Header {
            model_id: decoder.id.to_string(),
            kind: data.kind,
            shape: data.shape(),
            dtype: data.dtype,
            names: data.names.clone(),
            latent_size: decoder.latent(),
            latent_precision: precision,
        },
        latent,
    })
}

/// Restores a file compressed with the quantised model, with the fixed-point decoder.
pub fn decompress(
    decoder: &QuantizedDecoder,
    file: &CompressedFile,
    source: &Path,
) -> Result<Dataset> {
    check_header(
        &file.header,
        decoder.id,
        decoder.latent(),
        &decoder.data,
        source,
    )?;
    let latent: Vec<f64> = file.latent.iter().map(|&v| v as f64).collect();
    let values = run_rows(&decoder.network, &latent, decoder.latent());
    Ok(restore(
        &decoder.normalization,
        &decoder.data,
        &file.header,
        values,
    ))
}

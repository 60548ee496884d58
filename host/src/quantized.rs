//! Quantised models on disk (`quantized-decoder.json` apart from `quantized-encoder.json`: formats and exact
//! integer codes, see docs/quantization.md) and compression/decompression through the bit-exact reference.

use crate::container::CompressedFile;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::model_store::{
    DataSignature, check_decoder_parts, check_encoder, check_header, invalid_model, parse_json,
    replace_id, restore, write_json,
};
use baler_core::quantized::{QuantizedError, QuantizedNetwork, quantized_model_id};
use baler_core::{ModelId, Normalization};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use crate::model_store::{QUANTIZED_DECODER, QUANTIZED_ENCODER};

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

/// A quantised network's error as an [`Error::InvalidModel`] of the file's `network` (the message names the
/// layer).
fn invalid_network(path: &Path, e: QuantizedError) -> Error {
    invalid_model(path, "network", e.to_string())
}

impl QuantizedDecoder {
    /// A decoder with its id computed.
    pub fn new(
        network: QuantizedNetwork,
        normalization: Normalization,
        data: DataSignature,
        source_model_id: ModelId,
    ) -> Self {
        let id = quantized_model_id(&network, &normalization, &data.layout());
        QuantizedDecoder {
            network,
            normalization,
            data,
            source_model_id,
            id,
        }
    }

    /// Latent values per sample (0 for a network that has not passed validation).
    pub fn latent(&self) -> usize {
        match self.network.input_shape[..] {
            [latent] => latent,
            _ => 0,
        }
    }

    /// Parses the contents of `quantized-decoder.json` without touching the disk (`dir` names the file in
    /// errors): the network, normalisation and data signature are checked against each other and the id
    /// recomputed before anything is used.
    pub fn from_bytes(dir: &Path, json: &[u8]) -> Result<Self> {
        let path = dir.join(QUANTIZED_DECODER);
        let file: DecoderFile = parse_json(json, &path, "baler-quantized-decoder")?;
        file.network
            .validate()
            .map_err(|e| invalid_network(&path, e))?;
        check_decoder_parts(&path, &file.network.spec(), &file.normalization, &file.data)?;
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

    /// Reads and checks `quantized-decoder.json` in a model folder.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::from_bytes(dir, &fsutil::read_bytes(&dir.join(QUANTIZED_DECODER))?)
    }

    /// The files a receiver needs besides the compressed data, for R_actual.
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        vec![dir.join(QUANTIZED_DECODER)]
    }
}

impl QuantizedModel {
    /// Parses the contents of both quantised files without touching the disk (`dir` names them in errors)
    /// and checks that they belong together.
    pub fn from_bytes(dir: &Path, decoder_json: &[u8], encoder_json: &[u8]) -> Result<Self> {
        let decoder = QuantizedDecoder::from_bytes(dir, decoder_json)?;
        let path = dir.join(QUANTIZED_ENCODER);
        let file: EncoderFile = parse_json(encoder_json, &path, "baler-quantized-encoder")?;
        file.network
            .validate()
            .map_err(|e| invalid_network(&path, e))?;
        if file.model_id != decoder.id.to_string() {
            return Err(Error::Mismatch(format!(
                "{}: belongs to quantised model {}, but the decoder beside it is {}",
                path.display(),
                file.model_id,
                decoder.id
            )));
        }
        let features = decoder.data.features().expect("checked with the decoder");
        check_encoder(&path, &file.network.spec(), features, decoder.latent())?;
        Ok(QuantizedModel {
            encoder: file.network,
            decoder,
        })
    }

    /// Reads both quantised files of a model folder and checks that they belong together.
    pub fn load(dir: &Path) -> Result<Self> {
        let decoder_json = fsutil::read_bytes(&dir.join(QUANTIZED_DECODER))?;
        let encoder_json = fsutil::read_bytes(&dir.join(QUANTIZED_ENCODER))?;
        Self::from_bytes(dir, &decoder_json, &encoder_json)
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

/// Rewrites the model id recorded in a model folder's `quantized-decoder.json` and `quantized-encoder.json`
/// to the id the quantised decoder hashes to (run [`crate::model_store::restamp_ids`] first, which updates
/// its `source_model_id`); everything else is checked as on load. For after a change of the id's
/// definition, never to accept a model edited by hand. Returns the recorded and the new id, or `None` when
/// the folder has no quantised model.
pub fn restamp_ids(dir: &Path) -> Result<Option<(String, ModelId)>> {
    let path = dir.join(QUANTIZED_DECODER);
    if !path.exists() {
        return Ok(None);
    }
    let file: DecoderFile = parse_json(
        &fsutil::read_bytes(&path)?,
        &path,
        "baler-quantized-decoder",
    )?;
    file.network
        .validate()
        .map_err(|e| invalid_network(&path, e))?;
    check_decoder_parts(&path, &file.network.spec(), &file.normalization, &file.data)?;
    let id = quantized_model_id(&file.network, &file.normalization, &file.data.layout());
    let paths = [QUANTIZED_DECODER, QUANTIZED_ENCODER].map(|f| dir.join(f));
    replace_id(&paths, &file.model_id, &id.to_string())?;
    QuantizedModel::load(dir)?;
    Ok(Some((file.model_id, id)))
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

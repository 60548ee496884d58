//! The quantised model on disk (`quantized-decoder.json` apart from `quantized-encoder.json`: formats and exact
//! integer codes, see docs/quantization.md), beside the float model it came from.

use super::envelope::{self, DecoderBody, EncoderBody, check_id, replace_id};
use super::signature::{check_decoder_parts, check_encoder, invalid_model};
use super::{DataSignature, QUANTIZED_DECODER, QUANTIZED_ENCODER};
use crate::error::{Error, Result};
use crate::fsutil;
use baler_core::quantized::{QuantizedError, QuantizedNetwork, quantized_model_id};
use baler_core::{ModelId, Normalization};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` tags of the two JSON files.
const DECODER_FORMAT: &str = "baler-quantized-decoder";
const ENCODER_FORMAT: &str = "baler-quantized-encoder";

/// The body of `quantized-decoder.json`: a decoder's, and the float model it was quantised from.
#[derive(Serialize, Deserialize)]
struct QuantizedDecoderBody {
    source_model_id: String,
    #[serde(flatten)]
    decoder: DecoderBody<QuantizedNetwork>,
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
        let (id, body): (_, QuantizedDecoderBody) = envelope::read(json, &path, DECODER_FORMAT)?;
        let file = body.decoder;
        file.network
            .validate()
            .map_err(|e| invalid_network(&path, e))?;
        check_decoder_parts(&path, &file.network.spec(), &file.normalization, &file.data)?;
        let source = ModelId::parse(&body.source_model_id)
            .ok_or_else(|| Error::malformed(&path, "source_model_id is not a model id"))?;
        let decoder = QuantizedDecoder::new(file.network, file.normalization, file.data, source);
        check_id(&path, &id, decoder.id)?;
        Ok(decoder)
    }

    /// Reads and checks `quantized-decoder.json` in a model folder.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::from_bytes(dir, &fsutil::read_bytes(&dir.join(QUANTIZED_DECODER))?)
    }
}

impl QuantizedModel {
    /// Parses the contents of both quantised files without touching the disk (`dir` names them in errors)
    /// and checks that they belong together.
    pub fn from_bytes(dir: &Path, decoder_json: &[u8], encoder_json: &[u8]) -> Result<Self> {
        let decoder = QuantizedDecoder::from_bytes(dir, decoder_json)?;
        let path = dir.join(QUANTIZED_ENCODER);
        let (id, file): (_, EncoderBody<QuantizedNetwork>) =
            envelope::read(encoder_json, &path, ENCODER_FORMAT)?;
        file.network
            .validate()
            .map_err(|e| invalid_network(&path, e))?;
        check_id(&path, &id, decoder.id)?;
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
        let body = QuantizedDecoderBody {
            source_model_id: d.source_model_id.to_string(),
            decoder: DecoderBody {
                data: d.data.clone(),
                normalization: d.normalization.clone(),
                network: d.network.clone(),
            },
        };
        envelope::write(&dir.join(QUANTIZED_DECODER), DECODER_FORMAT, d.id, body)?;
        let body = EncoderBody {
            network: self.encoder.clone(),
        };
        envelope::write(&dir.join(QUANTIZED_ENCODER), ENCODER_FORMAT, d.id, body)
    }
}

/// Rewrites the model id recorded in a model folder's `quantized-decoder.json` and `quantized-encoder.json`
/// to the id the quantised decoder hashes to (run [`super::float::restamp_ids`] first, which updates
/// its `source_model_id`); everything else is checked as on load. For after a change of the id's
/// definition, never to accept a model edited by hand. Returns the recorded and the new id, or `None` when
/// the folder has no quantised model.
pub fn restamp_ids(dir: &Path) -> Result<Option<(String, ModelId)>> {
    let path = dir.join(QUANTIZED_DECODER);
    if !path.exists() {
        return Ok(None);
    }
    let (recorded, body): (String, QuantizedDecoderBody) =
        envelope::read(&fsutil::read_bytes(&path)?, &path, DECODER_FORMAT)?;
    let file = body.decoder;
    file.network
        .validate()
        .map_err(|e| invalid_network(&path, e))?;
    check_decoder_parts(&path, &file.network.spec(), &file.normalization, &file.data)?;
    let id = quantized_model_id(&file.network, &file.normalization, &file.data.layout());
    let paths = [QUANTIZED_DECODER, QUANTIZED_ENCODER].map(|f| dir.join(f));
    replace_id(&paths, &recorded, &id.to_string())?;
    QuantizedModel::load(dir)?;
    Ok(Some((recorded, id)))
}

//! The quantised model on disk (`quantized-decoder.json` apart from `quantized-encoder.json`: formats and exact
//! integer codes, see docs/quantization.md), beside the float model it came from; and the decoder packed for sending.

use super::envelope::{self, EncoderBody, check_id, replace_id};
use super::signature::{check_decoder_parts, check_encoder, invalid_model};
use super::{DataSignature, QUANTIZED_DECODER, QUANTIZED_DECODER_PACKED, QUANTIZED_ENCODER};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::int_streams;
use baler_core::quantized::{QuantizedError, QuantizedNetwork, quantized_model_id};
use baler_core::{ModelId, Normalization};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` tags of the two JSON files.
const DECODER_FORMAT: &str = "baler-quantized-decoder";
const ENCODER_FORMAT: &str = "baler-quantized-encoder";

/// The body of `quantized-decoder.json`: the float model it was quantised from, then a decoder's fields
/// ([`DecoderBody`]'s, listed here so that the file is read in one pass).
#[derive(Serialize, Deserialize)]
struct QuantizedDecoderBody {
    source_model_id: String,
    data: DataSignature,
    normalization: Normalization,
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
        Self::from_body(&path, &id, body)
    }

    /// A decoder from a parsed file (`path` names it in errors): the network, normalisation and data signature
    /// are checked against each other and the id recomputed.
    fn from_body(path: &Path, id: &str, file: QuantizedDecoderBody) -> Result<Self> {
        let path = path.to_path_buf();
        file.network
            .validate()
            .map_err(|e| invalid_network(&path, e))?;
        check_decoder_parts(&path, &file.network.spec(), &file.normalization, &file.data)?;
        let source = ModelId::parse(&file.source_model_id)
            .ok_or_else(|| Error::malformed(&path, "source_model_id is not a model id"))?;
        let decoder = QuantizedDecoder::new(file.network, file.normalization, file.data, source);
        check_id(&path, id, decoder.id)?;
        Ok(decoder)
    }

    /// Reads and checks the quantised decoder of a model folder: `quantized-decoder.json`, or where only the
    /// packed decoder was sent, `quantized-decoder.pack`.
    pub fn load(dir: &Path) -> Result<Self> {
        super::model_folder(dir)?;
        let json = dir.join(QUANTIZED_DECODER);
        let packed = dir.join(QUANTIZED_DECODER_PACKED);
        match (json.exists(), packed.exists()) {
            (false, true) => return Self::from_packed(dir, &fsutil::read_bytes(&packed)?),
            (false, false) if dir.is_dir() => {
                return Err(Error::Mismatch(format!(
                    "{}: no quantised model here (neither {QUANTIZED_DECODER} nor {QUANTIZED_DECODER_PACKED}): run \
                     `baler quantize` first; --fixed and error-bounded mode use it",
                    dir.display()
                )));
            }
            _ => {}
        }
        Self::from_bytes(dir, &fsutil::read_bytes(&json)?)
    }

    /// The body of its JSON file.
    fn body(&self) -> QuantizedDecoderBody {
        QuantizedDecoderBody {
            source_model_id: self.source_model_id.to_string(),
            data: self.data.clone(),
            normalization: self.normalization.clone(),
            network: self.network.clone(),
        }
    }

    /// The packed decoder (`quantized-decoder.pack`, what a receiver needs and R_actual counts): its JSON
    /// without the integer codes, zstd-compressed, then each layer's weight and bias codes as pco streams.
    pub fn to_packed(&self) -> Vec<u8> {
        let mut body = self.body();
        let mut codes = Vec::new();
        for layer in body
            .network
            .layers
            .iter_mut()
            .filter_map(|l| l.fixed.as_mut())
        {
            codes.push(std::mem::take(&mut layer.weights));
            codes.push(std::mem::take(&mut layer.biases));
        }
        let json = envelope::to_bytes(DECODER_FORMAT, self.id, body, false);
        let json = zstd::bulk::compress(&json, 19).expect("zstd compresses in memory");
        let mut out = PACKED_MAGIC.to_vec();
        out.extend((json.len() as u64).to_le_bytes());
        out.extend(json);
        for c in &codes {
            int_streams::put_stream(&mut out, c);
        }
        out
    }

    /// Parses a packed decoder (`dir` names it in errors): its JSON at most 16 MiB, its codes at most
    /// [`MAX_PACKED_CODES`], each stream decoded into the count the layer's shape implies; then every check of
    /// [`QuantizedDecoder::from_bytes`].
    pub fn from_packed(dir: &Path, bytes: &[u8]) -> Result<Self> {
        let path = dir.join(QUANTIZED_DECODER_PACKED);
        let bad = |m: String| Error::malformed(&path, format!("not a packed decoder: {m}"));
        let mut at = 0;
        if int_streams::take(bytes, &mut at, 8).map_err(bad)? != PACKED_MAGIC {
            return Err(bad("wrong magic number".into()));
        }
        let len = u64::from_le_bytes(
            int_streams::take(bytes, &mut at, 8)
                .map_err(bad)?
                .try_into()
                .expect("8"),
        );
        let json = int_streams::take(bytes, &mut at, usize::try_from(len).unwrap_or(usize::MAX))
            .map_err(bad)?;
        let json =
            zstd::bulk::decompress(json, MAX_PACKED_JSON).map_err(|e| bad(format!("JSON: {e}")))?;
        let (id, mut body): (_, QuantizedDecoderBody) =
            envelope::read(&json, &path, DECODER_FORMAT)?;
        let mut total = 0usize;
        for (i, layer) in body.network.layers.iter_mut().enumerate() {
            let (Some(fixed), Some((weights, biases))) =
                (layer.fixed.as_mut(), layer.spec.param_shapes())
            else {
                continue;
            };
            let weights = weights.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            for (codes, n) in [
                (&mut fixed.weights, weights),
                (&mut fixed.biases, Some(biases)),
            ] {
                total = n
                    .and_then(|n| total.checked_add(n))
                    .filter(|&t| t <= MAX_PACKED_CODES)
                    .ok_or_else(|| bad(format!("layer {i}: more than {MAX_PACKED_CODES} codes")))?;
                *codes = int_streams::get_stream(bytes, &mut at, n.expect("checked"), "codes")
                    .map_err(bad)?;
            }
        }
        if at != bytes.len() {
            return Err(bad("bytes after the last stream".into()));
        }
        Self::from_body(&path, &id, body)
    }

    /// Writes `quantized-decoder.pack` into the model folder.
    pub fn write_packed(&self, dir: &Path) -> Result<()> {
        fsutil::write_bytes(&dir.join(QUANTIZED_DECODER_PACKED), &self.to_packed())
    }
}

/// The first bytes of a packed decoder.
const PACKED_MAGIC: &[u8; 8] = b"BALERQD1";
/// The most a packed decoder's JSON may inflate to.
const MAX_PACKED_JSON: usize = 16 << 20;
/// The most integer codes a packed decoder may hold (512 MiB as `i64`).
pub const MAX_PACKED_CODES: usize = 1 << 26;

impl QuantizedModel {
    /// Parses the contents of both quantised files without touching the disk (`dir` names them in errors)
    /// and checks that they belong together.
    pub fn from_bytes(dir: &Path, decoder_json: &[u8], encoder_json: &[u8]) -> Result<Self> {
        let decoder = QuantizedDecoder::from_bytes(dir, decoder_json)?;
        Ok(QuantizedModel {
            encoder: Self::encoder_from_bytes(dir, encoder_json, &decoder)?,
            decoder,
        })
    }

    /// Parses `quantized-encoder.json`'s contents (`dir` names it in errors) and checks that it belongs with
    /// `decoder`.
    fn encoder_from_bytes(
        dir: &Path,
        encoder_json: &[u8],
        decoder: &QuantizedDecoder,
    ) -> Result<QuantizedNetwork> {
        let path = dir.join(QUANTIZED_ENCODER);
        let (id, file): (_, EncoderBody<QuantizedNetwork>) =
            envelope::read(encoder_json, &path, ENCODER_FORMAT)?;
        file.network
            .validate()
            .map_err(|e| invalid_network(&path, e))?;
        check_id(&path, &id, decoder.id)?;
        let features = decoder.data.features().expect("checked with the decoder");
        check_encoder(&path, &file.network.spec(), features, decoder.latent())?;
        Ok(file.network)
    }

    /// Reads the quantised encoder of a model folder whose decoder is already loaded, and checks that they
    /// belong together.
    pub fn load_encoder(dir: &Path, decoder: &QuantizedDecoder) -> Result<QuantizedNetwork> {
        let encoder_json = fsutil::read_bytes(&dir.join(QUANTIZED_ENCODER))?;
        Self::encoder_from_bytes(dir, &encoder_json, decoder)
    }

    /// Reads both quantised files of a model folder and checks that they belong together.
    pub fn load(dir: &Path) -> Result<Self> {
        let decoder_json = fsutil::read_bytes(&dir.join(QUANTIZED_DECODER))?;
        let encoder_json = fsutil::read_bytes(&dir.join(QUANTIZED_ENCODER))?;
        Self::from_bytes(dir, &decoder_json, &encoder_json)
    }

    /// Writes the two files, and the packed decoder, into the model folder.
    pub fn save(&self, dir: &Path) -> Result<()> {
        fsutil::create_dir(dir)?;
        let d = &self.decoder;
        envelope::write(&dir.join(QUANTIZED_DECODER), DECODER_FORMAT, d.id, d.body())?;
        d.write_packed(dir)?;
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
    let (recorded, file): (String, QuantizedDecoderBody) =
        envelope::read(&fsutil::read_bytes(&path)?, &path, DECODER_FORMAT)?;
    file.network
        .validate()
        .map_err(|e| invalid_network(&path, e))?;
    check_decoder_parts(&path, &file.network.spec(), &file.normalization, &file.data)?;
    let id = quantized_model_id(&file.network, &file.normalization, &file.data.layout());
    let paths = [QUANTIZED_DECODER, QUANTIZED_ENCODER].map(|f| dir.join(f));
    replace_id(&paths, &recorded, &id.to_string())?;
    QuantizedModel::load(dir)?.decoder.write_packed(dir)?;
    Ok(Some((recorded, id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packed_decoder_round_trips_and_any_damage_is_refused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/jets-baler-9to5");
        let decoder = QuantizedDecoder::load(&dir).unwrap();
        let packed = decoder.to_packed();
        let json = std::fs::metadata(dir.join(QUANTIZED_DECODER))
            .unwrap()
            .len() as usize;
        assert!(
            packed.len() * 10 < json,
            "{} B packed against {json} B of JSON",
            packed.len()
        );
        assert_eq!(
            QuantizedDecoder::from_packed(&dir, &packed).unwrap(),
            decoder
        );
        // the committed pack is this one
        assert_eq!(
            std::fs::read(dir.join(QUANTIZED_DECODER_PACKED)).unwrap(),
            packed
        );
        for n in (0..packed.len()).step_by(89) {
            assert!(
                QuantizedDecoder::from_packed(&dir, &packed[..n]).is_err(),
                "prefix {n}"
            );
        }
        // a changed byte changes the JSON, a code or a length: refused (by the model id at the latest)
        for i in (0..packed.len()).step_by(97) {
            let mut b = packed.clone();
            b[i] ^= 0x21;
            assert!(QuantizedDecoder::from_packed(&dir, &b).is_err(), "byte {i}");
        }
    }
}

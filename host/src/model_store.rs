//! Trained models on disk. The decoder (JSON description + safetensors weights) is all that
//! decompression needs and is stored apart from the encoder; both carry the model id, which is
//! recomputed on load so an edited or mismatched file is refused.

use crate::data::{DataKind, Dataset, FloatType};
use crate::error::{Error, Result};
use crate::format::Header;
use crate::fsutil;
use baler_core::{LayerParams, ModelId, NetworkSpec, Normalization, ParamTensor};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File names inside a model folder.
pub const DECODER_JSON: &str = "decoder.json";
/// Decoder weights.
pub const DECODER_WEIGHTS: &str = "decoder.safetensors";
/// Encoder description.
pub const ENCODER_JSON: &str = "encoder.json";
/// Encoder weights.
pub const ENCODER_WEIGHTS: &str = "encoder.safetensors";

/// What a model knows about the data it was trained on; new data must match it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSignature {
    /// Table or fields (with their size).
    pub kind: DataKind,
    /// Variable names of a table.
    pub names: Vec<String>,
    /// Per variable: integer-valued in the training data (restored by rounding).
    pub integer: Vec<bool>,
    /// Stored type of the training data.
    pub dtype: FloatType,
}

impl DataSignature {
    /// The signature of a dataset.
    pub fn of(data: &Dataset) -> Self {
        DataSignature {
            kind: data.kind,
            names: data.names.clone(),
            integer: data.integer_columns(),
            dtype: data.dtype,
        }
    }

    /// Refuses data whose layout or variables differ from the training data's.
    pub fn check(&self, data: &Dataset, path: &Path) -> Result<()> {
        let problem = if data.kind != self.kind {
            Some(format!(
                "it is {:?} but the model was trained on {:?}",
                data.kind, self.kind
            ))
        } else if data.names != self.names {
            Some(format!(
                "its variables {:?} differ from the model's {:?}",
                data.names, self.names
            ))
        } else {
            None
        };
        match problem {
            Some(p) => Err(Error::Mismatch(format!(
                "{}: this model cannot encode the data: {p}",
                path.display()
            ))),
            None => Ok(()),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct DecoderFile {
    format: String,
    version: u32,
    model_id: String,
    data: DataSignature,
    normalization: Normalization,
    network: NetworkSpec,
}

#[derive(Serialize, Deserialize)]
struct EncoderFile {
    format: String,
    version: u32,
    model_id: String,
    network: NetworkSpec,
}

/// Everything decompression needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoder {
    /// Latent → normalised data.
    pub network: NetworkSpec,
    /// Its parameters.
    pub params: Vec<LayerParams>,
    /// The normalisation fitted at training.
    pub normalization: Normalization,
    /// The training data's layout.
    pub data: DataSignature,
    /// Hash of the three above.
    pub id: ModelId,
}

impl Decoder {
    /// Builds a decoder and computes its id.
    pub fn new(
        network: NetworkSpec,
        params: Vec<LayerParams>,
        normalization: Normalization,
        data: DataSignature,
    ) -> Self {
        let id = ModelId::of(&network, &params, &normalization);
        Decoder {
            network,
            params,
            normalization,
            data,
            id,
        }
    }

    /// Latent values per sample.
    pub fn latent(&self) -> usize {
        self.network.input_shape[0]
    }

    /// Reads `decoder.json` and `decoder.safetensors` from a model folder.
    pub fn load(dir: &Path) -> Result<Self> {
        let json = dir.join(DECODER_JSON);
        let file: DecoderFile = read_json(&json, "baler-decoder")?;
        let params = read_weights(&dir.join(DECODER_WEIGHTS), &file.network)?;
        let decoder = Decoder::new(file.network, params, file.normalization, file.data);
        check_id(&json, &file.model_id, decoder.id)?;
        Ok(decoder)
    }

    /// Writes the two decoder files into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let file = DecoderFile {
            format: "baler-decoder".into(),
            version: 1,
            model_id: self.id.to_string(),
            data: self.data.clone(),
            normalization: self.normalization.clone(),
            network: self.network.clone(),
        };
        write_weights(&dir.join(DECODER_WEIGHTS), &self.params)?;
        write_json(&dir.join(DECODER_JSON), &file)
    }

    /// The files a receiver needs besides the compressed data, for R_actual.
    pub fn files(dir: &Path) -> Vec<PathBuf> {
        vec![dir.join(DECODER_JSON), dir.join(DECODER_WEIGHTS)]
    }
}

/// A whole trained model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Normalised data → latent.
    pub encoder: NetworkSpec,
    /// Its parameters.
    pub encoder_params: Vec<LayerParams>,
    /// The decompression half.
    pub decoder: Decoder,
}

impl Model {
    /// Reads a model folder (all four files), checking that encoder and decoder belong together.
    pub fn load(dir: &Path) -> Result<Self> {
        let decoder = Decoder::load(dir)?;
        let json = dir.join(ENCODER_JSON);
        let file: EncoderFile = read_json(&json, "baler-encoder")?;
        check_id(&json, &file.model_id, decoder.id)?;
        let encoder_params = read_weights(&dir.join(ENCODER_WEIGHTS), &file.network)?;
        Ok(Model {
            encoder: file.network,
            encoder_params,
            decoder,
        })
    }

    /// Writes the model folder (created if missing).
    pub fn save(&self, dir: &Path) -> Result<()> {
        fsutil::create_dir(dir)?;
        self.decoder.save(dir)?;
        write_weights(&dir.join(ENCODER_WEIGHTS), &self.encoder_params)?;
        let file = EncoderFile {
            format: "baler-encoder".into(),
            version: 1,
            model_id: self.decoder.id.to_string(),
            network: self.encoder.clone(),
        };
        write_json(&dir.join(ENCODER_JSON), &file)
    }
}

/// Refuses a compressed file that another model wrote or whose layout the decoder cannot restore.
pub fn check_header(
    header: &Header,
    id: ModelId,
    latent: usize,
    data: &DataSignature,
    source: &Path,
) -> Result<()> {
    if header.model_id != id.to_string() {
        return Err(Error::Mismatch(format!(
            "{}: compressed with model {} but the decoder given is model {id}; use the model that compressed it",
            source.display(),
            header.model_id,
        )));
    }
    if header.latent_size != latent || header.kind != data.kind || header.names != data.names {
        return Err(Error::Mismatch(format!(
            "{}: the header's layout does not match model {id}",
            source.display(),
        )));
    }
    Ok(())
}

/// Decoded, normalised values back to data: undo the normalisation and round the integer variables.
pub fn restore(
    normalization: &Normalization,
    data: &DataSignature,
    header: &Header,
    mut values: Vec<f64>,
) -> Dataset {
    normalization.invert(&mut values);
    let n = data.integer.len();
    if n > 0 {
        for (i, v) in values.iter_mut().enumerate() {
            if data.integer[i % n] {
                *v = v.round() + 0.0; // + 0.0 turns -0.0 into 0.0
            }
        }
    }
    Dataset {
        kind: header.kind,
        names: header.names.clone(),
        dtype: header.dtype,
        rows: header.rows(),
        values,
    }
}

fn check_id(path: &Path, stored: &str, computed: ModelId) -> Result<()> {
    if stored == computed.to_string() {
        Ok(())
    } else {
        Err(Error::Mismatch(format!(
            "{}: model id {stored} does not match the decoder ({computed}); the model files do not belong together or were modified",
            path.display()
        )))
    }
}

/// Reads a model JSON file, checking its `format` tag and version.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path, format: &str) -> Result<T> {
    let bytes = fsutil::read_bytes(path)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::malformed(path, format!("invalid JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(format) {
        return Err(Error::malformed(path, format!("not a {format} file")));
    }
    if value.get("version").and_then(|v| v.as_u64()) != Some(1) {
        return Err(Error::malformed(
            path,
            "unsupported version (this build reads version 1)",
        ));
    }
    serde_json::from_value(value).map_err(|e| Error::malformed(path, e.to_string()))
}

/// Writes a model JSON file atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).expect("model files serialise");
    fsutil::write_bytes(path, &text)
}

fn write_weights(path: &Path, params: &[LayerParams]) -> Result<()> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = params
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            [
                (format!("layer{i}.weight"), &p.weight),
                (format!("layer{i}.bias"), &p.bias),
            ]
        })
        .map(|(name, t)| {
            (
                name,
                t.shape.clone(),
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes.iter().map(|(name, shape, data)| {
        (
            name.clone(),
            TensorView::new(Dtype::F32, shape.clone(), data).expect("shape fits data"),
        )
    });
    let out =
        safetensors::serialize(views, None).map_err(|e| Error::malformed(path, e.to_string()))?;
    fsutil::write_bytes(path, &out)
}

fn read_weights(path: &Path, network: &NetworkSpec) -> Result<Vec<LayerParams>> {
    network
        .shapes()
        .map_err(|e| Error::malformed(path, format!("invalid network: {e}")))?;
    let bytes = fsutil::read_bytes(path)?;
    let tensors =
        SafeTensors::deserialize(&bytes).map_err(|e| Error::malformed(path, e.to_string()))?;
    let read = |name: String, shape: Vec<usize>| -> Result<ParamTensor> {
        let t = tensors
            .tensor(&name)
            .map_err(|_| Error::malformed(path, format!("missing tensor '{name}'")))?;
        if t.dtype() != Dtype::F32 || t.shape() != shape.as_slice() {
            return Err(Error::malformed(
                path,
                format!(
                    "tensor '{name}' is {:?} {:?}, expected F32 {shape:?}",
                    t.dtype(),
                    t.shape()
                ),
            ));
        }
        let values = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Ok(ParamTensor { shape, values })
    };
    network
        .layers
        .iter()
        .filter_map(|l| l.param_shapes())
        .enumerate()
        .map(|(i, (w, b))| {
            Ok(LayerParams {
                weight: read(format!("layer{i}.weight"), w)?,
                bias: read(format!("layer{i}.bias"), vec![b])?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::architecture;
    use baler_core::{Activation, NormalizationMethod};

    fn params_for(spec: &NetworkSpec, seed: f32) -> Vec<LayerParams> {
        spec.layers
            .iter()
            .filter_map(|l| l.param_shapes())
            .map(|(w, b)| LayerParams {
                weight: ParamTensor {
                    values: (0..w.iter().product::<usize>())
                        .map(|i| i as f32 * seed)
                        .collect(),
                    shape: w,
                },
                bias: ParamTensor {
                    shape: vec![b],
                    values: vec![seed; b],
                },
            })
            .collect()
    }

    pub(crate) fn sample_model() -> Model {
        let ae = architecture::dense(3, &[4], 2, Activation::LeakyRelu { alpha: 0.01 });
        let norm = Normalization {
            method: NormalizationMethod::MinMax,
            offset: vec![0.1, -1.0 / 3.0, 7e-9],
            scale: vec![2.0 / 3.0, 1.0, 1e300],
        };
        let data = DataSignature {
            kind: DataKind::Table,
            names: vec!["a".into(), "b".into(), "c".into()],
            integer: vec![false, true, false],
            dtype: FloatType::F32,
        };
        Model {
            encoder_params: params_for(&ae.encoder, 0.5),
            encoder: ae.encoder,
            decoder: Decoder::new(
                ae.decoder.clone(),
                params_for(&ae.decoder, 0.25),
                norm,
                data,
            ),
        }
    }

    #[test]
    fn model_round_trips_and_tampering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let model = sample_model();
        model.save(dir.path()).unwrap();
        assert_eq!(Model::load(dir.path()).unwrap(), model);

        let mut other = sample_model();
        other.decoder = Decoder::new(
            other.decoder.network.clone(),
            params_for(&other.decoder.network, 0.75),
            other.decoder.normalization.clone(),
            other.decoder.data.clone(),
        );
        other.decoder.save(dir.path()).unwrap();
        let json = std::fs::read_to_string(dir.path().join(DECODER_JSON)).unwrap();
        let old_id = model.decoder.id.to_string();
        std::fs::write(
            dir.path().join(DECODER_JSON),
            json.replace(&other.decoder.id.to_string(), &old_id),
        )
        .unwrap();
        let err = Model::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
    }
}

//! The trained float model on disk: the decoder (JSON + safetensors weights) is all that decompression needs
//! and is stored apart from the encoder; the id is recomputed on load, so an edited or mismatched file is refused.

use super::envelope::{self, DecoderBody, EncoderBody, check_id, replace_id};
use super::signature::{check_decoder_parts, check_encoder, invalid_model};
use super::{
    DECODER_JSON, DECODER_WEIGHTS, DataSignature, ENCODER_JSON, ENCODER_WEIGHTS, QUANTIZED_DECODER,
};
use crate::error::{Error, Result};
use crate::fsutil;
use baler_core::{LayerParams, ModelId, NetworkSpec, Normalization, ParamTensor};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::path::Path;

/// The `format` tags of the two JSON files.
const DECODER_FORMAT: &str = "baler-decoder";
const ENCODER_FORMAT: &str = "baler-encoder";

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
        let id = ModelId::of(&network, &params, &normalization, &data.layout());
        Decoder {
            network,
            params,
            normalization,
            data,
            id,
        }
    }

    /// Latent values per sample (0 for a network that has not passed [`Decoder::validate`]).
    pub fn latent(&self) -> usize {
        match self.network.input_shape[..] {
            [latent] => latent,
            _ => 0,
        }
    }

    /// Checks that network, parameters, normalisation and data signature fit together (what loading
    /// checks); `path` names the decoder in errors.
    pub fn validate(&self, path: &Path) -> Result<()> {
        check_decoder_parts(path, &self.network, &self.normalization, &self.data)?;
        check_params(path, &self.network, &self.params)
    }

    /// Parses the contents of `decoder.json` and `decoder.safetensors` without touching the disk; `dir`
    /// names the files in errors. Everything is checked, and the model id recomputed, before it is used.
    pub fn from_bytes(dir: &Path, json: &[u8], weights: &[u8]) -> Result<Self> {
        let json_path = dir.join(DECODER_JSON);
        let (id, file): (_, DecoderBody<NetworkSpec>) =
            envelope::read(json, &json_path, DECODER_FORMAT)?;
        check_decoder_parts(&json_path, &file.network, &file.normalization, &file.data)?;
        let params = parse_weights(weights, &dir.join(DECODER_WEIGHTS), &file.network)?;
        let decoder = Decoder::new(file.network, params, file.normalization, file.data);
        check_id(&json_path, &id, decoder.id)?;
        Ok(decoder)
    }

    /// Reads `decoder.json` and `decoder.safetensors` from a model folder.
    pub fn load(dir: &Path) -> Result<Self> {
        super::model_folder(dir)?;
        let json = fsutil::read_bytes(&dir.join(DECODER_JSON))?;
        let weights = fsutil::read_bytes(&dir.join(DECODER_WEIGHTS))?;
        Self::from_bytes(dir, &json, &weights)
    }

    /// Writes the two decoder files into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let body = DecoderBody {
            data: self.data.clone(),
            normalization: self.normalization.clone(),
            network: self.network.clone(),
        };
        write_weights(&dir.join(DECODER_WEIGHTS), &self.params)?;
        envelope::write(&dir.join(DECODER_JSON), DECODER_FORMAT, self.id, body)
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
    /// Parses the contents of a model folder's four files without touching the disk (`dir` names them in
    /// errors), checking each and that encoder and decoder belong together.
    pub fn from_bytes(
        dir: &Path,
        decoder_json: &[u8],
        decoder_weights: &[u8],
        encoder_json: &[u8],
        encoder_weights: &[u8],
    ) -> Result<Self> {
        let decoder = Decoder::from_bytes(dir, decoder_json, decoder_weights)?;
        let json = dir.join(ENCODER_JSON);
        let (id, file): (_, EncoderBody<NetworkSpec>) =
            envelope::read(encoder_json, &json, ENCODER_FORMAT)?;
        check_id(&json, &id, decoder.id)?;
        let features = decoder.data.features().expect("checked with the decoder");
        check_encoder(&json, &file.network, features, decoder.latent())?;
        let encoder_params =
            parse_weights(encoder_weights, &dir.join(ENCODER_WEIGHTS), &file.network)?;
        Ok(Model {
            encoder: file.network,
            encoder_params,
            decoder,
        })
    }

    /// Reads a model folder (all four files), checking that encoder and decoder belong together.
    pub fn load(dir: &Path) -> Result<Self> {
        super::model_folder(dir)?;
        let read = |name| fsutil::read_bytes(&dir.join(name));
        let decoder_json = read(DECODER_JSON)?;
        let decoder_weights = read(DECODER_WEIGHTS)?;
        let encoder_json = read(ENCODER_JSON)?;
        let encoder_weights = read(ENCODER_WEIGHTS)?;
        Self::from_bytes(
            dir,
            &decoder_json,
            &decoder_weights,
            &encoder_json,
            &encoder_weights,
        )
    }

    /// Writes the model folder (created if missing).
    pub fn save(&self, dir: &Path) -> Result<()> {
        fsutil::create_dir(dir)?;
        self.decoder.save(dir)?;
        write_weights(&dir.join(ENCODER_WEIGHTS), &self.encoder_params)?;
        let body = EncoderBody {
            network: self.encoder.clone(),
        };
        envelope::write(
            &dir.join(ENCODER_JSON),
            ENCODER_FORMAT,
            self.decoder.id,
            body,
        )
    }
}

/// Rewrites the model id recorded in a model folder's `decoder.json` and `encoder.json` (and the
/// `source_model_id` of a `quantized-decoder.json` beside them) to the id the decoder's contents hash to;
/// everything else is checked as on load. For after a change of the id's definition (its domain string
/// names the version), never to accept a model edited by hand. Returns the recorded and the new id; the
/// files are rewritten (atomically, only the id strings change) when they differ. See
/// [`super::quantized::restamp_ids`] for the quantised files.
pub fn restamp_ids(dir: &Path) -> Result<(String, ModelId)> {
    let json_path = dir.join(DECODER_JSON);
    let json = fsutil::read_bytes(&json_path)?;
    let (recorded, file): (String, DecoderBody<NetworkSpec>) =
        envelope::read(&json, &json_path, DECODER_FORMAT)?;
    check_decoder_parts(&json_path, &file.network, &file.normalization, &file.data)?;
    let weights = fsutil::read_bytes(&dir.join(DECODER_WEIGHTS))?;
    let params = parse_weights(&weights, &dir.join(DECODER_WEIGHTS), &file.network)?;
    let id = Decoder::new(file.network, params, file.normalization, file.data).id;
    let paths = [DECODER_JSON, ENCODER_JSON, QUANTIZED_DECODER].map(|f| dir.join(f));
    replace_id(&paths, &recorded, &id.to_string())?;
    Decoder::load(dir)?;
    Ok((recorded, id))
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

/// Checks that `params` are one weight and bias per layer with parameters, of the layer's shapes.
fn check_params(path: &Path, network: &NetworkSpec, params: &[LayerParams]) -> Result<()> {
    let expected: Vec<_> = network
        .layers
        .iter()
        .filter_map(|l| l.param_shapes())
        .collect();
    if params.len() != expected.len() {
        return Err(invalid_model(
            path,
            "parameters",
            format!(
                "{} parameter layers for a network with {} layers that have parameters",
                params.len(),
                expected.len()
            ),
        ));
    }
    for (i, (p, (w, b))) in params.iter().zip(expected).enumerate() {
        for (name, t, shape) in [("weight", &p.weight, w), ("bias", &p.bias, vec![b])] {
            if t.shape != shape || t.values.len() != shape.iter().product::<usize>() {
                return Err(invalid_model(
                    path,
                    &format!("layer{i}.{name}"),
                    format!(
                        "shape {:?} with {} values, the layer needs {shape:?}",
                        t.shape,
                        t.values.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Parses a safetensors file's contents for a network that has passed [`NetworkSpec::validate`].
fn parse_weights(bytes: &[u8], path: &Path, network: &NetworkSpec) -> Result<Vec<LayerParams>> {
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| Error::malformed(path, e.to_string()))?;
    let read = |name: String, shape: Vec<usize>| -> Result<ParamTensor> {
        let t = tensors
            .tensor(&name)
            .map_err(|_| invalid_model(path, &name, "missing tensor"))?;
        if t.dtype() != Dtype::F32 || t.shape() != shape.as_slice() {
            return Err(invalid_model(
                path,
                &name,
                format!(
                    "tensor is {:?} {:?}, the layer needs F32 {shape:?}",
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
    use crate::data::{DataKind, FloatType};
    use baler_core::{Activation, LayerSpec, NormalizationMethod};

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
            asinh_scale: vec![],
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

    /// The sample model's four files, as bytes.
    fn sample_files() -> [Vec<u8>; 4] {
        let dir = tempfile::tempdir().unwrap();
        sample_model().save(dir.path()).unwrap();
        [DECODER_JSON, DECODER_WEIGHTS, ENCODER_JSON, ENCODER_WEIGHTS]
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
    }

    /// `json` with `edit` applied.
    fn edited(json: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_slice(json).unwrap();
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    /// The sample decoder with `edit` applied, saved with the id its contents hash to (as a crafted file
    /// would carry, so that only the checks on load stand in the way) and loaded back: the error's field
    /// and text.
    fn refused(edit: impl FnOnce(&mut Decoder)) -> (String, String) {
        let mut d = sample_model().decoder;
        edit(&mut d);
        let crafted = Decoder::new(d.network, d.params, d.normalization, d.data);
        let dir = tempfile::tempdir().unwrap();
        crafted.save(dir.path()).unwrap();
        let err = Decoder::load(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("decoder."), "{text}");
        match err {
            Error::InvalidModel { field, .. } => (field, text),
            other => panic!("not an InvalidModel error: {other}"),
        }
    }

    #[test]
    fn sample_files_load_from_bytes() {
        let [dj, dw, ej, ew] = sample_files();
        let model = Model::from_bytes(Path::new("m"), &dj, &dw, &ej, &ew).unwrap();
        assert_eq!(model, sample_model());
        model.decoder.validate(Path::new("m")).unwrap();
    }

    #[test]
    fn empty_input_shape_without_layers_is_refused() {
        let (field, text) = refused(|d| {
            d.network = NetworkSpec {
                input_shape: vec![],
                layers: vec![],
            };
            d.params.clear();
        });
        assert_eq!(field, "network.input_shape", "{text}");
        // a rank-1 input with no layers has nothing to decode with
        let (field, _) = refused(|d| {
            d.network = NetworkSpec {
                input_shape: vec![3],
                layers: vec![],
            };
            d.params.clear();
        });
        assert_eq!(field, "network.layers");
    }

    #[test]
    fn empty_or_short_normalization_is_refused() {
        for (offset, scale) in [
            (vec![], vec![]),
            (vec![0.0], vec![1.0]),
            (vec![0.0; 3], vec![]),
        ] {
            let (field, text) = refused(|d| {
                d.normalization.offset = offset;
                d.normalization.scale = scale;
            });
            assert_eq!(field, "normalization", "{text}");
            assert!(text.contains("the data needs 3"), "{text}");
        }
        let (field, text) = refused(|d| d.normalization.scale[1] = 0.0);
        assert_eq!(field, "normalization", "{text}");
        assert!(text.contains("normalization.scale[1]"), "{text}");
    }

    #[test]
    fn data_signature_must_fit_the_network() {
        let (field, text) = refused(|d| d.data.integer = vec![true]);
        assert_eq!(field, "data.integer", "{text}");
        let (field, text) = refused(|d| {
            d.data.names.pop();
            d.data.integer.pop();
        });
        assert_eq!(field, "network", "{text}");
        assert!(text.contains("has 2 features"), "{text}");
        let (field, text) = refused(|d| {
            d.data.kind = DataKind::Fields {
                height: 1,
                width: 3,
            }
        });
        assert_eq!(field, "data.names", "{text}");
        let (field, _) = refused(|d| {
            d.data.names.clear();
            d.data.integer.clear();
        });
        assert_eq!(field, "data.names");
    }

    #[test]
    fn impossible_layers_are_named_without_overflow() {
        let (field, text) = refused(|d| d.network.input_shape = vec![1 << 40]);
        assert_eq!(field, "network.input_shape", "{text}");
        let (field, text) = refused(|d| {
            d.network.layers[1] = LayerSpec::Dense {
                inputs: 5,
                outputs: 3,
                activation: Activation::Linear,
            }
        });
        assert_eq!(field, "network.layers[1]", "{text}");
        let (field, text) = refused(|d| {
            d.network.layers.insert(
                1,
                LayerSpec::Unflatten {
                    channels: 1 << 62,
                    height: 4,
                    width: 4,
                },
            )
        });
        assert_eq!(field, "network.layers[1]", "{text}");
        let (field, text) = refused(|d| {
            d.network.layers[0] = LayerSpec::Dense {
                inputs: 2,
                outputs: 0,
                activation: Activation::Linear,
            }
        });
        assert_eq!(field, "network.layers[0]", "{text}");
        // the network is fine but its parameters are not the layers'
        let (field, text) = refused(|d| d.params[1].weight.shape = vec![3, 4]);
        assert_eq!(field, "layer1.weight", "{text}");
        assert!(
            text.contains("decoder.safetensors: layer1.weight"),
            "{text}"
        );
    }

    #[test]
    fn edited_names_or_flags_change_the_id() {
        for edit in [
            (|v: &mut serde_json::Value| v["data"]["names"][1] = serde_json::json!("renamed"))
                as fn(&mut serde_json::Value),
            |v| v["data"]["integer"][1] = serde_json::json!(false),
            |v| v["data"]["names"] = serde_json::json!(["c", "b", "a"]),
        ] {
            let [dj, dw, ej, ew] = sample_files();
            let dj = edited(&dj, edit);
            let err = Model::from_bytes(Path::new("m"), &dj, &dw, &ej, &ew).unwrap_err();
            assert!(
                matches!(&err, Error::Mismatch(m) if m.contains("does not match the decoder")),
                "{err}"
            );
        }
    }

    #[test]
    fn encoder_must_fit_the_decoder() {
        let [dj, dw, ej, ew] = sample_files();
        let dir = Path::new("model");
        let ej = edited(&ej, |v| {
            v["network"]["input_shape"] = serde_json::json!([4])
        });
        let err = Model::from_bytes(dir, &dj, &dw, &ej, &ew).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidModel { path, .. } if path.ends_with(ENCODER_JSON)),
            "{err}"
        );
    }
}

//! Trained models on disk. The decoder (JSON description + safetensors weights) is all that
//! decompression needs and is stored apart from the encoder; both carry the model id, which is
//! recomputed on load so an edited or mismatched file is refused. Every count in the files is checked
//! against the network before it is used.

use crate::container::Header;
use crate::data::{DataKind, Dataset, FloatType};
use crate::error::{Error, Result};
use crate::fsutil;
use baler_core::{
    DataLayout, LayerParams, MAX_TENSOR_VALUES, ModelId, NetworkError, NetworkSpec, Normalization,
    ParamTensor, SampleKind,
};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File names inside a model folder.
pub const DECODER_JSON: &str = "decoder.json";
/// Decoder weights.
pub const DECODER_WEIGHTS: &str = "decoder.safetensors";
/// Encoder description.
pub const ENCODER_JSON: &str = "encoder.json";
/// Quantised decoder file name (written by `baler quantize`, read by `crate::quantized`).
pub const QUANTIZED_DECODER: &str = "quantized-decoder.json";
/// Quantised encoder file name.
pub const QUANTIZED_ENCODER: &str = "quantized-encoder.json";
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

    /// The signature as the model id hashes it.
    pub fn layout(&self) -> DataLayout<'_> {
        DataLayout {
            kind: match self.kind {
                DataKind::Table => SampleKind::Table,
                DataKind::Fields { height, width } => SampleKind::Fields { height, width },
            },
            names: &self.names,
            integer: &self.integer,
        }
    }

    /// Values per sample (table variables, or field height × width); `None` if that overflows.
    pub fn features(&self) -> Option<usize> {
        match self.kind {
            DataKind::Table => Some(self.names.len()),
            DataKind::Fields { height, width } => height.checked_mul(width),
        }
    }

    /// Offset/scale pairs the normalisation has: one per table variable, one for all values of fields.
    pub fn normalization_variables(&self) -> usize {
        match self.kind {
            DataKind::Table => self.names.len(),
            DataKind::Fields { .. } => 1,
        }
    }

    /// Checks the signature on its own: a table has at least one variable and one integer flag per
    /// variable; fields have a non-empty size of at most [`MAX_TENSOR_VALUES`] values, no names and no
    /// flags. `path` names the model file in the error.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let fail = |field: &str, message: String| Err(invalid_model(path, field, message));
        match self.kind {
            DataKind::Table => {
                if self.names.is_empty() {
                    return fail("data.names", "a table needs at least one variable".into());
                }
                if self.integer.len() != self.names.len() {
                    return fail(
                        "data.integer",
                        format!(
                            "{} flags for {} variables; there must be one per variable",
                            self.integer.len(),
                            self.names.len()
                        ),
                    );
                }
            }
            DataKind::Fields { height, width } => {
                if height == 0
                    || width == 0
                    || self.features().is_none_or(|n| n > MAX_TENSOR_VALUES)
                {
                    return fail(
                        "data.kind",
                        format!(
                            "fields of {height} × {width}: each side must be at least 1 and the field at most {MAX_TENSOR_VALUES} values"
                        ),
                    );
                }
                if !self.names.is_empty() || !self.integer.is_empty() {
                    return fail(
                        "data.names",
                        "fields have no variable names or integer flags (both must be empty)"
                            .into(),
                    );
                }
            }
        }
        Ok(())
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

/// An [`Error::InvalidModel`].
pub(crate) fn invalid_model(path: &Path, field: &str, message: impl Into<String>) -> Error {
    Error::InvalidModel {
        path: path.to_path_buf(),
        field: field.into(),
        message: message.into(),
    }
}

/// A network's error as an [`Error::InvalidModel`] naming the part of `field` (`network`) at fault.
pub(crate) fn invalid_network(path: &Path, field: &str, e: &NetworkError) -> Error {
    let part = match e {
        NetworkError::InputShape(_) => format!("{field}.input_shape"),
        NetworkError::Shape(s) => format!("{field}.layers[{}]", s.layer),
        NetworkError::Layer { layer, .. } => format!("{field}.layers[{layer}]"),
        NetworkError::NoParameters => format!("{field}.layers"),
    };
    invalid_model(path, &part, e.to_string())
}

/// Checks that a decoder's network, normalisation and data signature fit together: the network is valid
/// (see [`NetworkSpec::validate`]), takes `[latent]` and gives one value per data feature, and the
/// normalisation has one finite pair per variable. Returns the latent size. `path` names the decoder file.
pub(crate) fn check_decoder_parts(
    path: &Path,
    network: &NetworkSpec,
    normalization: &Normalization,
    data: &DataSignature,
) -> Result<usize> {
    data.validate(path)?;
    let shapes = network
        .validate()
        .map_err(|e| invalid_network(path, "network", &e))?;
    let [latent] = network.input_shape[..] else {
        return Err(invalid_model(
            path,
            "network.input_shape",
            format!(
                "{:?}: a decoder takes the latent vector, [latent size]",
                network.input_shape
            ),
        ));
    };
    let output = shapes.last().expect("shapes start with the input");
    let values: usize = output.iter().product();
    if Some(values) != data.features() {
        return Err(invalid_model(
            path,
            "network",
            format!(
                "the decoder gives {output:?} = {values} values per sample, but the data ({:?}, {} names) has {} features",
                data.kind,
                data.names.len(),
                data.features().map_or("too many".into(), |n| n.to_string())
            ),
        ));
    }
    normalization
        .validate(data.normalization_variables())
        .map_err(|e| invalid_model(path, "normalization", e.to_string()))?;
    Ok(latent)
}

/// Checks that an encoder fits its decoder: a valid network taking one sample of `features` values and
/// giving the decoder's `[latent]`. `path` names the encoder file.
pub(crate) fn check_encoder(
    path: &Path,
    network: &NetworkSpec,
    features: usize,
    latent: usize,
) -> Result<()> {
    let shapes = network
        .validate()
        .map_err(|e| invalid_network(path, "network", &e))?;
    let inputs: usize = network.input_shape.iter().product();
    if inputs != features {
        return Err(invalid_model(
            path,
            "network.input_shape",
            format!(
                "{:?} = {inputs} values, but the data has {features} features per sample",
                network.input_shape
            ),
        ));
    }
    let output = shapes.last().expect("shapes start with the input");
    if output[..] != [latent] {
        return Err(invalid_model(
            path,
            "network",
            format!("the encoder gives {output:?}, the decoder takes [{latent}]"),
        ));
    }
    Ok(())
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
        let file: DecoderFile = parse_json(json, &json_path, "baler-decoder")?;
        check_decoder_parts(&json_path, &file.network, &file.normalization, &file.data)?;
        let params = parse_weights(weights, &dir.join(DECODER_WEIGHTS), &file.network)?;
        let decoder = Decoder::new(file.network, params, file.normalization, file.data);
        check_id(&json_path, &file.model_id, decoder.id)?;
        Ok(decoder)
    }

    /// Reads `decoder.json` and `decoder.safetensors` from a model folder.
    pub fn load(dir: &Path) -> Result<Self> {
        let json = fsutil::read_bytes(&dir.join(DECODER_JSON))?;
        let weights = fsutil::read_bytes(&dir.join(DECODER_WEIGHTS))?;
        Self::from_bytes(dir, &json, &weights)
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
        let file: EncoderFile = parse_json(encoder_json, &json, "baler-encoder")?;
        check_id(&json, &file.model_id, decoder.id)?;
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
        let file = EncoderFile {
            format: "baler-encoder".into(),
            version: 1,
            model_id: self.decoder.id.to_string(),
            network: self.encoder.clone(),
        };
        write_json(&dir.join(ENCODER_JSON), &file)
    }
}

/// Rewrites the model id recorded in a model folder's `decoder.json` and `encoder.json` (and the
/// `source_model_id` of a `quantized-decoder.json` beside them) to the id the decoder's contents hash to;
/// everything else is checked as on load. For after a change of the id's definition (its domain string
/// names the version), never to accept a model edited by hand. Returns the recorded and the new id; the
/// files are rewritten (atomically, only the id strings change) when they differ. See
/// [`crate::quantized::restamp_ids`] for the quantised files.
pub fn restamp_ids(dir: &Path) -> Result<(String, ModelId)> {
    let json_path = dir.join(DECODER_JSON);
    let json = fsutil::read_bytes(&json_path)?;
    let file: DecoderFile = parse_json(&json, &json_path, "baler-decoder")?;
    check_decoder_parts(&json_path, &file.network, &file.normalization, &file.data)?;
    let weights = fsutil::read_bytes(&dir.join(DECODER_WEIGHTS))?;
    let params = parse_weights(&weights, &dir.join(DECODER_WEIGHTS), &file.network)?;
    let id = Decoder::new(file.network, params, file.normalization, file.data).id;
    let paths = [DECODER_JSON, ENCODER_JSON, QUANTIZED_DECODER].map(|f| dir.join(f));
    replace_id(&paths, &file.model_id, &id.to_string())?;
    Decoder::load(dir)?;
    Ok((file.model_id, id))
}

/// Replaces the JSON string `"old"` by `"new"` in those of `paths` that exist.
pub(crate) fn replace_id(paths: &[PathBuf], old: &str, new: &str) -> Result<()> {
    if old == new {
        return Ok(());
    }
    for path in paths.iter().filter(|p| p.exists()) {
        let text = String::from_utf8(fsutil::read_bytes(path)?)
            .map_err(|e| Error::malformed(path, e.to_string()))?;
        let quoted = |id: &str| format!("\"{id}\"");
        fsutil::write_bytes(path, text.replace(&quoted(old), &quoted(new)).as_bytes())?;
    }
    Ok(())
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

/// Parses a model JSON file's contents, checking its `format` tag and version; `path` names it in errors.
pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    path: &Path,
    format: &str,
) -> Result<T> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
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

//! The project configuration (`baler.toml`): which data, which model, how to train, how to store the
//! latent codes. Every field has a default; `baler new-project` writes a commented copy.

pub use crate::container::LatentPrecision;
use crate::container::Predictor;
use crate::data::{DataKind, Dataset, Layout};
use crate::error::{Error, Result};
use baler_core::NormalizationMethod;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectConfig {
    /// `[data]`
    pub data: DataConfig,
    /// `[model]`
    pub model: ModelConfig,
    /// `[training]`
    pub training: TrainingConfig,
    /// `[compression]`
    pub compression: CompressionConfig,
    /// `[evaluation]`
    pub evaluation: EvaluationConfig,
}

/// Where the data comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Input file (`.npy`, `.npz`, `.csv`), relative to the project folder.
    pub input: PathBuf,
    /// Variable names of a table, overriding names found in the file.
    pub names: Vec<String>,
    /// How a 2-D array is read: a table, or one field (an image).
    pub layout: Layout,
}

/// Which autoencoder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// `baler` for tables, `conv` for fields.
    #[default]
    Auto,
    /// The Baler paper's dense model: n→200→100→50→z and mirror.
    Baler,
    /// A small dense model meant for FPGAs: n→32→16→z and mirror, ReLU.
    FpgaSmall,
    /// Convolutional encoder/decoder for 2-D fields.
    Conv,
}

/// Hidden-layer nonlinearity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationName {
    /// LeakyReLU with `leaky_slope`.
    #[default]
    LeakyRelu,
    /// ReLU.
    Relu,
}

/// The model's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Model family.
    pub preset: Preset,
    /// Hidden sizes of a dense encoder (the decoder mirrors them); overrides the preset's.
    pub hidden: Option<Vec<usize>>,
    /// Latent size; takes precedence over `ratio`.
    pub latent: Option<usize>,
    /// Values per sample divided by latent size (default 1.6 for tables, 100 for fields).
    pub ratio: Option<f64>,
    /// Hidden-layer nonlinearity (`ModelConfig::for_preset` picks ReLU for `fpga-small`).
    pub activation: ActivationName,
    /// Slope of LeakyReLU for negative inputs.
    pub leaky_slope: f32,
    /// Channels of the strided convolutions of the `conv` preset.
    pub conv_channels: Vec<usize>,
    /// Largest flattened size before the `conv` preset's dense layer: stride-2 stages with the last channel count
    /// are added until the field is that small (the dense layer's weights grow with it times the latent size).
    pub conv_max_flattened: usize,
    /// Largest model (encoder and decoder parameters together) trained without complaint.
    pub max_parameters: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            preset: Preset::Auto,
            hidden: None,
            latent: None,
            ratio: None,
            activation: ActivationName::LeakyRelu,
            leaky_slope: 0.01,
            conv_channels: vec![16, 8],
            conv_max_flattened: 4096,
            max_parameters: 20_000_000,
        }
    }
}

impl ModelConfig {
    /// The defaults of `preset`: ReLU for `fpga-small` (cheapest in hardware), LeakyReLU otherwise.
    pub fn for_preset(preset: Preset) -> Self {
        let activation = match preset {
            Preset::FpgaSmall => ActivationName::Relu,
            _ => ActivationName::LeakyRelu,
        };
        ModelConfig {
            preset,
            activation,
            ..ModelConfig::default()
        }
    }
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Adam's initial learning rate.
    pub learning_rate: f64,
    /// β of the loss (1−β)·MSE + β·mean|w|.
    pub l1_beta: f64,
    /// Fraction of samples held out for validation (early stopping and learning-rate schedule).
    pub validation_fraction: f64,
    /// Epochs without validation improvement before the learning rate is multiplied by `lr_factor`.
    pub lr_patience: usize,
    /// Learning-rate reduction factor.
    pub lr_factor: f64,
    /// Floor of the learning rate.
    pub min_lr: f64,
    /// Epochs without validation improvement before training stops (0: never).
    pub early_stopping_patience: usize,
    /// Seed of initialisation, split and shuffling: the same seed gives the same model.
    pub seed: u64,
    /// Per-variable normalisation fitted on the training data.
    pub normalization: NormalizationMethod,
    /// Which variables pass through asinh(x / median) before it (log-like: for heavy tails).
    pub asinh: AsinhSetting,
    /// Loss weight per table variable, by name (others weigh 1): say which variables matter most.
    pub weights: BTreeMap<String, f64>,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            epochs: 500,
            batch_size: 512,
            learning_rate: 1e-3,
            l1_beta: 1e-5,
            validation_fraction: 0.15,
            lr_patience: 20,
            lr_factor: 0.5,
            min_lr: 1e-6,
            early_stopping_patience: 60,
            seed: 1,
            normalization: NormalizationMethod::MinMax,
            asinh: AsinhSetting::Rule(AsinhRule::Auto),
            weights: BTreeMap::new(),
        }
    }
}

/// Which variables get the asinh transform before the affine normalisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AsinhSetting {
    /// `"auto"`, `"none"` or `"all"`.
    Rule(AsinhRule),
    /// These table variables, by name.
    Variables(Vec<String>),
}

/// The rules of [`AsinhSetting`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AsinhRule {
    /// Strictly positive variables whose largest value is at least 20 × their median.
    Auto,
    /// No variable.
    None,
    /// Every variable (fields: all values).
    All,
}

/// How compressed files are written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressionConfig {
    /// Precision of the latent values; unset, the smallest file whose reconstruction error stays within 1 % of
    /// f32 latents', measured on a sample.
    pub latent_precision: Option<LatentPrecision>,
    /// zstd level for the latent payload (1–22).
    pub zstd_level: i32,
    /// Error-bounded mode when not empty: `abs:<bound>`, `rel:<bound>` (× the variable's range), or either
    /// behind a variable name (`pt=rel:1e-4`); every variable needs a bound.
    pub error_bounds: Vec<BoundSpec>,
    /// Error-bounded mode: what predicts the values (`autoencoder`, `none`, and for fields `autoencoder+lorenzo`,
    /// `autoencoder+interpolation`, or `lorenzo` or `interpolation` alone); unset, the one that makes the smallest
    /// file on a sample.
    pub predictor: Option<Predictor>,
    /// Samples per chunk: data with more is read, compressed and written chunk by chunk, in memory bounded by
    /// the chunks in flight, into a chunked file whose index restores any range of rows; unset, 2^20 values
    /// (8 MiB as f64) per chunk.
    pub chunk_rows: Option<usize>,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        CompressionConfig {
            latent_precision: None,
            zstd_level: 19,
            error_bounds: Vec::new(),
            predictor: None,
            chunk_rows: None,
        }
    }
}

/// Where row 0 of a field is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// At the top, as images are stored.
    #[default]
    Upper,
    /// At the bottom, as a latitude-ascending grid is read.
    Lower,
}

/// How reconstructions are judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Values with |x| below this are left out of the response (x̂−x)/x.
    pub response_threshold: f64,
    /// Values with |x| below this fraction of their variable's median |x| are left out too.
    pub response_relative_threshold: f64,
    /// Write PNG plots.
    pub plots: bool,
    /// A table: pages of their own for this many variables, those with the largest relative error first (the
    /// summary page shows every variable; a number at least the variables' draws them all).
    pub variable_pages: usize,
    /// Fields: where row 0 is drawn (`upper`, as images are stored; `lower` for latitude-ascending grids).
    pub origin: Origin,
}

impl EvaluationConfig {
    /// Which values enter the response.
    pub fn response_cut(&self) -> crate::evaluate::ResponseCut {
        crate::evaluate::ResponseCut {
            absolute: self.response_threshold,
            relative: self.response_relative_threshold,
        }
    }
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            response_threshold: 1e-6,
            response_relative_threshold: 0.01,
            plots: true,
            variable_pages: 8,
            origin: Origin::Upper,
        }
    }
}

impl ProjectConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let config: ProjectConfig = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.into(),
            message: e.to_string(),
        })?;
        config.check().map_err(|message| Error::Config {
            path: path.into(),
            message,
        })?;
        Ok(config)
    }

    /// Checks value ranges, describing the first problem.
    pub fn check(&self) -> std::result::Result<(), String> {
        let t = &self.training;
        let checks = [
            (t.epochs > 0, "training.epochs must be at least 1"),
            (t.batch_size > 0, "training.batch_size must be at least 1"),
            (
                t.learning_rate > 0.0,
                "training.learning_rate must be positive",
            ),
            (
                (0.0..1.0).contains(&t.l1_beta),
                "training.l1_beta must be in [0, 1)",
            ),
            (
                (0.0..0.9).contains(&t.validation_fraction),
                "training.validation_fraction must be in [0, 0.9)",
            ),
            (
                t.lr_factor > 0.0 && t.lr_factor < 1.0,
                "training.lr_factor must be in (0, 1)",
            ),
            (
                t.weights.values().all(|w| w.is_finite() && *w > 0.0),
                "training.weights must be positive",
            ),
            (
                self.model.latent != Some(0),
                "model.latent must be at least 1",
            ),
            (
                self.model.ratio.is_none_or(|r| r >= 1.0),
                "model.ratio must be at least 1",
            ),
            (
                self.model
                    .hidden
                    .as_ref()
                    .is_none_or(|h| h.iter().all(|&n| n > 0)),
                "model.hidden sizes must be positive",
            ),
            (
                !self.model.conv_channels.is_empty()
                    && self.model.conv_channels.iter().all(|&n| n > 0),
                "model.conv_channels must list at least one positive channel count",
            ),
            (
                self.model.conv_max_flattened > 0,
                "model.conv_max_flattened must be at least 1",
            ),
            (
                (1..=22).contains(&self.compression.zstd_level),
                "compression.zstd_level must be 1..=22",
            ),
            (
                self.evaluation.response_threshold >= 0.0,
                "evaluation.response_threshold must be non-negative",
            ),
            (
                (0.0..1.0).contains(&self.evaluation.response_relative_threshold),
                "evaluation.response_relative_threshold must be in [0, 1)",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(message.to_string()),
            None => Ok(()),
        }
    }
}

impl ProjectConfig {
    /// The defaults for this data: as `Default`, but batches of 8 for fields (a stack has few samples), and the layout
    /// the data was read in.
    pub fn for_data(input: PathBuf, data: &Dataset) -> Self {
        let mut config = ProjectConfig {
            data: DataConfig {
                input,
                names: Vec::new(),
                // the layout the data was read in, so that later reads need no guess
                layout: match data.kind {
                    DataKind::Table => Layout::Table,
                    DataKind::Fields { .. } => Layout::Fields,
                },
            },
            ..Default::default()
        };
        if let DataKind::Fields { .. } = data.kind {
            config.training.batch_size = 8;
        }
        config
    }

    /// The configuration as a `baler.toml` that explains every setting; unset options appear as comments.
    pub fn to_commented_toml(&self) -> String {
        let (d, m, t, c, e) = (
            &self.data,
            &self.model,
            &self.training,
            &self.compression,
            &self.evaluation,
        );
        let optional = |set: bool, line: String| if set { line } else { format!("# {line}") };
        let names = optional(
            !d.names.is_empty(),
            format!(
                "names = {}",
                if d.names.is_empty() {
                    r#"["pt", "eta"]"#.into()
                } else {
                    value(&d.names)
                }
            ),
        );
        let hidden = optional(
            m.hidden.is_some(),
            format!(
                "hidden = {}",
                value(m.hidden.clone().unwrap_or(vec![200, 100, 50]))
            ),
        );
        let latent = optional(
            m.latent.is_some(),
            format!("latent = {}", m.latent.unwrap_or(5)),
        );
        let ratio = optional(
            m.ratio.is_some() && m.latent.is_none(),
            format!("ratio = {}", m.ratio.unwrap_or(1.6)),
        );
        let weights = optional(
            !t.weights.is_empty(),
            format!(
                "weights = {}",
                if t.weights.is_empty() {
                    "{ pt = 4.0 }".into()
                } else {
                    inline_table(&t.weights)
                }
            ),
        );
        format!(
            r#"# Baler project configuration. Paths are relative to this folder.

[data]
input = {input}
{names}   # variable names of a table (default: from the file, or var0, var1, ...)
layout = {layout}   # how a 2-D array is read: auto | table | fields (one image); a 3-D array is a stack of fields

[model]
preset = {preset}   # auto (baler for tables, conv for fields) | baler | fpga-small | conv
{latent}   # latent values per sample; or
{ratio}   # values per sample / latent size (default 1.6 for tables, 100 for fields)
{hidden}   # dense hidden sizes of the encoder; the decoder mirrors them
activation = {activation}   # leaky_relu | relu
leaky_slope = {slope}
conv_channels = {channels}   # channels of the stride-2 convolutions (conv preset)
conv_max_flattened = {flat}   # conv preset: stages with the last channel count are added until the flattened field is this small
max_parameters = {maxp}   # larger models (encoder + decoder) are refused

[training]
epochs = {epochs}   # maximum; early stopping usually ends sooner
batch_size = {batch}
learning_rate = {lr:e}   # Adam
l1_beta = {beta:e}   # loss = (1 - l1_beta) * weighted MSE + l1_beta * mean|weight|
validation_fraction = {val}   # held out for early stopping and the learning-rate schedule
lr_patience = {lrp}   # epochs without improvement before the learning rate is multiplied by lr_factor
lr_factor = {lrf}
min_lr = {minlr:e}
early_stopping_patience = {esp}   # 0 disables early stopping
seed = {seed}   # same seed and data: same model
normalization = {norm}   # min_max | standard (fitted here, stored with the model)
asinh = {asinh}   # before it, asinh(x / median) for: "auto" (positive, max >= 20 x median), "none", "all", or ["pt", "E"]
{weights}   # loss weight per variable (default 1): favour the variables that matter most

[compression]
{prec}   # f32 | f16 | codes (quantised model); unset: the smallest file within 1 % of f32's error, measured
zstd_level = {zstd}

[evaluation]
response_threshold = {thr:e}   # |x| below this is left out of the response (x_rec - x)/x
response_relative_threshold = {rel}   # and |x| below this fraction of the variable's median |x|
plots = {plots}
variable_pages = {pages}   # tables: pages for the variables with the largest error (summary.png shows all)
origin = {origin}   # fields: row 0 drawn at the upper or lower edge
"#,
            input = value(d.input.to_string_lossy()),
            layout = value(d.layout),
            preset = value(m.preset),
            activation = value(m.activation),
            slope = m.leaky_slope,
            channels = value(&m.conv_channels),
            flat = m.conv_max_flattened,
            maxp = m.max_parameters,
            epochs = t.epochs,
            batch = t.batch_size,
            lr = t.learning_rate,
            beta = t.l1_beta,
            val = t.validation_fraction,
            lrp = t.lr_patience,
            lrf = t.lr_factor,
            minlr = t.min_lr,
            esp = t.early_stopping_patience,
            seed = t.seed,
            norm = value(t.normalization),
            asinh = value(&t.asinh),
            prec = optional(
                c.latent_precision.is_some(),
                format!(
                    "latent_precision = {}",
                    value(c.latent_precision.unwrap_or(LatentPrecision::F16))
                )
            ),
            zstd = c.zstd_level,
            thr = e.response_threshold,
            rel = e.response_relative_threshold,
            plots = e.plots,
            pages = e.variable_pages,
            origin = value(e.origin),
        )
    }
}

fn value<T: Serialize>(v: T) -> String {
    toml::Value::try_from(v)
        .expect("configuration values serialise")
        .to_string()
}

fn inline_table(map: &BTreeMap<String, f64>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{} = {}", value(k), value(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

/// An error bound as a user states it, for every variable or for one.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundSpec {
    /// The variable it is for (a table's variable name); `None` for every variable not named elsewhere.
    pub variable: Option<String>,
    /// The bound.
    pub bound: ErrorBound,
}

/// The kinds of bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ErrorBound {
    /// |restored − original| ≤ this, in the variable's units.
    Absolute(f64),
    /// |restored − original| ≤ this × (the variable's largest − smallest value in the data compressed).
    Relative(f64),
    /// |restored − original| ≤ this × |original|, value by value (for steep spectra: pt, energies).
    Pointwise(f64),
}

impl FromStr for BoundSpec {
    type Err = String;

    /// `abs:0.01`, `rel:1e-3`, or either behind a variable name: `pt=rel:1e-4`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let (variable, bound) = match text.rsplit_once('=') {
            Some((name, bound)) if !name.is_empty() => (Some(name.to_string()), bound),
            _ => (None, text),
        };
        let usage = || {
            format!(
                "'{text}': write abs:<bound>, rel:<bound> (× the variable's range), pw:<bound> (× each value), or <variable>=…"
            )
        };
        let (kind, value) = bound.split_once(':').ok_or_else(usage)?;
        let value: f64 = value.parse().map_err(|_| usage())?;
        if !(value.is_finite() && value >= 0.0) {
            return Err(format!("'{text}': a bound must be a finite number ≥ 0"));
        }
        let bound = match kind {
            "abs" => ErrorBound::Absolute(value),
            "rel" => ErrorBound::Relative(value),
            "pw" => ErrorBound::Pointwise(value),
            _ => return Err(usage()),
        };
        Ok(BoundSpec { variable, bound })
    }
}

impl serde::Serialize for BoundSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for BoundSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for BoundSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = &self.variable {
            write!(f, "{v}=")?;
        }
        match self.bound {
            ErrorBound::Absolute(b) => write!(f, "abs:{b}"),
            ErrorBound::Relative(b) => write!(f, "rel:{b}"),
            ErrorBound::Pointwise(b) => write!(f, "pw:{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for text in [
            "abs:0.01",
            "rel:0.001",
            "pt=rel:0.0001",
            "a=b=abs:2",
            "pt=pw:0.002",
        ] {
            let spec: BoundSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            "a=b=abs:2"
                .parse::<BoundSpec>()
                .unwrap()
                .variable
                .as_deref(),
            Some("a=b")
        );
        for bad in [
            "0.01", "abs", "abs:x", "pr:0.1", "rel:-1", "abs:inf", "abs:NaN", "=abs:1",
        ] {
            assert!(bad.parse::<BoundSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn partial_file_takes_defaults_and_bad_values_are_named() {
        let c: ProjectConfig = toml::from_str("[model]\nlatent = 5\n").unwrap();
        assert_eq!(c.model.latent, Some(5));
        assert_eq!(c.training, TrainingConfig::default());
        let mut bad = c.clone();
        bad.training.batch_size = 0;
        assert!(bad.check().unwrap_err().contains("batch_size"));
        assert!(toml::from_str::<ProjectConfig>("[model]\nlatnet = 5\n").is_err());
    }

    #[test]
    fn commented_toml_parses_back_to_the_same_configuration() {
        let mut c = ProjectConfig::default();
        assert_eq!(
            toml::from_str::<ProjectConfig>(&c.to_commented_toml()).unwrap(),
            c
        );
        c.data.input = "data/x y.npz".into();
        c.data.names = vec!["pt".into(), "η".into()];
        c.model = ModelConfig {
            preset: Preset::FpgaSmall,
            hidden: Some(vec![8]),
            latent: Some(3),
            ratio: Some(2.0),
            ..c.model
        };
        c.training.weights.insert("pt".into(), 5.0);
        c.training.learning_rate = 3e-4;
        c.compression.latent_precision = Some(LatentPrecision::F16);
        let back: ProjectConfig = toml::from_str(&c.to_commented_toml()).unwrap();
        c.model.ratio = None; // latent takes precedence, so ratio is written as a comment
        assert_eq!(back, c);
    }
}

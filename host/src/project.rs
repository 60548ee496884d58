//! A project folder: `baler.toml`, the trained model, training history and outputs, and the library
//! calls behind each CLI subcommand (train, compress, decompress, evaluate).

use crate::codec;
use crate::config::{CompressionConfig, EvaluationConfig, Preset, ProjectConfig};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::evaluate::{self, Evaluation, Sizes};
use crate::format::CompressedFile;
use crate::fsutil;
use crate::model_store::{Decoder, Model};
use crate::plot;
use crate::train::{self, EpochStats, TrainReport};
use burn::tensor::Device;
use std::path::{Path, PathBuf};

/// Name of the configuration file in a project folder.
pub const CONFIG_FILE: &str = "baler.toml";

/// An opened project.
#[derive(Clone, Debug)]
pub struct Project {
    /// The project folder.
    pub dir: PathBuf,
    /// Its configuration.
    pub config: ProjectConfig,
}

/// Choices for a new project beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct NewProject {
    /// Data file (absolute, or relative to the project folder).
    pub input: PathBuf,
    /// Model family.
    pub preset: Preset,
    /// Latent size.
    pub latent: Option<usize>,
    /// Or compression ratio.
    pub ratio: Option<f64>,
    /// Maximum epochs, if not the default.
    pub epochs: Option<usize>,
    /// Variable names of a table, if the file has none.
    pub names: Vec<String>,
    /// Samples per batch [default: 512 for tables, 8 for fields, which have few samples].
    pub batch_size: Option<usize>,
}

impl Project {
    /// Creates `dir` with a commented `baler.toml`; refuses to overwrite an existing one.
    pub fn create(dir: &Path, new: &NewProject) -> Result<Project> {
        let path = dir.join(CONFIG_FILE);
        if path.exists() {
            return Err(Error::Mismatch(format!(
                "{} already exists; open it instead of creating it",
                path.display()
            )));
        }
        // read the data now, so that a bad file is reported before anything is written
        let data = Dataset::load(&dir.join(&new.input), &new.names)?;
        let mut new = new.clone();
        if let (None, DataKind::Fields { .. }) = (new.batch_size, data.kind) {
            new.batch_size = Some(8);
        }
        fsutil::create_dir(dir)?;
        fsutil::write_bytes(&path, config_template(&new).as_bytes())?;
        Project::open(dir)
    }

    /// Opens the project in `dir`.
    pub fn open(dir: &Path) -> Result<Project> {
        let path = dir.join(CONFIG_FILE);
        if !path.exists() {
            return Err(Error::Mismatch(format!(
                "{} is not a project folder (no {CONFIG_FILE}); create one with `baler new-project`",
                dir.display()
            )));
        }
        Ok(Project {
            dir: dir.to_path_buf(),
            config: ProjectConfig::load(&path)?,
        })
    }

    /// The configured data file.
    pub fn input(&self) -> PathBuf {
        self.dir.join(&self.config.data.input)
    }
    /// Folder of the trained model.
    pub fn model_dir(&self) -> PathBuf {
        self.dir.join("model")
    }
    /// Folder of the training history and loss curve.
    pub fn training_dir(&self) -> PathBuf {
        self.dir.join("training")
    }
    /// Folder of compressed, decompressed and evaluation outputs.
    pub fn output_dir(&self) -> PathBuf {
        self.dir.join("output")
    }
    /// Default compressed file.
    pub fn compressed_path(&self) -> PathBuf {
        self.output_dir().join("compressed.baler")
    }
    /// Default decompressed file, in the input's format.
    pub fn decompressed_path(&self) -> PathBuf {
        let ext = self
            .config
            .data
            .input
            .extension()
            .map(|e| e.to_string_lossy().into_owned());
        self.output_dir()
            .join(format!("decompressed.{}", ext.as_deref().unwrap_or("npy")))
    }

    /// Trains on the configured data and writes the model, `training/history.json` and `training/loss.png`.
    pub fn train(
        &self,
        device: &Device,
        progress: &mut dyn FnMut(&EpochStats),
    ) -> Result<TrainReport> {
        let data = Dataset::load(&self.input(), &self.config.data.names)?;
        let (model, report) = train::train(
            &data,
            &self.config.model,
            &self.config.training,
            device,
            progress,
        )?;
        model.save(&self.model_dir())?;
        let dir = self.training_dir();
        fsutil::create_dir(&dir)?;
        let json = serde_json::to_vec_pretty(&report).expect("report serialises");
        fsutil::write_bytes(&dir.join("history.json"), &json)?;
        plot::loss_curve(&dir.join("loss.png"), &report.history)?;
        Ok(report)
    }
}

impl Project {
    /// The whole workflow on the configured data: train, compress, decompress, evaluate.
    pub fn run_all(
        &self,
        device: &Device,
        progress: &mut dyn FnMut(&EpochStats),
    ) -> Result<(TrainReport, Evaluation)> {
        let report = self.train(&device.clone().autodiff(), progress)?;
        let (input, compressed, decompressed) = (
            self.input(),
            self.compressed_path(),
            self.decompressed_path(),
        );
        compress_file(
            &self.model_dir(),
            &input,
            &self.config.data.names,
            &compressed,
            &self.config.compression,
            device,
        )?;
        decompress_file(&self.model_dir(), &compressed, &decompressed, device)?;
        let evaluation = evaluate_files(
            &EvaluationInputs {
                original: &input,
                names: &self.config.data.names,
                reconstructed: &decompressed,
                compressed: &compressed,
                model_dir: &self.model_dir(),
                out_dir: &self.output_dir(),
            },
            &self.config.evaluation,
        )?;
        Ok((report, evaluation))
    }
}

/// The compute device: `cpu` (burn's flex backend) or `wgpu` (when built with the `wgpu` feature).
pub fn device(backend: &str) -> Result<Device> {
    match backend {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        other => Err(Error::Mismatch(format!(
            "unknown backend '{other}': this build offers {}",
            if cfg!(feature = "wgpu") {
                "cpu, wgpu"
            } else {
                "cpu (rebuild with --features wgpu for wgpu)"
            }
        ))),
    }
}

/// What `compress` did.
#[derive(Clone, Debug)]
pub struct CompressSummary {
    /// Samples compressed.
    pub rows: usize,
    /// Latent values per sample.
    pub latent_size: usize,
    /// Raw input bytes.
    pub input_bytes: u64,
    /// Compressed file bytes.
    pub compressed_bytes: u64,
    /// Model id written in the file.
    pub model_id: String,
}

/// Compresses `input` with the model in `model_dir` into `output`.
pub fn compress_file(
    model_dir: &Path,
    input: &Path,
    names: &[String],
    output: &Path,
    config: &CompressionConfig,
    device: &Device,
) -> Result<CompressSummary> {
    let model = Model::load(model_dir)?;
    let data = Dataset::load(input, names)?;
    let file = codec::compress(&model, &data, input, config.latent_precision, device)?;
    let bytes = file.to_bytes(config.zstd_level);
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dir(dir)?;
    }
    fsutil::write_bytes(output, &bytes)?;
    Ok(CompressSummary {
        rows: data.rows,
        latent_size: file.header.latent_size,
        input_bytes: data.raw_bytes() as u64,
        compressed_bytes: bytes.len() as u64,
        model_id: file.header.model_id,
    })
}

/// Restores `input` (a compressed file) with the decoder in `model_dir` and writes `output`.
pub fn decompress_file(
    model_dir: &Path,
    input: &Path,
    output: &Path,
    device: &Device,
) -> Result<Dataset> {
    let file = CompressedFile::read(input)?;
    let decoder = Decoder::load(model_dir)?;
    let data = codec::decompress(&decoder, &file, input, device)?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dir(dir)?;
    }
    data.save(output)?;
    Ok(data)
}

/// Files to compare in an evaluation.
#[derive(Clone, Debug)]
pub struct EvaluationInputs<'a> {
    /// The original data.
    pub original: &'a Path,
    /// Its variable names, if overridden.
    pub names: &'a [String],
    /// The decompressed data.
    pub reconstructed: &'a Path,
    /// The compressed file (for R).
    pub compressed: &'a Path,
    /// The model folder (its decoder files count in R_actual).
    pub model_dir: &'a Path,
    /// Where `evaluation.json` and `plots/` go.
    pub out_dir: &'a Path,
}

/// Evaluates a reconstruction, writes `evaluation.json` and (if enabled) the plots.
pub fn evaluate_files(inputs: &EvaluationInputs, config: &EvaluationConfig) -> Result<Evaluation> {
    let original = Dataset::load(inputs.original, inputs.names)?;
    let reconstructed = Dataset::load(inputs.reconstructed, &original.names)?;
    let sizes = Sizes::measure(
        original.raw_bytes() as u64,
        inputs.compressed,
        &Decoder::files(inputs.model_dir),
    )?;
    let report = evaluate::evaluate(
        &original,
        &reconstructed,
        config.response_threshold,
        Some(sizes),
    )?;
    fsutil::create_dir(inputs.out_dir)?;
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    fsutil::write_bytes(&inputs.out_dir.join("evaluation.json"), &json)?;
    if config.plots {
        let dir = inputs.out_dir.join("plots");
        fsutil::create_dir(&dir)?;
        write_plots(&dir, &original, &reconstructed, config.response_threshold)?;
    }
    Ok(report)
}

fn write_plots(
    dir: &Path,
    original: &Dataset,
    reconstructed: &Dataset,
    threshold: f64,
) -> Result<()> {
    let n = original.features();
    match original.kind {
        DataKind::Table => {
            for (v, name) in original.names.iter().enumerate() {
                let column = |d: &Dataset| {
                    d.values
                        .iter()
                        .skip(v)
                        .step_by(n)
                        .copied()
                        .collect::<Vec<_>>()
                };
                let response = evaluate::responses(original, reconstructed, v, threshold);
                let file = format!("{:02}_{}.png", v, sanitize(name));
                plot::variable_histograms(
                    &dir.join(file),
                    name,
                    &column(original),
                    &column(reconstructed),
                    &response,
                )?;
            }
        }
        DataKind::Fields { height, width } => {
            let frames = [0, original.rows / 2, original.rows - 1];
            for (i, &f) in frames
                .iter()
                .enumerate()
                .filter(|(i, f)| !frames[..*i].contains(f))
            {
                let slice = |d: &Dataset| d.values[f * n..(f + 1) * n].to_vec();
                plot::field_images(
                    &dir.join(format!("field_{i}_frame{f}.png")),
                    &format!("field {f}"),
                    height,
                    width,
                    &slice(original),
                    &slice(reconstructed),
                )?;
            }
        }
    }
    Ok(())
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn toml_value<T: serde::Serialize>(v: T) -> String {
    toml::Value::try_from(v)
        .expect("configuration values serialise")
        .to_string()
}

/// The commented `baler.toml` of a new project; the values shown are the defaults in force.
pub fn config_template(new: &NewProject) -> String {
    let d = ProjectConfig::default();
    let (t, m, c, e) = (&d.training, &d.model, &d.compression, &d.evaluation);
    let preset = toml_value(new.preset);
    let latent = match (new.latent, new.ratio) {
        (Some(l), _) => format!("latent = {l}"),
        (None, Some(r)) => format!("ratio = {r}"),
        (None, None) => "# latent = 5            # latent values per sample; or\n# ratio = 1.6           # values per sample / latent size (default 1.6 for tables, 100 for fields)".into(),
    };
    format!(
        r#"# Baler project configuration. Paths are relative to this folder.

[data]
input = {input}
{names}

[model]
preset = {preset}           # auto (baler for tables, conv for fields) | baler | fpga-small | conv
{latent}
# hidden = [200, 100, 50] # dense hidden sizes (encoder; the decoder mirrors them)
activation = {activation}   # leaky_relu | relu
leaky_slope = {slope}
conv_channels = {channels:?}  # channels of the stride-2 convolutions (conv preset)

[training]
epochs = {epochs}             # maximum; early stopping usually ends sooner
batch_size = {batch}
learning_rate = {lr:e}     # Adam
l1_beta = {beta:e}           # loss = (1 - l1_beta) * MSE + l1_beta * mean|weight|
validation_fraction = {val}  # held out for early stopping and the learning-rate schedule
lr_patience = {lrp}          # epochs without improvement before the learning rate is halved
lr_factor = {lrf}
min_lr = {minlr:e}
early_stopping_patience = {esp}  # 0 disables early stopping
seed = {seed}                  # same seed, same data: same model
normalization = {norm}    # min_max | standard (fitted here, stored with the model)
# weights = {{ pt = 4.0 }}   # loss weight per variable (default 1): favour the variables that matter most

[compression]
latent_precision = {prec}   # f32 | f16
zstd_level = {zstd}

[evaluation]
response_threshold = {thr:e}  # |x| below this is left out of the response (x̂-x)/x
plots = {plots}
"#,
        input = toml_value(new.input.to_string_lossy()),
        names = if new.names.is_empty() {
            "# names = [\"pt\", \"eta\"]   # variable names of a table (default: from the file, or var0, var1, ...)".into()
        } else {
            format!("names = {}", toml_value(&new.names))
        },
        activation = toml_value(m.activation),
        slope = m.leaky_slope,
        channels = m.conv_channels,
        epochs = new.epochs.unwrap_or(t.epochs),
        batch = new.batch_size.unwrap_or(t.batch_size),
        lr = t.learning_rate,
        beta = t.l1_beta,
        val = t.validation_fraction,
        lrp = t.lr_patience,
        lrf = t.lr_factor,
        minlr = t.min_lr,
        esp = t.early_stopping_patience,
        seed = t.seed,
        norm = toml_value(t.normalization),
        prec = toml_value(c.latent_precision),
        zstd = c.zstd_level,
        thr = e.response_threshold,
        plots = e.plots,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_the_defaults() {
        let new = NewProject {
            input: "data.npy".into(),
            latent: Some(5),
            ..Default::default()
        };
        let parsed: ProjectConfig = toml::from_str(&config_template(&new)).unwrap();
        let mut expected = ProjectConfig::default();
        expected.data.input = "data.npy".into();
        expected.model.latent = Some(5);
        assert_eq!(parsed, expected);
    }
}

//! A project folder: `baler.toml`, the trained model, training history and outputs, and the library
//! calls behind each CLI subcommand (train, compress, decompress, evaluate and its suitability study).

use crate::architecture;
use crate::config::{CompressionConfig, EvaluationConfig, ModelConfig, ProjectConfig};
use crate::container::CompressedSource;
use crate::data::{self, DataKind, Dataset, Layout, NonFinite, load_for_model};
use crate::error::{Error, Result};
use crate::evaluate::{self, Evaluation, Sizes};
use crate::fsutil;
pub use crate::model::ModelKind;
use crate::model::{AnyDecoder, Model, QuantizedDecoder};
use crate::plan::ModelPlan;
use crate::plot;
use crate::quantize::{self, PrecisionOptions, PrecisionReport};
use crate::runtime::DeviceSpec;
use crate::suitability::{self, Study};
use crate::train::{self, EpochStats, TrainReport};
use crate::workflow;
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

impl Project {
    /// Creates `dir` with `config` written as a commented `baler.toml`; refuses to overwrite one.
    pub fn create(dir: &Path, config: &ProjectConfig) -> Result<Project> {
        let path = dir.join(CONFIG_FILE);
        if path.exists() {
            return Err(Error::Mismatch(format!(
                "{} already exists; open it instead of creating it",
                path.display()
            )));
        }
        config.check().map_err(|message| Error::Config {
            path: path.clone(),
            message,
        })?;
        fsutil::create_dir(dir)?;
        fsutil::write_bytes(&path, config.to_commented_toml().as_bytes())?;
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
    pub fn compressed_path(&self, kind: ModelKind) -> PathBuf {
        self.output_dir()
            .join(format!("compressed{}.baler", suffix(kind)))
    }
    /// Default decompressed file, in the input's format.
    pub fn decompressed_path(&self, kind: ModelKind) -> PathBuf {
        let ext = self
            .config
            .data
            .input
            .extension()
            .map(|e| e.to_string_lossy().into_owned());
        self.output_dir().join(format!(
            "decompressed{}.{}",
            suffix(kind),
            ext.as_deref().unwrap_or("npy")
        ))
    }

    /// The project's own files to evaluate: its input against its decompressed output.
    pub fn evaluation_inputs(&self, kind: ModelKind) -> EvaluationInputs {
        EvaluationInputs {
            original: self.input(),
            names: self.config.data.names.clone(),
            reconstructed: self.decompressed_path(kind),
            compressed: self.compressed_path(kind),
            model_dir: Some(self.model_dir()),
            kind,
            out_dir: self.output_dir(),
        }
    }

    /// Creates a project in `dir` for the data file `input` (relative to `dir`, or absolute; one that exists only
    /// relative to the working directory is recorded by its absolute path), read as `layout` says and named by `names` (empty: the file's own, else those of a `<stem>.names.txt` beside it), with
    /// `model` as its model. The layout and names found are written into `baler.toml`. Returns the project, its
    /// data and a sentence on how the data was read and where the names came from.
    pub fn create_for_data(
        dir: &Path,
        input: PathBuf,
        layout: Layout,
        names: Vec<String>,
        model: ModelConfig,
    ) -> Result<(Project, Dataset, String)> {
        // `dir` may not exist yet: `dir/../x` is opened as `x`
        let mut path = lexically_joined(dir, &input);
        let mut input = input;
        if !path.exists() && input.is_relative() && input.exists() {
            input = std::path::absolute(&input).map_err(Error::io(&input))?;
            path = input.clone();
        }
        let mut data = Dataset::load(&path, &names)?;
        let mut names_from = match names.is_empty() {
            true => String::new(),
            false => " (names as given)".to_string(),
        };
        let mut names = names;
        if names.is_empty()
            && !data.has_own_names()
            && let Some((file, sidecar)) = data::sidecar_names(&path)?
        {
            if sidecar.len() != data.names.len() {
                return Err(Error::Mismatch(format!(
                    "{}: {} names for the {} variables of {}",
                    file.display(),
                    sidecar.len(),
                    data.names.len(),
                    path.display()
                )));
            }
            names_from = format!(" (names from {})", file.display());
            data.names = sidecar.clone();
            names = sidecar;
        }
        let (data, how) = data.arrange(layout, &path)?;
        let mut config = ProjectConfig::for_data(input, &data);
        config.data.names = names;
        config.model = model;
        let project = Project::create(dir, &config)?;
        Ok((project, data, how + &names_from))
    }

    /// The configured data, read as `data.layout` says, with a sentence on how.
    pub fn data(&self) -> Result<(Dataset, String)> {
        let path = self.input();
        Dataset::load(&path, &self.config.data.names)?.arrange(self.config.data.layout, &path)
    }

    /// What the configured model costs for `data` before training; refuses one over `model.max_parameters`.
    pub fn plan(&self, data: &Dataset) -> Result<ModelPlan> {
        let spec = architecture::build(&self.config.model, data.kind, data.features())?;
        let plan = ModelPlan::of(&spec, data, &self.config.training);
        plan.check(&self.config.model)?;
        Ok(plan)
    }

    /// Trains on `data` (the project's, from [`Project::data`]) and writes the model, `training/history.json` and
    /// `training/loss.png`.
    pub fn train(
        &self,
        data: &Dataset,
        device: &Device,
        progress: &mut dyn FnMut(&EpochStats),
    ) -> Result<TrainReport> {
        self.plan(data)?;
        let (model, report) = train::train(
            data,
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

/// `dir/input` with each `name/..` pair removed, so that a path relative to a folder not yet created can be opened.
fn lexically_joined(dir: &Path, input: &Path) -> PathBuf {
    let mut joined = PathBuf::new();
    for part in dir.join(input).components() {
        match part {
            std::path::Component::ParentDir
                if matches!(
                    joined.components().next_back(),
                    Some(std::path::Component::Normal(_))
                ) =>
            {
                joined.pop();
            }
            other => joined.push(other),
        }
    }
    joined
}

impl Project {
    /// The whole workflow on the configured data: train, compress, decompress, evaluate.
    pub fn run_all(
        &self,
        device: &Device,
        progress: &mut dyn FnMut(&EpochStats),
    ) -> Result<(TrainReport, Evaluation)> {
        let (data, _) = self.data()?;
        let report = self.train(&data, device, progress)?;
        let (input, compressed, decompressed) = (
            self.input(),
            self.compressed_path(ModelKind::Float),
            self.decompressed_path(ModelKind::Float),
        );
        workflow::compress_file(
            Some(&self.model_dir()),
            ModelKind::Float,
            &DeviceSpec::CpuF32,
            &input,
            &self.config.data.names,
            self.config.data.layout,
            &compressed,
            &self.config.compression,
            &mut |_, _| {},
        )?;
        workflow::decompress_file(
            Some(&self.model_dir()),
            ModelKind::Float,
            None,
            &compressed,
            &decompressed,
            workflow::RowRange::default(),
            &mut |_, _| {},
        )?;
        let evaluation = evaluate_files(
            &self.evaluation_inputs(ModelKind::Float),
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

/// Added to the default output file names, so both kinds can be compared side by side.
fn suffix(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Float => "",
        ModelKind::Quantized => "-fixed",
    }
}

/// Chooses fixed-point formats for the model in `model_dir` on the data in `input`, writes the quantised
/// model beside the float one and `precision.json`, and returns the report.
pub fn quantize_model(
    model_dir: &Path,
    input: &Path,
    names: &[String],
    options: &PrecisionOptions,
    progress: impl FnMut(&str),
) -> Result<PrecisionReport> {
    let model = Model::load(model_dir)?;
    let data = load_for_model(
        input,
        names,
        model.decoder.data.kind,
        &model.decoder.data.names,
        NonFinite::Refuse,
    )?;
    let (quantized, report) = quantize::select_precision(&model, &data, options, progress)?;
    quantized.save(model_dir)?;
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    fsutil::write_bytes(&model_dir.join(PRECISION_REPORT), &json)?;
    Ok(report)
}

/// The precision report written by [`quantize_model`] into the model folder.
pub const PRECISION_REPORT: &str = "precision.json";

/// Files to compare in an evaluation.
#[derive(Clone, Debug)]
pub struct EvaluationInputs {
    /// The original data.
    pub original: PathBuf,
    /// Its variable names, if overridden.
    pub names: Vec<String>,
    /// The decompressed data.
    pub reconstructed: PathBuf,
    /// The compressed file (for R).
    pub compressed: PathBuf,
    /// The model folder (its decoder files count in R_actual); without it R_actual is not reported.
    pub model_dir: Option<PathBuf>,
    /// Which decoder restored the data.
    pub kind: ModelKind,
    /// Where `evaluation.json` and `plots/` go.
    pub out_dir: PathBuf,
}

/// Evaluates a reconstruction, writes `evaluation.json` and (if enabled) the plots.
pub fn evaluate_files(inputs: &EvaluationInputs, config: &EvaluationConfig) -> Result<Evaluation> {
    // the restored file has the model's layout: a 2-D original of one image is read as that one field
    let mut reconstructed = Dataset::load(&inputs.reconstructed, &[])?;
    let original = Dataset::load(&inputs.original, &inputs.names)?.shaped_as(reconstructed.kind);
    if reconstructed.kind == DataKind::Table && reconstructed.names.len() == original.names.len() {
        reconstructed.names = original.names.clone();
    }
    let header = CompressedSource::open(&inputs.compressed)?.header;
    // an error-bounded file was restored by the fixed-point decoder, whatever was asked
    let kind = match header.error_bounds {
        Some(_) => ModelKind::Quantized,
        None => inputs.kind,
    };
    // a file whose predictor does not read the latent needs no decoder files
    let decoder_files = match header.predictor.uses_decoder() {
        true => inputs
            .model_dir
            .as_deref()
            .map(|dir| AnyDecoder::files(dir, kind)),
        false => Some(Vec::new()),
    };
    let sizes = Sizes::measure(
        original.raw_bytes() as u64,
        &inputs.compressed,
        decoder_files.as_deref(),
        Some(evaluate::lossless_bytes(&original, &inputs.original)?),
    )?;
    let mut report = evaluate::evaluate(
        &original,
        &reconstructed,
        config.response_cut(),
        Some(sizes),
    )?;
    // an error-bounded file's promise, checked value by value
    if let Some(bounds) = header.error_bounds
        && bounds.len() == report.variables.len()
    {
        let ratios = evaluate::bound_ratios(&original.values, &reconstructed.values, &bounds);
        for ((v, b), ratio) in report.variables.iter_mut().zip(bounds).zip(ratios) {
            v.error_bound = Some((b, ratio));
        }
    }
    fsutil::create_dir(&inputs.out_dir)?;
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    let name = format!("evaluation{}.json", suffix(inputs.kind));
    fsutil::write_bytes(&inputs.out_dir.join(name), &json)?;
    if config.plots {
        let dir = inputs.out_dir.join(format!("plots{}", suffix(inputs.kind)));
        fsutil::create_dir(&dir)?;
        plot::evaluation_pages(&dir, &original, &reconstructed, &report, config)?;
    }
    Ok(report)
}

/// File names of the suitability study in its output folder.
pub const SUITABILITY_JSON: &str = "suitability.json";
/// Its plot.
pub const SUITABILITY_PNG: &str = "suitability.png";

/// The suitability study (`baler evaluate --baselines`) of `input` with the quantised model in `model_dir` (or
/// without a model, the data read as `layout` says) at each bound of `levels` × each variable's range; writes
/// `suitability.json` and `suitability.png` into `out_dir`.
pub fn study_suitability(
    model_dir: Option<&Path>,
    input: &Path,
    names: &[String],
    layout: Layout,
    levels: &[f64],
    out_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Study> {
    let zstd_level = CompressionConfig::default().zstd_level;
    let study = match model_dir {
        Some(dir) => {
            let decoder = QuantizedDecoder::load(dir)?;
            let (kind, model_names) = (decoder.data.kind, &decoder.data.names);
            let data = load_for_model(input, names, kind, model_names, NonFinite::Keep)?;
            let model = Some((dir, &decoder));
            suitability::study(model, &data, input, levels, zstd_level, progress)?
        }
        None => {
            let (data, how) = data::load_without_model(input, names, layout, NonFinite::Keep)?;
            progress(&format!("read {} as {how}", input.display()));
            suitability::study(None, &data, input, levels, zstd_level, progress)?
        }
    };
    fsutil::create_dir(out_dir)?;
    let json = serde_json::to_vec_pretty(&study).expect("study serialises");
    fsutil::write_bytes(&out_dir.join(SUITABILITY_JSON), &json)?;
    plot::ratio_against_error(&out_dir.join(SUITABILITY_PNG), &study)?;
    Ok(study)
}

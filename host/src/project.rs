//! A project folder: `baler.toml`, the trained model, training history and outputs, and the library
//! calls behind each CLI subcommand (train, compress, decompress, evaluate and its suitability study).

use crate::architecture;
use crate::codec::{self, PrecisionChoice};
use crate::config::{CompressionConfig, EvaluationConfig, ModelConfig, ProjectConfig};
use crate::container::{CompressedFile, LatentPrecision};
use crate::data::{self, DataKind, Dataset, FloatType, Layout, NonFinite, load_for_model};
use crate::error::{Error, Result};
use crate::evaluate::{self, Evaluation, Sizes};
use crate::fsutil;
pub use crate::model::ModelKind;
use crate::model::{AnyDecoder, DecoderFacts, Model, QuantizedDecoder};
use crate::plan::ModelPlan;
use crate::plot;
use crate::quantize::{self, PrecisionOptions, PrecisionReport};
use crate::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream};
use crate::suitability::{self, Study};
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
        compress_file(
            &self.model_dir(),
            ModelKind::Float,
            &DeviceSpec::CpuF32,
            &input,
            &self.config.data.names,
            &compressed,
            &self.config.compression,
        )?;
        decompress_file(
            &self.model_dir(),
            ModelKind::Float,
            None,
            &compressed,
            &decompressed,
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

/// What `compress` did.
#[derive(Clone, Debug)]
pub struct CompressSummary {
    /// Table or fields.
    pub kind: DataKind,
    /// Samples compressed.
    pub rows: usize,
    /// Latent values per sample.
    pub latent_size: usize,
    /// How they are stored.
    pub latent_precision: LatentPrecision,
    /// How that precision was chosen, when the configuration left it open.
    pub precision_choice: Option<PrecisionChoice>,
    /// With codes, the value of one step.
    pub latent_step: Option<f64>,
    /// Raw input bytes.
    pub input_bytes: u64,
    /// Their type: R is on these bytes.
    pub dtype: FloatType,
    /// The same data compressed losslessly by zstd -3 (the ratio to beat).
    pub lossless_bytes: u64,
    /// Bytes of the decoder files a receiver needs besides the file (0 where the predictor needs none).
    pub decoder_bytes: u64,
    /// Compressed file bytes.
    pub compressed_bytes: u64,
    /// Of which the compressed latent values.
    pub latent_bytes: u64,
    /// Of which the residual section (error-bounded mode; 0 otherwise).
    pub residual_bytes: u64,
    /// Values stored exactly (error-bounded mode).
    pub exact_values: usize,
    /// The bound of each variable (error-bounded mode).
    pub error_bounds: Option<Vec<crate::container::VariableBound>>,
    /// What predicted the values (error-bounded mode).
    pub predictor: crate::container::Predictor,
    /// Model id written in the file.
    pub model_id: String,
}

/// Added to the default output file names, so both kinds can be compared side by side.
fn suffix(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Float => "",
        ModelKind::Quantized => "-fixed",
    }
}

/// Compresses `input` with the `kind` of model in `model_dir` on `device` into `output`. `names` overrides the
/// file's variable names. A device that runs the other kind of model is refused by name. With error bounds in
/// `config`, the quantised model compresses in error-bounded mode (its fixed-point decoder predicts on
/// `cpu-fixed`), and NaN and infinities in the data are kept exactly.
pub fn compress_file(
    model_dir: &Path,
    kind: ModelKind,
    device: &DeviceSpec,
    input: &Path,
    names: &[String],
    output: &Path,
    config: &CompressionConfig,
) -> Result<CompressSummary> {
    if device.model_kind() != kind {
        return Err(runtime::wrong_model(device, kind));
    }
    let decoder = AnyDecoder::load(model_dir, kind)?;
    let mut encoder = DeviceStream::new(runtime::open(device, model_dir)?, 2, DEVICE_TIMEOUT);
    let mut precision_choice = None;
    let (data, file) = match (&decoder, config.error_bounds.is_empty()) {
        (_, true) => {
            let data = load_for_model(
                input,
                names,
                decoder.data().kind,
                &decoder.data().names,
                NonFinite::Refuse,
            )?;
            let latent = codec::encode(&decoder, &data, input, &mut encoder)?;
            let precision = match config.latent_precision {
                Some(precision) => precision,
                None => {
                    let cpu = match kind {
                        ModelKind::Float => DeviceSpec::CpuF32,
                        ModelKind::Quantized => DeviceSpec::CpuFixed,
                    };
                    let device = runtime::open_decoder(&cpu, &decoder)?;
                    let mut device = DeviceStream::new(device, 2, DEVICE_TIMEOUT);
                    let choice = codec::choose_precision(
                        &decoder,
                        &data,
                        &latent,
                        config.zstd_level,
                        &mut device,
                    )?;
                    let chosen = choice.chosen;
                    precision_choice = Some(choice);
                    chosen
                }
            };
            let file = codec::with_latent(&decoder, &data, &latent, precision)?;
            (data, file)
        }
        (AnyDecoder::Quantized(q), false) => {
            let data = load_for_model(input, names, q.data.kind, &q.data.names, NonFinite::Keep)?;
            let bounds = codec::resolve_bounds(&config.error_bounds, &data)?;
            let predictor = runtime::open_decoder(&DeviceSpec::CpuFixed, &decoder)?;
            let mut predictor = DeviceStream::new(predictor, 2, DEVICE_TIMEOUT);
            let file = codec::compress_bounded(
                q,
                &data,
                input,
                &bounds,
                config.predictor,
                &mut encoder,
                &mut predictor,
            )?;
            (data, file)
        }
        (AnyDecoder::Float(_), false) => {
            return Err(Error::Mismatch(
                "error-bounded mode predicts with the fixed-point decoder: compress with the quantised \
                 model (--fixed, after `baler quantize`)"
                    .into(),
            ));
        }
    };
    let encoded = file.encode(config.zstd_level);
    let bytes = encoded.bytes;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dir(dir)?;
    }
    fsutil::write_bytes(output, &bytes)?;
    let decoder_bytes = match file.header.predictor.uses_decoder() {
        true => AnyDecoder::files_bytes(model_dir, decoder.kind())?,
        false => 0,
    };
    let lossless_bytes = evaluate::lossless_bytes(&data, input)?;
    Ok(CompressSummary {
        kind: data.kind,
        dtype: data.dtype,
        lossless_bytes,
        decoder_bytes,
        rows: data.rows,
        latent_size: file.header.latent_size,
        latent_precision: file.header.latent_precision,
        precision_choice,
        latent_step: file.header.latent_step,
        input_bytes: data.raw_bytes() as u64,
        compressed_bytes: bytes.len() as u64,
        latent_bytes: encoded.latent_bytes as u64,
        residual_bytes: encoded.residual_bytes as u64,
        exact_values: file.residuals.as_ref().map_or(0, |r| r.exact_at.len()),
        error_bounds: file.header.error_bounds,
        predictor: file.header.predictor,
        model_id: file.header.model_id,
    })
}

/// Restores `input` (a compressed file) with the `kind` of decoder in `model_dir` on `device` (by default the
/// kind's default device) and writes `output`. An error-bounded file is always restored by the fixed-point
/// decoder, whose predictions its residuals correct; a device that runs the other kind of model is refused by
/// name.
pub fn decompress_file(
    model_dir: &Path,
    kind: ModelKind,
    device: Option<&DeviceSpec>,
    input: &Path,
    output: &Path,
) -> Result<Dataset> {
    let file = CompressedFile::read(input)?;
    let bounded = file.header.error_bounds.is_some();
    let kind = if bounded { ModelKind::Quantized } else { kind };
    let device = device.cloned().unwrap_or(DeviceSpec::default_for(kind));
    if bounded && device.model_kind() != kind {
        return Err(Error::Mismatch(format!(
            "{}: an error-bounded file is restored by the fixed-point decoder, which device {device} does not run; \
             use cpu-fixed (the default), or csim:/xrt: with a decoder kernel",
            input.display()
        )));
    }
    let decoder = AnyDecoder::load(model_dir, kind)?;
    let opened = runtime::open_decoder(&device, &decoder)?;
    let mut stream = DeviceStream::new(opened, 2, DEVICE_TIMEOUT);
    let data = codec::decompress(&decoder, &file, input, &mut stream)?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dir(dir)?;
    }
    data.save(output)?;
    Ok(data)
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
    let header = CompressedFile::read(&inputs.compressed)?.header;
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

/// The suitability study (`baler evaluate --baselines`) of `input` with the quantised model in `model_dir` at
/// each bound of `levels` × each variable's range; writes `suitability.json` and `suitability.png` into `out_dir`.
pub fn study_suitability(
    model_dir: &Path,
    input: &Path,
    names: &[String],
    levels: &[f64],
    out_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Study> {
    let decoder = QuantizedDecoder::load(model_dir)?;
    let data = load_for_model(
        input,
        names,
        decoder.data.kind,
        &decoder.data.names,
        NonFinite::Keep,
    )?;
    let zstd_level = CompressionConfig::default().zstd_level;
    let study = suitability::study(
        model_dir, &decoder, &data, input, levels, zstd_level, progress,
    )?;
    fsutil::create_dir(out_dir)?;
    let json = serde_json::to_vec_pretty(&study).expect("study serialises");
    fsutil::write_bytes(&out_dir.join(SUITABILITY_JSON), &json)?;
    plot::ratio_against_error(&out_dir.join(SUITABILITY_PNG), &study)?;
    Ok(study)
}

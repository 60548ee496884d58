//! What each verb does at the terminal: gathers its inputs (given, or the project's), calls the library once and
//! prints the outcome; progress bars and tables live here, the work in the library.

use crate::args::*;
use anyhow::{Context, Result};
use baler::bench::{self, BenchOptions};
use baler::codec;
use baler::config::{LatentPrecision, ModelConfig};
use baler::container::CompressedSource;
use baler::data::{Dataset, Layout};
use baler::firmware::{self, FirmwareOptions, IpCoreOptions};
use baler::hls::{HlsOptions, RtlOptions, hls_projects};
use baler::model::{AnyDecoder, Decoder, Model};
use baler::project::{self, EvaluationInputs, ModelKind, Project};
use baler::quantize::PrecisionOptions;
use baler::runtime::DeviceSpec;
use baler::runtime::manifest::BitstreamManifest;
use baler::runtime::serial::QemuBoard;
use baler::train::EpochStats;
use baler::workflow;
use baler_hls::rtl::{RtlChecks, RtlConfig};
use baler_hls::{CsimOptions, HlsConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The burn device of `backend`.
fn device(backend: Backend) -> Result<burn::tensor::Device> {
    Ok(project::device(backend.name())?)
}

/// `baler new-project`.
pub fn new_project(args: NewProjectArgs) -> Result<()> {
    let NewProjectArgs {
        dir,
        input,
        layout,
        names,
        preset,
        latent,
        ratio,
    } = args;
    let names = match names {
        Some(list) => match list.strip_prefix('@') {
            Some(file) => baler::data::parse_names(
                &std::fs::read_to_string(file)
                    .with_context(|| format!("reading names from {file}"))?,
            ),
            None => baler::data::parse_names(&list),
        },
        None => Vec::new(),
    };
    let model = ModelConfig {
        latent,
        ratio,
        ..ModelConfig::for_preset(preset)
    };
    let (p, data, how) = Project::create_for_data(&dir, input, layout, names, model)?;
    println!("read {} as {how}", p.input().display());
    print_plan(&p, &data);
    println!(
        "created {}; edit it, then run `baler train -p {}`",
        p.dir.join(project::CONFIG_FILE).display(),
        dir.display()
    );
    Ok(())
}

/// The model's cost for `data` and the warnings on it; a refused model is reported, not an error, so that the user
/// can edit `baler.toml`.
fn print_plan(p: &Project, data: &Dataset) {
    match p.plan(data) {
        Ok(plan) => {
            println!("{}", plan.summary());
            for warning in plan.warnings() {
                eprintln!("warning: {warning}");
            }
        }
        Err(e) => eprintln!("warning: {e}"),
    }
}

/// `baler train`.
pub fn train(args: TrainArgs) -> Result<()> {
    let backend = args.backend;
    let p = Project::open(&args.project)?;
    let (data, how) = p.data()?;
    println!("data: {} read as {how}", p.input().display());
    print_plan(&p, &data);
    let report = p.train(&data, &device(backend)?, &mut progress_printer())?;
    println!(
        "best epoch {} of {} (validation MSE {:.3e}{}); model in {}",
        report.best_epoch,
        report.history.len(),
        report.best_validation_mse,
        if report.stopped_early {
            ", stopped early"
        } else {
            ""
        },
        p.model_dir().display()
    );
    println!(
        "normalisation: {}",
        match report.asinh_variables.is_empty() {
            true => "affine only (no variable through asinh; training.asinh chooses)".to_string(),
            false => format!(
                "asinh(x / median) before the affine map for {} (training.asinh = \"none\" turns it off)",
                report.asinh_variables.join(", ")
            ),
        }
    );
    if let Some(advice) = report.advice() {
        eprintln!("note: {advice}");
    }
    Ok(())
}

/// `baler compress`.
pub fn compress(args: CompressArgs) -> Result<()> {
    let CompressArgs {
        source,
        output,
        layout,
        fixed,
        device,
        latent_precision,
        error_bound,
        predictor,
        chunk_rows,
    } = args;
    let p = optional_project(&source.project)?;
    let input = need(
        source.input.clone(),
        p.as_ref().map(Project::input),
        "input",
    )?;
    let mut config = p.as_ref().map(|p| p.config.clone()).unwrap_or_default();
    if let Some(precision) = latent_precision {
        config.compression.latent_precision = Some(precision);
    }
    if !error_bound.is_empty() {
        config.compression.error_bounds = error_bound;
    }
    if predictor.is_some() {
        config.compression.predictor = predictor;
    }
    if let Some(rows) = chunk_rows {
        config.compression.chunk_rows = Some(usize::try_from(rows).unwrap_or(usize::MAX));
    }
    // error-bounded mode predicts with the fixed-point decoder
    let bounded = !config.compression.error_bounds.is_empty();
    let kind = model_kind(fixed || bounded);
    // without a model (no -m, and no project or a project not yet quantised), error-bounded mode with a
    // predictor that reads no latent
    let model = match (source.model.clone(), &p) {
        (Some(dir), _) => Some(dir),
        (None, Some(p)) => {
            let dir = p.model_dir();
            let quantised = AnyDecoder::files(&dir, ModelKind::Quantized)
                .iter()
                .all(|f| f.exists());
            if bounded && !quantised {
                println!(
                    "{}: no quantised model yet: compressing without one (with a predictor that needs none)",
                    dir.display()
                );
            }
            (!bounded || quantised).then_some(dir)
        }
        (None, None) => None,
    };
    let output = need(
        output,
        p.as_ref().map(|p| p.compressed_path(kind)),
        "output",
    )?;
    let device = device.unwrap_or(DeviceSpec::default_for(kind));
    let s = workflow::compress_file(
        model.as_deref(),
        kind,
        &device,
        &input,
        &config.data.names,
        layout_or_project(layout, p.as_ref()),
        &output,
        &config.compression,
        &mut rows_progress("compressed"),
    )?;
    if let Some(how) = &s.read_as {
        println!("read {} as {how}", input.display());
    }
    let samples = s.kind.samples();
    let latent = match (s.latent_size, s.latent_precision, s.latent_step) {
        (0, ..) => "no latent (the predictor reads none)".to_string(),
        (n, LatentPrecision::Codes, Some(step)) => {
            format!("{n} latent values each (integer codes in steps of {step})")
        }
        (n, precision, _) => format!("{n} latent values each ({})", precision.name()),
    };
    let model = model_named(&s.model_id);
    println!(
        "{} {samples} → {latent}; {} B → {} B (R = {:.2} on the data's {} bytes) in {}; {model}",
        s.rows,
        s.input_bytes,
        s.compressed_bytes,
        s.input_bytes as f64 / s.compressed_bytes as f64,
        s.dtype.name(),
        output.display(),
    );
    if s.chunks > 1 {
        println!(
            "written in {} chunks (decompress --rows FIRST..END reads only the chunks it needs)",
            s.chunks
        );
    }
    if let Some(choice) = &s.precision_choice {
        println!("latent precision {}", choice.sentence());
    }
    let actual = s.input_bytes as f64 / (s.compressed_bytes + s.decoder_bytes) as f64;
    let lossless = s.input_bytes as f64 / s.lossless_bytes as f64;
    println!(
        "R_actual = {actual:.2} with the {} B of decoder files a receiver needs; lossless zstd -{} makes R {lossless:.2} \
         of the same data",
        s.decoder_bytes,
        baler::evaluate::LOSSLESS_LEVEL
    );
    let warnings = baler::evaluate::size_warnings(
        s.input_bytes,
        s.compressed_bytes,
        Some(s.decoder_bytes),
        s.lossless_bytes,
    );
    for warning in warnings {
        println!("warning: {warning}");
    }
    if let Some(bounds) = &s.error_bounds {
        let list: Vec<String> = bounds.iter().map(|b| b.to_string()).collect();
        println!(
            "error-bounded: every value within its bound ({}); predictor {}{}; {} B latent, {} B residuals, {} values stored exactly",
            list.join(", "),
            s.predictor,
            s.interpolation
                .map(|w| format!(" ({w})"))
                .unwrap_or_default(),
            s.latent_bytes,
            s.residual_bytes,
            s.exact_values
        );
    }
    Ok(())
}

/// "model <id>", or "no model" for a file compressed without one.
fn model_named(id: &str) -> String {
    match id {
        codec::NO_MODEL => "no model".into(),
        id => format!("model {id}"),
    }
}

/// `baler decompress`.
pub fn decompress(args: DecompressArgs) -> Result<()> {
    let DecompressArgs {
        project,
        model,
        device,
        input,
        output,
        fixed,
        rows,
    } = args;
    let kind = model_kind(fixed);
    let p = optional_project(&project)?;
    // a file that needs no model is restored without one
    let model = model.or(p.as_ref().map(Project::model_dir));
    let input = need(input, p.as_ref().map(|p| p.compressed_path(kind)), "input")?;
    let output = need(
        output,
        p.as_ref().map(|p| p.decompressed_path(kind)),
        "output",
    )?;
    let h = workflow::decompress_file(
        model.as_deref(),
        kind,
        device.as_ref(),
        &input,
        &output,
        rows.unwrap_or_default(),
        &mut rows_progress("restored"),
    )?;
    println!(
        "restored {} {} ({}, shape {:?}) into {}",
        h.rows(),
        h.kind.samples(),
        h.dtype.name(),
        h.shape,
        output.display()
    );
    Ok(())
}

/// `baler evaluate`.
pub fn evaluate(args: EvaluateArgs) -> Result<()> {
    let EvaluateArgs {
        project,
        original,
        reconstructed,
        compressed,
        model,
        out,
        fixed,
        baselines,
        layout,
        bounds,
    } = args;
    if baselines {
        return suitability(&project, original, model, out, layout, &bounds);
    }
    let kind = model_kind(fixed);
    let (inputs, config) = match optional_project(&project)? {
        Some(p) => {
            let defaults = p.evaluation_inputs(kind);
            let inputs = EvaluationInputs {
                original: original.unwrap_or(defaults.original.clone()),
                reconstructed: reconstructed.unwrap_or(defaults.reconstructed.clone()),
                compressed: compressed.unwrap_or(defaults.compressed.clone()),
                model_dir: model.or(defaults.model_dir.clone()),
                out_dir: out.unwrap_or(defaults.out_dir.clone()),
                ..defaults
            };
            (inputs, p.config.evaluation)
        }
        None => {
            let reconstructed = need(reconstructed, None, "reconstructed")?;
            let out_dir = out.unwrap_or_else(|| match reconstructed.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            });
            let inputs = EvaluationInputs {
                original: need(original, None, "original")?,
                names: Vec::new(),
                reconstructed,
                compressed: need(compressed, None, "compressed")?,
                model_dir: model,
                kind,
                out_dir,
            };
            (inputs, Default::default())
        }
    };
    let report = project::evaluate_files(&inputs, &config)?;
    print!("{}", report.table());
    println!("report in {}", inputs.out_dir.display());
    Ok(())
}

/// How a 2-D array is read without a model: as `--layout` says, else as the project's `[data] layout`, else
/// guessed.
fn layout_or_project(layout: Option<Layout>, p: Option<&Project>) -> Layout {
    layout.unwrap_or(p.map_or(Layout::Auto, |p| p.config.data.layout))
}

/// `baler evaluate --baselines`: the project's (or the given) data and model, the report beside them.
fn suitability(
    project: &Path,
    original: Option<PathBuf>,
    model: Option<PathBuf>,
    out: Option<PathBuf>,
    layout: Option<Layout>,
    bounds: &[f64],
) -> Result<()> {
    let p = optional_project(project)?;
    let layout = layout_or_project(layout, p.as_ref());
    let input = need(original, p.as_ref().map(Project::input), "original")?;
    // without a model (no -m, no project), baler's modes that need none against the others
    let model = model.or(p.as_ref().map(Project::model_dir));
    let names = p
        .as_ref()
        .map(|p| p.config.data.names.clone())
        .unwrap_or_default();
    let out = out
        .or(p.as_ref().map(Project::output_dir))
        .unwrap_or_else(|| PathBuf::from("."));
    let study = project::study_suitability(
        model.as_deref(),
        &input,
        &names,
        layout,
        bounds,
        &out,
        &mut |line| eprintln!("{line}"),
    )?;
    print!("{}", study.table());
    println!(
        "report in {} and {}",
        out.join(project::SUITABILITY_JSON).display(),
        out.join(project::SUITABILITY_PNG).display()
    );
    Ok(())
}

/// `baler quantize`.
pub fn quantize(args: QuantizeArgs) -> Result<()> {
    let QuantizeArgs {
        source,
        tolerance,
        rows,
        max_width,
    } = args;
    let (p, model, input) = project_model_input(&source)?;
    let names = p.map(|p| p.config.data.names).unwrap_or_default();
    let options = PrecisionOptions {
        tolerance,
        rows,
        max_width,
    };
    let report =
        project::quantize_model(&model, &input, &names, &options, |line| eprintln!("{line}"))?;
    print!("{}", report.table());
    println!(
        "quantised model and {} in {}",
        project::PRECISION_REPORT,
        model.display()
    );
    Ok(())
}

/// `baler hls`.
pub fn hls(args: HlsArgs) -> Result<()> {
    let HlsArgs {
        source,
        out,
        network,
        strategy,
        reuse_factor,
        target_ii,
        io,
        clock_mhz,
        fpga_part,
        platform,
        axis_max_bits,
        name,
        frames,
        csim,
        ap_types,
        rtl,
        multipliers,
        levels_per_stage,
        verilate,
        synth,
        gate_level,
    } = args;
    let (p, model, input) = project_model_input(&source)?;
    let project = source.project;
    let out = out.unwrap_or_else(|| project.join("hls"));
    let names = p.map(|p| p.config.data.names).unwrap_or_default();
    let networks = network.networks();
    let csim = match csim {
        true => Some(CsimOptions {
            ap_types: baler_hls::ap_types_dir(ap_types.as_deref())?,
            shared_library: true,
            ap_int_roms: false,
        }),
        false => None,
    };
    let options = HlsOptions {
        networks,
        config: HlsConfig {
            name,
            strategy: strategy.into(),
            reuse_factors: reuse_factor,
            target_ii,
            io: io.into(),
            clock_mhz,
            part: fpga_part,
            platform,
            axis_max_bits,
            ..HlsConfig::default()
        },
        frames,
        csim,
        rtl: rtl.then(|| RtlOptions {
            config: RtlConfig {
                multipliers: multipliers.into(),
                levels_per_stage,
            },
            checks: RtlChecks {
                verilate,
                synth: synth.iter().map(|f| f.name().to_string()).collect(),
                gate_level,
            },
        }),
    };
    let outcomes = hls_projects(&model, &input, &names, &out, &options, |line| {
        eprintln!("{line}")
    })?;
    for o in outcomes {
        println!();
        print!("{}", o.project.estimate.table());
        println!("project: {}", o.project.dir.display());
        if let Some(c) = o.csim {
            println!(
                "C simulation: {} (g++ {:.1} s, run {:.1} s)",
                c.summary, c.compile_seconds, c.run_seconds
            );
            if let Some(lib) = c.library {
                println!("kernel as a shared library: {}", lib.display());
            }
        }
        if let Some(r) = &o.rtl {
            print!("{}", r.table(&o.project.estimate));
        }
    }
    Ok(())
}

/// `baler firmware`.
pub fn firmware(args: FirmwareArgs) -> Result<()> {
    let p = optional_project(&args.project)?;
    let model = need(args.model, p.as_ref().map(Project::model_dir), "model")?;
    let options = FirmwareOptions {
        board: args.target,
        networks: args.network.networks(),
        source: args.source.unwrap_or_else(firmware::default_source),
        out: args.out.unwrap_or_else(|| args.project.join("firmware")),
        ip_core: args.fifo_address.map(|fifo_address| IpCoreOptions {
            fifo_address,
            axis_max_bits: args.axis_max_bits,
        }),
    };
    let report = firmware::build_firmware(&model, &options, |line| eprintln!("{line}"))?;
    print!("{}", report.table());
    println!(
        "firmware: {} ({:.1} s to build)",
        report.elf.display(),
        report.build_seconds
    );
    if args.run {
        let mut board = QemuBoard::start(options.board, &report.elf)?;
        println!(
            "the board is on {0} (QEMU pid {1}): e.g. baler compress -p {2} --device serial:{0}; Ctrl-C stops it",
            board.path().display(),
            board.pid(),
            args.project.display()
        );
        board.wait()?;
    }
    Ok(())
}

/// `baler bench`.
pub fn bench(args: BenchArgs) -> Result<()> {
    let BenchArgs {
        source,
        out,
        device,
        batch,
        seconds,
        depth,
        rows,
        repeat,
    } = args;
    let out = out.unwrap_or_else(|| source.project.join("bench"));
    let (model, input, names, options) = match repeat {
        Some(recorded) => {
            let (model, input, options) = bench::recorded_run(&recorded)?;
            (model, input, Vec::new(), options)
        }
        None => {
            let (p, model, input) = project_model_input(&source)?;
            let options = BenchOptions {
                devices: device,
                batch_sizes: batch,
                seconds,
                depth,
                rows,
            };
            let names = p.map(|p| p.config.data.names).unwrap_or_default();
            (model, input, names, options)
        }
    };
    let points = bench::run_bench(&model, &input, &names, &options, |line| eprintln!("{line}"))?;
    print!("{}", bench::table(&points));
    let memcpy = bench::write_run(&out, &model, &input, &options, &points)?;
    if let Some(gb) = memcpy {
        for p in points.iter().filter(|p| p.device == "loopback") {
            println!(
                "streaming path, batch {}: {:.2} GB/s of f64 frames = {:.2} × memcpy ({gb:.2} GB/s)",
                p.batch,
                p.frames_per_second * (p.inputs * 8) as f64 / 1e9,
                bench::streaming_share(p, p.inputs, gb)
            );
        }
    }
    println!(
        "bench.json, throughput.png and latency.png in {}",
        out.display()
    );
    Ok(())
}

/// `baler manifest`.
pub fn manifest(args: ManifestArgs) -> Result<()> {
    let ManifestArgs {
        hls,
        xclbin,
        board,
        output,
    } = args;
    let manifest = BitstreamManifest::write(&xclbin, &hls, &board, &output)?;
    println!(
        "{}: kernel {} of model {} on {}, xclbin sha256 {}",
        output.display(),
        manifest.kernel.kernel,
        manifest.kernel.model_id.as_deref().unwrap_or("(none)"),
        manifest.board,
        manifest.sha256
    );
    Ok(())
}

fn model_kind(fixed: bool) -> ModelKind {
    if fixed {
        ModelKind::Quantized
    } else {
        ModelKind::Float
    }
}

/// The project in `dir` if there is one (a broken `baler.toml` is still an error).
fn optional_project(dir: &Path) -> Result<Option<Project>> {
    Ok(if dir.join(project::CONFIG_FILE).exists() {
        Some(Project::open(dir)?)
    } else {
        None
    })
}

/// An option's value, or the project's default for it, or an error saying which option to give.
fn need(given: Option<PathBuf>, from_project: Option<PathBuf>, option: &str) -> Result<PathBuf> {
    given
        .or(from_project)
        .with_context(|| format!("no project here (no baler.toml): give --{option}"))
}

/// The project in `dir` if there is one, and the model folder and data file: as given, else the project's.
fn project_model_input(source: &ModelSource) -> Result<(Option<Project>, PathBuf, PathBuf)> {
    let p = optional_project(&source.project)?;
    let model = need(
        source.model.clone(),
        p.as_ref().map(Project::model_dir),
        "model",
    )?;
    let input = need(
        source.input.clone(),
        p.as_ref().map(Project::input),
        "input",
    )?;
    Ok((p, model, input))
}

/// A chunk callback: a bar of the samples done on a terminal, once there is more than one chunk.
fn rows_progress(verb: &'static str) -> impl FnMut(usize, usize) {
    let mut bar: Option<ProgressBar> = None;
    let terminal = std::io::stderr().is_terminal();
    move |done, total| {
        if !terminal || (bar.is_none() && done == total) {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(&format!(
                    "{verb} {{pos}}/{{len}} samples [{{bar:30}}] ETA {{eta}}"
                ))
                .expect("valid template")
                .progress_chars("=> "),
            );
            b
        });
        bar.set_position(done as u64);
        if done == total {
            bar.finish_and_clear();
        }
    }
}

/// An epoch callback: a progress bar on a terminal, a line every 5 % of the epochs otherwise.
fn progress_printer() -> impl FnMut(&EpochStats) {
    let mut bar: Option<ProgressBar> = None;
    let terminal = std::io::stderr().is_terminal();
    let mut seconds = 0.0;
    move |s: &EpochStats| {
        seconds += s.seconds;
        let line = format!(
            "loss {:.3e}  val MSE {:.3e}{}  lr {:.1e}",
            s.train_loss,
            s.validation_mse,
            if s.best { "*" } else { " " },
            s.learning_rate
        );
        if terminal {
            let bar = bar.get_or_insert_with(|| {
                let b = ProgressBar::new(s.epochs as u64);
                b.set_style(
                    ProgressStyle::with_template("epoch {pos}/{len} [{bar:30}] {msg}  ETA {eta}")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                b
            });
            bar.set_position(s.epoch as u64);
            bar.set_message(line);
        } else if s.epoch == 1 || s.epoch.is_multiple_of((s.epochs / 20).max(1)) {
            // a log has no bar: the remaining time at the mean epoch time so far (early stopping may end sooner)
            let left = (seconds / s.epoch as f64 * (s.epochs - s.epoch) as f64).round() as u64;
            eprintln!(
                "epoch {}/{}  {line}  ({:.2} s/epoch, at most {}m{:02}s left)",
                s.epoch,
                s.epochs,
                s.seconds,
                left / 60,
                left % 60
            );
        }
    }
}

/// `baler info`: a model folder, a compressed file or a data file.
pub fn info(args: InfoArgs) -> Result<()> {
    let path = args.path.as_path();
    let (text, json) = if path.is_dir() {
        model_info(path)?
    } else if path.extension().is_some_and(|e| e == "baler") {
        compressed_info(path)?
    } else {
        data_info(path)?
    };
    match args.json {
        true => println!("{}", serde_json::to_string_pretty(&json)?),
        false => print!("{text}"),
    }
    Ok(())
}

/// A model folder: its id, data, latent and the two networks.
fn model_info(dir: &Path) -> Result<(String, serde_json::Value)> {
    let decoder = Decoder::load(dir)?;
    let encoder = match dir.join(baler::model::ENCODER_JSON).exists() {
        true => Some(Model::load(dir)?.encoder),
        false => None,
    };
    let network =
        |layers: usize, parameters: usize| json!({"layers": layers, "parameters": parameters});
    let d = &decoder.data;
    let json = json!({
        "model_id": decoder.id.to_string(),
        "kind": d.kind,
        "dtype": d.dtype,
        "variables": d.names,
        "latent_size": decoder.latent(),
        "encoder": encoder.as_ref().map(|e| network(e.layers.len(), e.parameter_count())),
        "decoder": network(decoder.network.layers.len(), decoder.network.parameter_count()),
    });
    let mut text = format!(
        "model {}\ndata: {}, {}\n",
        decoder.id,
        d.kind,
        d.dtype.name()
    );
    if !d.names.is_empty() {
        text += &format!("variables: {}\n", d.names.join(", "));
    }
    text += &format!("latent size {}\n", decoder.latent());
    text += &match &encoder {
        Some(e) => format!(
            "encoder: {} layers, {} parameters\n",
            e.layers.len(),
            e.parameter_count()
        ),
        None => "encoder: not present (decoder only)\n".into(),
    };
    text += &format!(
        "decoder: {} layers, {} parameters\n",
        decoder.network.layers.len(),
        decoder.network.parameter_count()
    );
    Ok((text, json))
}

/// A compressed file: what it holds, how, and its ratio on the original's bytes.
fn compressed_info(path: &Path) -> Result<(String, serde_json::Value)> {
    let file = CompressedSource::open(path)?;
    let h = &file.header;
    let bytes = std::fs::metadata(path)
        .with_context(|| path.display().to_string())?
        .len();
    let original = h.data_values().unwrap_or(0) * h.dtype.size() as u64;
    let ratio = original as f64 / bytes as f64;
    let chunks = file.chunks.len();
    let json = json!({"header": h, "chunks": chunks, "file_bytes": bytes, "original_bytes": original, "ratio": ratio});
    let mut text = format!(
        "compressed {} of shape {:?}, {}, {}\n",
        h.kind,
        h.shape,
        h.dtype.name(),
        model_named(&h.model_id)
    );
    if !h.names.is_empty() {
        text += &format!("variables: {}\n", h.names.join(", "));
    }
    if chunks > 1 {
        let rows: Vec<usize> = file.chunks.iter().map(|c| c.rows).collect();
        text += &format!(
            "{chunks} chunks of {} to {} {} (each restored on its own)\n",
            rows.iter().min().expect("chunks"),
            rows.iter().max().expect("chunks"),
            h.kind.samples()
        );
    }
    let step = h
        .latent_step
        .map(|s| format!(", step {s}"))
        .unwrap_or_default();
    text += &match h.latent_size {
        0 => "latent: none (the predictor reads none)\n".to_string(),
        n => format!(
            "latent: {n} values per sample, {}{step}\n",
            h.latent_precision.name()
        ),
    };
    if let Some(bounds) = &h.error_bounds {
        let list: Vec<String> = bounds.iter().map(ToString::to_string).collect();
        text += &format!(
            "error bounds: {}; predictor {}{}\n",
            list.join(", "),
            h.predictor,
            h.interpolation
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        );
    }
    let decoder = match codec::needs_model(h) {
        true => "the decoder's files not counted",
        false => "restored without the model: no decoder files needed",
    };
    text += &format!(
        "{bytes} B for {original} B of {} values: R {ratio:.3} on {} bytes ({decoder})\n",
        h.dtype.name(),
        h.dtype.name()
    );
    Ok((text, json))
}

/// A data file: layout, shape and each variable's range.
fn data_info(path: &Path) -> Result<(String, serde_json::Value)> {
    let data = Dataset::load(path, &[])?;
    let integer = data.integer_columns();
    let variables: Vec<_> = data
        .names
        .iter()
        .enumerate()
        .map(|(v, name)| {
            let (min, max) = data.column_range(v);
            json!({"name": name, "min": min, "max": max, "integer": integer[v]})
        })
        .collect();
    let json = json!({
        "kind": data.kind,
        "shape": data.shape(),
        "dtype": data.dtype,
        "bytes": data.raw_bytes(),
        "variables": variables,
    });
    let mut text = format!(
        "{}, shape {:?}, {}, {} bytes\n",
        data.kind,
        data.shape(),
        data.dtype.name(),
        data.raw_bytes()
    );
    for (v, name) in data.names.iter().enumerate() {
        let (lo, hi) = data.column_range(v);
        let kind = if integer[v] { "  integer" } else { "" };
        text += &format!("  {name:<16} min {lo:<12.6} max {hi:<12.6}{kind}\n");
    }
    Ok((text, json))
}

/// `baler demo`: both example projects, trained, compressed, decompressed and evaluated.
pub fn demo(args: DemoArgs) -> Result<()> {
    let DemoArgs {
        data_dir,
        out,
        epochs,
        backend,
    } = args;
    let device = &device(backend)?;
    for (name, config) in baler::demo::cases(&data_dir, epochs)? {
        let dir = out.join(name);
        let p = match optional_project(&dir)? {
            Some(p) => p,
            None => Project::create(&dir, &config)?,
        };
        println!("== {name}: {} ==", p.input().display());
        let (report, evaluation) = p.run_all(device, &mut progress_printer())?;
        let secs: f64 = report.history.iter().map(|s| s.seconds).sum();
        println!(
            "trained {} epochs in {:.1} s ({:.3} s/epoch), best epoch {}; {} parameters",
            report.history.len(),
            secs,
            secs / report.history.len() as f64,
            report.best_epoch,
            report.parameters
        );
        print!("{}", evaluation.table());
        println!("outputs in {}\n", p.dir.display());
    }
    Ok(())
}

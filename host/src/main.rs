//! The `baler` command line: a thin layer over the library's project, codec and evaluation calls.
//! Errors are reported with their cause chain and a non-zero exit status.

use anyhow::{Context, Result};
use baler::bench::{self, BenchOptions};
use baler::config::{LatentPrecision, ModelConfig, Preset, ProjectConfig};
use baler::data::Dataset;
use baler::format::CompressedFile;
use baler::hls::{HlsOptions, Network, hls_projects};
use baler::model_store::{Decoder, Model};
use baler::precision::PrecisionOptions;
use baler::project::{self, EvaluationInputs, ModelKind, Project};
use baler::runtime::manifest::BitstreamManifest;
use baler::train::EpochStats;
use baler_hls::{CsimOptions, HlsConfig, IoType, Strategy};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "baler",
    version,
    about = "Lossy compression of scientific data with autoencoders, FPGA-first"
)]
struct Cli {
    /// Compute backend: cpu, or wgpu when built with `--features wgpu`.
    #[arg(long, global = true, default_value = "cpu")]
    backend: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
// parsed once per run: the size of the largest variant does not matter
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Create a project folder with a commented baler.toml.
    NewProject {
        /// The folder to create.
        dir: PathBuf,
        /// Data file (.npy, .npz or .csv), absolute or relative to the project folder.
        #[arg(long)]
        input: PathBuf,
        /// Model family: auto, baler, fpga-small, conv.
        #[arg(long, default_value = "auto", value_parser = parse_preset)]
        preset: Preset,
        /// Latent values per sample.
        #[arg(long, conflicts_with = "ratio")]
        latent: Option<usize>,
        /// Values per sample / latent size.
        #[arg(long)]
        ratio: Option<f64>,
    },
    /// Train the project's autoencoder (writes model/ and training/).
    Train {
        /// Project folder.
        #[arg(short, long, default_value = ".")]
        project: PathBuf,
    },
    /// Encode data into a compressed file (the training data, or new data of the same kind).
    Compress {
        /// Project folder (supplies defaults for the options below).
        #[arg(short, long, default_value = ".")]
        project: PathBuf,
        /// Model folder [default: <project>/model].
        #[arg(short, long)]
        model: Option<PathBuf>,
        /// Data to compress [default: the project's input].
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// Compressed file to write [default: <project>/output/compressed.baler, compressed-fixed.baler with --fixed].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Use the fixed-point model written by `baler quantize` (bit-exact ap_fixed arithmetic).
        #[arg(long)]
        fixed: bool,
        /// With --fixed, the device that runs the encoder: cpu-fixed, or csim:<kernel library or HLS project
        /// folder> (the kernel `baler hls --csim` built); every one writes the same file.
        #[arg(long, default_value = "cpu-fixed", requires = "fixed")]
        device: String,
        /// Precision of the stored latent values: f32, or f16 (half the bytes; rounds each value to 11
        /// significant bits) [default: the project's `[compression] latent_precision`, else f32].
        #[arg(long, value_enum)]
        latent_precision: Option<LatentPrecision>,
    },
    /// Restore data from a compressed file; needs only the model's decoder files.
    Decompress {
        /// Project folder (supplies defaults for the options below).
        #[arg(short, long, default_value = ".")]
        project: PathBuf,
        /// Model folder holding decoder.json and decoder.safetensors [default: <project>/model].
        #[arg(short, long)]
        model: Option<PathBuf>,
        /// Compressed file [default: <project>/output/compressed.baler].
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// Output data file, .npy/.npz/.csv [default: <project>/output/decompressed.<input's extension>].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Use the fixed-point model written by `baler quantize` (bit-exact ap_fixed arithmetic).
        #[arg(long)]
        fixed: bool,
    },
    /// Compare decompressed data with the original: table, evaluation.json and plots.
    Evaluate {
        /// Project folder.
        #[arg(short, long, default_value = ".")]
        project: PathBuf,
        /// Original data [default: the project's input].
        #[arg(long)]
        original: Option<PathBuf>,
        /// Reconstructed data [default: <project>/output/decompressed.*].
        #[arg(long)]
        reconstructed: Option<PathBuf>,
        /// Compressed file, for the ratios [default: <project>/output/compressed.baler].
        #[arg(long)]
        compressed: Option<PathBuf>,
        /// Model folder whose decoder files count in R_actual [default: <project>/model; without a project
        /// and without this option R_actual is not reported].
        #[arg(short, long)]
        model: Option<PathBuf>,
        /// Folder for evaluation.json and the plots [default: <project>/output, or beside the reconstructed
        /// data when there is no project].
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Evaluate the fixed-point model's output (the `-fixed` files; its decoder counts in R_actual).
        #[arg(long)]
        fixed: bool,
    },
    /// Choose fixed-point (ap_fixed) formats for a trained model and quantise it: writes
    /// quantized-encoder.json, quantized-decoder.json and precision.json into the model folder.
    Quantize {
        /// Project folder (supplies defaults for the options below).
        #[arg(short, long, default_value = ".")]
        project: PathBuf,
        /// Model folder [default: <project>/model].
        #[arg(short, long)]
        model: Option<PathBuf>,
        /// Data the ranges and errors are measured on [default: the project's input].
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// Allowed increase of the reconstruction MSE over the float model's (0.05 = 5 %).
        #[arg(long, default_value_t = 0.05)]
        tolerance: f64,
        /// Samples used for the search, evenly spread over the data.
        #[arg(long, default_value_t = 2000)]
        rows: usize,
        /// Widest weight, result and activation format considered (bits).
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(8..=64))]
        max_width: u32,
    },
    /// Write Vitis/Vivado HLS projects for the quantised encoder and decoder (run `quantize` first), with an
    /// estimate before synthesis and, with --csim, C simulation against the Rust reference.
    Hls {
        /// Project folder (supplies defaults for the options below).
        #[arg(short, long, default_value = ".")]
        project: PathBuf,
        /// Model folder with the quantised model [default: <project>/model].
        #[arg(short, long)]
        model: Option<PathBuf>,
        /// Data whose first rows become the test frames [default: the project's input].
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// Output folder; projects go to <out>/encoder and <out>/decoder [default: <project>/hls].
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Which networks to build.
        #[arg(long, default_value = "both", value_parser = ["encoder", "decoder", "both"])]
        network: String,
        /// Dense layer strategy: latency (fully unrolled, II=1) or resource (multipliers reused RF times).
        #[arg(long, default_value = "latency", value_parser = ["latency", "resource"])]
        strategy: String,
        /// Reuse factor for every layer, or one per dense layer (4,20,10,5) [default: the quantised model's].
        #[arg(long, value_delimiter = ',')]
        reuse_factor: Vec<usize>,
        /// Resource strategy: pick each layer's largest legal reuse factor with II at most this many cycles.
        #[arg(long, conflicts_with = "reuse_factor")]
        target_ii: Option<usize>,
        /// Interface between layers: parallel (partitioned arrays) or stream (hls::stream FIFOs, DATAFLOW).
        #[arg(long, default_value = "parallel", value_parser = ["parallel", "stream"])]
        io: String,
        /// Target clock in MHz.
        #[arg(long, default_value_t = 200.0)]
        clock_mhz: f64,
        /// FPGA part (run_hls.tcl, resource percentages).
        #[arg(long, default_value = "xcu250-figd2104-2L-e")]
        fpga_part: String,
        /// Vitis platform for the kernel's Makefile.
        #[arg(long, default_value = "xilinx_u250_gen3x16_xdma_4_1_202210_1")]
        platform: String,
        /// Prefix of the design names (<name>_encoder, <name>_decoder).
        #[arg(long, default_value = "baler")]
        name: String,
        /// Test frames, the first rows of the data [default: 1000; for large frames as many as hold 200,000
        /// values, at least 10].
        #[arg(long)]
        frames: Option<usize>,
        /// Compile the projects with g++ against the ap_fixed headers, run the testbenches and build the
        /// kernels as shared libraries.
        #[arg(long)]
        csim: bool,
        /// Folder with ap_fixed.h [default: $BALER_AP_TYPES, else scripts/.cache/ap_types of the source tree].
        #[arg(long)]
        ap_types: Option<PathBuf>,
    },
    /// Measure the encoder on devices side by side: latency (p50/p99/max), throughput, host overhead and
    /// energy per frame (RAPL for CPU devices, NVML for gpu, the card's rail sensors for xrt:; otherwise
    /// "unavailable" with the reason); a table, <out>/bench.json, throughput.png, latency.png.
    Bench {
        /// Project folder (supplies defaults for the options below).
        #[arg(short, long, default_value = ".")]
        project: PathBuf,
        /// Model folder [default: <project>/model].
        #[arg(short, long)]
        model: Option<PathBuf>,
        /// Data whose rows are cycled into batches [default: the project's input].
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// Output folder for bench.json and the plots [default: <project>/bench].
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Devices: cpu-f32, cpu-fixed, gpu (wgpu feature), csim:<kernel library or HLS project folder>,
        /// xrt:<bitstream manifest>, loopback.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "cpu-f32,cpu-fixed,loopback"
        )]
        device: Vec<String>,
        /// Frames per batch.
        #[arg(long, value_delimiter = ',', default_value = "1,64,1024,8192")]
        batch: Vec<usize>,
        /// Minimum measured seconds per device and batch size.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Batches in flight (2 = double buffering).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
        depth: u64,
        /// Rows of the data used as frames.
        #[arg(long, default_value_t = 10000)]
        rows: usize,
        /// Repeat the run recorded in an earlier bench.json: its model, data, devices, batch sizes, seconds,
        /// depth and rows (paths as recorded).
        #[arg(long, conflicts_with_all = ["model", "input", "device", "batch", "seconds", "depth", "rows"])]
        repeat: Option<PathBuf>,
    },
    /// Write a bitstream manifest: the board, platform, part, clock and kernel (from the HLS project's
    /// report.json) and the sha256 of the .xclbin, for `--device xrt:<manifest>`.
    Manifest {
        /// The HLS project the kernel was built from.
        #[arg(long)]
        hls: PathBuf,
        /// The built .xclbin.
        #[arg(long)]
        xclbin: PathBuf,
        /// The board it was built for (e.g. alveo-u250).
        #[arg(long)]
        board: String,
        /// The manifest to write (e.g. bitstreams/jets-u250.json).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Describe a data file, a compressed file or a model folder.
    Info {
        /// .npy/.npz/.csv, .baler, or a model folder.
        path: PathBuf,
    },
    /// Train, compress, decompress and evaluate the shipped example data (jets table and CFD field).
    Demo {
        /// Folder with hep_jets_dijet.npy and CFD_animation.npz.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// Where the two demo projects are written.
        #[arg(long, default_value = "demo-output")]
        out: PathBuf,
        /// Maximum epochs per project [default: the demo's own].
        #[arg(long)]
        epochs: Option<usize>,
    },
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
fn project_model_input(
    dir: &Path,
    model: Option<PathBuf>,
    input: Option<PathBuf>,
) -> Result<(Option<Project>, PathBuf, PathBuf)> {
    let p = optional_project(dir)?;
    let model = need(model, p.as_ref().map(Project::model_dir), "model")?;
    let input = need(input, p.as_ref().map(Project::input), "input")?;
    Ok((p, model, input))
}

fn parse_preset(s: &str) -> Result<Preset, String> {
    toml::Value::String(s.into())
        .try_into()
        .map_err(|_| format!("unknown preset '{s}': use auto, baler, fpga-small or conv"))
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let device = || project::device(&cli.backend);
    match cli.command {
        Command::NewProject {
            dir,
            input,
            preset,
            latent,
            ratio,
        } => {
            let data = Dataset::load(&dir.join(&input), &[])?;
            let mut config = ProjectConfig::for_data(input, &data);
            config.model = ModelConfig {
                latent,
                ratio,
                ..ModelConfig::for_preset(preset)
            };
            let p = Project::create(&dir, &config)?;
            println!(
                "created {} for {:?} data of shape {:?}; edit it, then run `baler train -p {}`",
                p.dir.join(project::CONFIG_FILE).display(),
                data.kind,
                data.shape(),
                dir.display()
            );
        }
        Command::Train { project } => {
            let p = Project::open(&project)?;
            let report = p.train(&device()?, &mut progress_printer())?;
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
        }
        Command::Compress {
            project,
            model,
            input,
            output,
            fixed,
            device: fixed_device,
            latent_precision,
        } => {
            let kind = model_kind(fixed);
            let (p, model, input) = project_model_input(&project, model, input)?;
            let output = need(
                output,
                p.as_ref().map(|p| p.compressed_path(kind)),
                "output",
            )?;
            let mut config = p.map(|p| p.config).unwrap_or_default();
            if let Some(precision) = latent_precision {
                config.compression.latent_precision = precision;
            }
            let precision = config.compression.latent_precision;
            let s = project::compress_file(
                &model,
                kind,
                &input,
                &config.data.names,
                &output,
                &config.compression,
                &device()?,
                &fixed_device,
            )?;
            println!(
                "{} rows → {} latent values each ({}); {} B → {} B (R = {:.2}) in {}; model {}",
                s.rows,
                s.latent_size,
                match precision {
                    LatentPrecision::F32 => "f32; --latent-precision f16 halves them",
                    LatentPrecision::F16 => "f16",
                },
                s.input_bytes,
                s.compressed_bytes,
                s.input_bytes as f64 / s.compressed_bytes as f64,
                output.display(),
                s.model_id
            );
        }
        Command::Decompress {
            project,
            model,
            input,
            output,
            fixed,
        } => {
            let kind = model_kind(fixed);
            let p = optional_project(&project)?;
            let model = need(model, p.as_ref().map(Project::model_dir), "model")?;
            let input = need(input, p.as_ref().map(|p| p.compressed_path(kind)), "input")?;
            let output = need(
                output,
                p.as_ref().map(|p| p.decompressed_path(kind)),
                "output",
            )?;
            let data = project::decompress_file(&model, kind, &input, &output, &device()?)?;
            println!(
                "restored {:?} {:?} into {}",
                data.shape(),
                data.dtype,
                output.display()
            );
        }
        Command::Evaluate {
            project,
            original,
            reconstructed,
            compressed,
            model,
            out,
            fixed,
        } => {
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
        }
        Command::Quantize {
            project,
            model,
            input,
            tolerance,
            rows,
            max_width,
        } => {
            let (p, model, input) = project_model_input(&project, model, input)?;
            let names = p.map(|p| p.config.data.names).unwrap_or_default();
            let options = PrecisionOptions {
                tolerance,
                rows,
                max_width,
            };
            let report = project::quantize_model(&model, &input, &names, &options, |line| {
                eprintln!("{line}")
            })?;
            print!("{}", report.table());
            println!(
                "quantised model and {} in {}",
                project::PRECISION_REPORT,
                model.display()
            );
        }
        Command::Hls {
            project,
            model,
            input,
            out,
            network,
            strategy,
            reuse_factor,
            target_ii,
            io,
            clock_mhz,
            fpga_part,
            platform,
            name,
            frames,
            csim,
            ap_types,
        } => {
            let (p, model, input) = project_model_input(&project, model, input)?;
            let out = out.unwrap_or_else(|| project.join("hls"));
            let names = p.map(|p| p.config.data.names).unwrap_or_default();
            let networks = match network.as_str() {
                "encoder" => vec![Network::Encoder],
                "decoder" => vec![Network::Decoder],
                _ => vec![Network::Encoder, Network::Decoder],
            };
            let csim = match csim {
                true => Some(CsimOptions {
                    ap_types: baler_hls::ap_types_dir(ap_types.as_deref())?,
                    shared_library: true,
                }),
                false => None,
            };
            let options = HlsOptions {
                networks,
                config: HlsConfig {
                    name,
                    strategy: if strategy == "resource" {
                        Strategy::Resource
                    } else {
                        Strategy::Latency
                    },
                    reuse_factors: reuse_factor,
                    target_ii,
                    io: if io == "stream" {
                        IoType::Stream
                    } else {
                        IoType::Parallel
                    },
                    clock_mhz,
                    part: fpga_part,
                    platform,
                    ..HlsConfig::default()
                },
                frames,
                csim,
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
            }
        }
        Command::Bench {
            project,
            model,
            input,
            out,
            device,
            batch,
            seconds,
            depth,
            rows,
            repeat,
        } => {
            let out = out.unwrap_or_else(|| project.join("bench"));
            let (model, input, names, options) = match repeat {
                Some(recorded) => {
                    let (model, input, options) = bench::recorded_run(&recorded)?;
                    (model, input, Vec::new(), options)
                }
                None => {
                    let (p, model, input) = project_model_input(&project, model, input)?;
                    let options = BenchOptions {
                        devices: device,
                        batch_sizes: batch,
                        seconds,
                        depth: depth as usize,
                        rows,
                    };
                    let names = p.map(|p| p.config.data.names).unwrap_or_default();
                    (model, input, names, options)
                }
            };
            let points =
                bench::run_bench(&model, &input, &names, &options, |line| eprintln!("{line}"))?;
            print!("{}", bench::table(&points));
            let largest = options.batch_sizes.iter().max().copied().unwrap_or(1);
            let inputs = points.first().map_or(0, |p| p.inputs);
            let memcpy = options.devices.iter().any(|d| d == "loopback").then(|| {
                let gb = bench::memcpy_gb_per_s(largest * inputs * 8, 0.5);
                for p in points.iter().filter(|p| p.device == "loopback") {
                    println!(
                        "streaming path, batch {}: {:.2} GB/s of f64 frames = {:.2} × memcpy ({gb:.2} GB/s)",
                        p.batch,
                        p.frames_per_second * (inputs * 8) as f64 / 1e9,
                        bench::streaming_share(p, inputs, gb)
                    );
                }
                gb
            });
            let report = bench::BenchReport {
                format: "baler-bench",
                options: &options,
                model: model.display().to_string(),
                data: input.display().to_string(),
                threads: rayon::current_num_threads(),
                memcpy_gb_per_s: memcpy,
                points: &points,
            };
            bench::write_report(&out, &report)?;
            println!(
                "bench.json, throughput.png and latency.png in {}",
                out.display()
            );
        }
        Command::Manifest {
            hls,
            xclbin,
            board,
            output,
        } => {
            let dir = output
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let manifest = BitstreamManifest::describe(&xclbin, &hls, &board, dir)
                .map_err(anyhow::Error::msg)?;
            let json = serde_json::to_vec_pretty(&manifest)?;
            baler::fsutil::create_dir(dir)?;
            baler::fsutil::write_bytes(&output, &json)?;
            println!(
                "{}: kernel {} of model {} on {}, xclbin sha256 {}",
                output.display(),
                manifest.kernel.kernel,
                manifest.kernel.model_id.as_deref().unwrap_or("(none)"),
                manifest.board,
                manifest.sha256
            );
        }
        Command::Info { path } => info(&path)?,
        Command::Demo {
            data_dir,
            out,
            epochs,
        } => demo(&data_dir, &out, epochs, &device()?)?,
    }
    Ok(())
}

/// An epoch callback: a progress bar on a terminal, a line every 5 % of the epochs otherwise.
fn progress_printer() -> impl FnMut(&EpochStats) {
    let mut bar: Option<ProgressBar> = None;
    let terminal = std::io::stderr().is_terminal();
    move |s: &EpochStats| {
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
            eprintln!(
                "epoch {}/{}  {line}  ({:.2} s/epoch)",
                s.epoch, s.epochs, s.seconds
            );
        }
    }
}

fn info(path: &Path) -> Result<()> {
    if path.is_dir() {
        let decoder = Decoder::load(path)?;
        let full = match path.join(baler::model_store::ENCODER_JSON).exists() {
            true => Some(Model::load(path)?),
            false => None,
        };
        println!("model {}", decoder.id);
        println!(
            "data: {:?}, dtype {:?}",
            decoder.data.kind, decoder.data.dtype
        );
        if !decoder.data.names.is_empty() {
            println!("variables: {}", decoder.data.names.join(", "));
        }
        println!("latent size {}", decoder.latent());
        if let Some(m) = &full {
            println!(
                "encoder: {} layers, {} parameters",
                m.encoder.layers.len(),
                m.encoder.parameter_count()
            );
        } else {
            println!("encoder: not present (decoder only)");
        }
        println!(
            "decoder: {} layers, {} parameters",
            decoder.network.layers.len(),
            decoder.network.parameter_count()
        );
        return Ok(());
    }
    if path.extension().is_some_and(|e| e == "baler") {
        let file = CompressedFile::read(path)?;
        println!("{}", serde_json::to_string_pretty(&file.header)?);
        return Ok(());
    }
    let data = Dataset::load(path, &[])?;
    println!(
        "{:?}, shape {:?}, dtype {:?}, {} bytes",
        data.kind,
        data.shape(),
        data.dtype,
        data.raw_bytes()
    );
    let integer = data.integer_columns();
    for (v, name) in data.names.iter().enumerate() {
        let (lo, hi) = data.column_range(v);
        println!(
            "  {name:<16} min {lo:<12.6} max {hi:<12.6}{}",
            if integer[v] { "  integer" } else { "" }
        );
    }
    Ok(())
}

fn demo(
    data_dir: &Path,
    out: &Path,
    epochs: Option<usize>,
    device: &burn::tensor::Device,
) -> Result<()> {
    for (name, config) in baler::demo::cases(data_dir, epochs)? {
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

//! The command line's arguments: one clap type per verb, the project/model/data triple shared through
//! `#[command(flatten)]`, and every closed set of values a `ValueEnum`, so clap lists and checks them.

use baler::codec::{BoundSpec, Predictor};
use baler::config::{LatentPrecision, Preset};
use baler::data::Layout;
use baler::firmware::Board;
use baler::hls::Network;
use baler::runtime::DeviceSpec;
use baler::suitability::DEFAULT_LEVELS;
use baler::workflow::RowRange;
use baler_hls::rtl::Multipliers;
use baler_hls::{IoType, Strategy};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Where a verb finds its model and data: given, or the project's.
#[derive(Args, Clone, Debug)]
pub struct ModelSource {
    /// Project folder (supplies defaults for the model and data).
    #[arg(short, long, default_value = ".")]
    pub project: PathBuf,
    /// Model folder [default: <project>/model].
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Data file [default: the project's input].
    #[arg(short, long)]
    pub input: Option<PathBuf>,
}

/// The compute backend of training (burn's).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Backend {
    /// burn's flex CPU backend.
    Cpu,
    /// burn's wgpu backend (builds with `--features wgpu`).
    Wgpu,
}

impl Backend {
    /// The name `baler::project::device` takes.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Wgpu => "wgpu",
        }
    }
}

/// The halves `baler hls` builds.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Halves {
    /// The encoder only.
    Encoder,
    /// The decoder only.
    Decoder,
    /// Both.
    Both,
}

impl Halves {
    /// The networks, encoder first.
    pub fn networks(self) -> Vec<Network> {
        match self {
            Halves::Encoder => vec![Network::Encoder],
            Halves::Decoder => vec![Network::Decoder],
            Halves::Both => vec![Network::Encoder, Network::Decoder],
        }
    }
}

/// `--strategy` of `baler hls`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StrategyArg {
    /// Fully unrolled, II=1.
    Latency,
    /// Multipliers reused RF times.
    Resource,
}

impl From<StrategyArg> for Strategy {
    fn from(s: StrategyArg) -> Self {
        match s {
            StrategyArg::Latency => Strategy::Latency,
            StrategyArg::Resource => Strategy::Resource,
        }
    }
}

/// `--multipliers` of `baler hls --rtl`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MultipliersArg {
    /// A shift-add graph for weights with at most two signed digits, a DSP for the rest.
    Auto,
    /// Every product a `*` (DSP slices).
    Dsp,
    /// Every product a shift-add graph (LUTs and carry chains, no DSP).
    Lut,
}

impl From<MultipliersArg> for Multipliers {
    fn from(m: MultipliersArg) -> Self {
        match m {
            MultipliersArg::Auto => Multipliers::Auto,
            MultipliersArg::Dsp => Multipliers::Dsp,
            MultipliersArg::Lut => Multipliers::Lut,
        }
    }
}

/// `--io` of `baler hls`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum IoArg {
    /// Partitioned arrays between layers.
    Parallel,
    /// hls::stream FIFOs and DATAFLOW.
    Stream,
}

impl From<IoArg> for IoType {
    fn from(io: IoArg) -> Self {
        match io {
            IoArg::Parallel => IoType::Parallel,
            IoArg::Stream => IoType::Stream,
        }
    }
}

/// `baler`: the verbs.
#[derive(Parser)]
#[command(
    name = "baler",
    version,
    about = "Lossy compression of scientific data with autoencoders, FPGA-first"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Subcommand)]
pub enum Command {
    /// Create a project folder with a commented baler.toml.
    NewProject(NewProjectArgs),
    /// Train the project's autoencoder (writes model/ and training/).
    Train(TrainArgs),
    /// Encode data into a compressed file (the training data, or new data of the same kind); without a model,
    /// error-bounded with a predictor that needs none (`baler compress -i f.npy -o f.baler --error-bound rel:1e-3`).
    Compress(CompressArgs),
    /// Restore data from a compressed file; needs only the model's decoder files.
    Decompress(DecompressArgs),
    /// Compare decompressed data with the original: table, evaluation.json and plots.
    Evaluate(EvaluateArgs),
    /// Choose fixed-point (ap_fixed) formats for a trained model and quantise it: writes
    /// quantized-encoder.json, quantized-decoder.json and precision.json into the model folder.
    Quantize(QuantizeArgs),
    /// Write Vitis/Vivado HLS projects for the quantised encoder and decoder (run `quantize` first), with an
    /// estimate before synthesis and, with --csim, C simulation against the Rust reference.
    Hls(HlsArgs),
    /// Build the board firmware for the quantised model (firmware/, cross-compiled with the model compiled in)
    /// and report its sizes against the board's memory; with --run, start it on QEMU.
    Firmware(FirmwareArgs),
    /// Measure the encoder on devices side by side: latency (p50/p99/max), throughput, host overhead and
    /// energy per frame (RAPL for CPU devices, NVML for gpu, the card's rail sensors for xrt:; otherwise
    /// "unavailable" with the reason); a table, <out>/bench.json, throughput.png, latency.png.
    Bench(BenchArgs),
    /// Write a bitstream manifest: the board, platform, part, clock and kernel (from the HLS project's
    /// report.json) and the sha256 of the .xclbin, for `--device xrt:<manifest>`.
    Manifest(ManifestArgs),
    /// Describe a data file, a compressed file or a model folder.
    Info(InfoArgs),
    /// Train, compress, decompress and evaluate the shipped example data (jets table and CFD field).
    Demo(DemoArgs),
}

/// Arguments of `baler new-project`.
#[derive(Args, Debug)]
pub struct NewProjectArgs {
    /// The folder to create.
    pub dir: PathBuf,
    /// Data file (.npy, .npz or .csv): absolute, relative to the project folder (which need not exist yet), or
    /// relative to the working directory (then recorded by its absolute path).
    #[arg(long)]
    pub input: PathBuf,
    /// How a 2-D array is read: as a table of rows × variables, or as one field (an image; `image` is an alias).
    /// auto guesses from the shape and says why; a 3-D array is always a stack of fields.
    #[arg(long, value_enum, default_value_t = Layout::Auto)]
    pub layout: Layout,
    /// Variable names of a table: `pt,eta,phi`, or `@names.txt` (one per line or comma-separated) [default: from
    /// the file (npz `names`, CSV header), else from <stem>.names.txt beside it, else var0, var1, ...].
    #[arg(long)]
    pub names: Option<String>,
    /// Model family: auto (baler for tables, conv for fields), baler, fpga-small, conv.
    #[arg(long, value_enum, default_value_t = Preset::Auto)]
    pub preset: Preset,
    /// Latent values per sample.
    #[arg(long, conflicts_with = "ratio")]
    pub latent: Option<usize>,
    /// Values per sample / latent size.
    #[arg(long)]
    pub ratio: Option<f64>,
}

/// Arguments of `baler train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Project folder.
    #[arg(short, long, default_value = ".")]
    pub project: PathBuf,
    /// Compute backend of training: cpu, or wgpu when built with `--features wgpu`.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
}

/// Arguments of `baler compress`.
#[derive(Args, Debug)]
pub struct CompressArgs {
    #[command(flatten)]
    pub source: ModelSource,
    /// Compressed file to write [default: <project>/output/compressed.baler, compressed-fixed.baler with --fixed].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Without a model: how a 2-D array is read, a table (rows × variables) or one field (an image); auto takes a
    /// wide array with few rows per variable and no names of its own for an image [default: the project's
    /// `[data] layout`, else auto].
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    /// Use the fixed-point model written by `baler quantize` (bit-exact ap_fixed arithmetic).
    #[arg(long)]
    pub fixed: bool,
    /// The device that runs the encoder: cpu-f32 or gpu (wgpu feature) for the float model; with --fixed,
    /// cpu-fixed, csim:<kernel library or HLS project folder>, rtl:<HLS project folder>, xrt:<bitstream
    /// manifest> or serial:<port>, which all write the same file [default: cpu-f32, or cpu-fixed with --fixed].
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Precision of the stored latent values: f32, f16 (half the bytes; rounds each value to 11 significant
    /// bits), or codes (with --fixed: the quantised decoder's own input codes, pco-compressed; what it reads
    /// anyway) [default: the project's `[compression] latent_precision`, else f32; error-bounded mode chooses
    /// codes and their step itself].
    #[arg(long, value_enum, conflicts_with = "error_bound")]
    pub latent_precision: Option<LatentPrecision>,
    /// Error-bounded mode (repeat the flag for several): every restored value within its bound, NaN and ±Inf
    /// kept exactly. abs:<bound> in the variable's units, rel:<bound> × the variable's range, pw:<bound> × each
    /// value (point-wise relative, for steep spectra), for every variable or behind a name (pt=pw:1e-3). Uses the quantised model (implies --fixed) [default: the
    /// project's `[compression] error_bounds`, else off].
    #[arg(long, value_name = "[VARIABLE=]abs|rel|pw:BOUND")]
    pub error_bound: Vec<BoundSpec>,
    /// Error-bounded mode: what predicts the values: autoencoder, none (the quantiser alone), and for fields
    /// autoencoder+lorenzo or autoencoder+interpolation (2-D Lorenzo, or SZ3's multilevel interpolation across
    /// frames, its order of axes, spline and coarse bounds chosen per file, on the residual the autoencoder
    /// leaves), lorenzo or interpolation (alone) [default: the one that makes the smallest file on a sample;
    /// none, lorenzo and interpolation need no decoder, and are the only ones without a model].
    #[arg(long, value_enum, requires = "error_bound")]
    pub predictor: Option<Predictor>,
    /// Samples per chunk: larger data is read, compressed (in parallel on cpu-f32 and cpu-fixed) and written
    /// chunk by chunk in bounded memory, into a chunked file whose index restores any range of rows (decompress
    /// --rows) [default: the project's `[compression] chunk_rows`, else 2^20 values per chunk].
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_rows: Option<u64>,
}

/// Arguments of `baler decompress`.
#[derive(Args, Debug)]
pub struct DecompressArgs {
    /// Project folder (supplies defaults for the options below).
    #[arg(short, long, default_value = ".")]
    pub project: PathBuf,
    /// Model folder holding decoder.json and decoder.safetensors [default: <project>/model]. Not read for an
    /// error-bounded file whose predictor reads no latent (none, lorenzo, interpolation): it needs no model.
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// The device that runs the decoder: cpu-f32 or gpu (wgpu feature) for the float model; with --fixed (and
    /// always for an error-bounded file), cpu-fixed, or csim:/xrt: with a decoder kernel from `baler hls --network
    /// decoder` [default: cpu-f32, or cpu-fixed with --fixed].
    #[arg(long)]
    pub device: Option<DeviceSpec>,
    /// Compressed file [default: <project>/output/compressed.baler].
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Output data file, .npy/.npz/.csv [default: <project>/output/decompressed.<input's extension>]. A .npy
    /// file is written as the chunks are restored; .npz and .csv gather the rows in memory first.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Use the fixed-point model written by `baler quantize` (bit-exact ap_fixed arithmetic).
    #[arg(long)]
    pub fixed: bool,
    /// Restore only these samples, FIRST..END (END excluded; either may be left out): of a chunked file, only
    /// the chunks that hold them are read [default: all].
    #[arg(long, value_name = "FIRST..END", value_parser = parse_row_range)]
    pub rows: Option<RowRange>,
}

fn parse_row_range(text: &str) -> Result<RowRange, String> {
    let (first, end) = text.split_once("..").ok_or_else(|| {
        format!("'{text}' is not a range FIRST..END (e.g. 1000..2000, 5000.. or ..100)")
    })?;
    let number = |s: &str| -> Result<Option<usize>, String> {
        match s.trim() {
            "" => Ok(None),
            n => n
                .parse()
                .map(Some)
                .map_err(|_| format!("'{n}' in '{text}' is not a sample number")),
        }
    };
    Ok(RowRange {
        first: number(first)?,
        end: number(end)?,
    })
}

/// Arguments of `baler evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Project folder.
    #[arg(short, long, default_value = ".")]
    pub project: PathBuf,
    /// Original data [default: the project's input].
    #[arg(long)]
    pub original: Option<PathBuf>,
    /// Reconstructed data [default: <project>/output/decompressed.*].
    #[arg(long)]
    pub reconstructed: Option<PathBuf>,
    /// Compressed file, for the ratios [default: <project>/output/compressed.baler].
    #[arg(long)]
    pub compressed: Option<PathBuf>,
    /// Model folder whose decoder files count in R_actual [default: <project>/model; without a project
    /// and without this option R_actual is not reported].
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Folder for evaluation.json and the plots [default: <project>/output, or beside the reconstructed
    /// data when there is no project].
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Evaluate the fixed-point model's output (the `-fixed` files; its decoder counts in R_actual).
    #[arg(long)]
    pub fixed: bool,
    /// Instead of evaluating a reconstruction: which compressor suits this data, and is the autoencoder worth it?
    /// Compresses the original with baler's error-bounded mode (each predictor: with the quantised model's
    /// autoencoder and without; without a model, only those that need none) and with zstd, SZ3 and ZFP (when built
    /// with the features sz3 and zfp) at each of --bounds, checks every restored value, and writes
    /// suitability.json and suitability.png.
    #[arg(long, conflicts_with_all = ["reconstructed", "compressed", "fixed"])]
    pub baselines: bool,
    /// --baselines without a model: how a 2-D array is read (as for `compress`) [default: the project's
    /// `[data] layout`, else auto].
    #[arg(long, value_enum, requires = "baselines")]
    pub layout: Option<Layout>,
    /// The bounds of --baselines, × each variable's range.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_LEVELS, requires = "baselines")]
    pub bounds: Vec<f64>,
}

/// Arguments of `baler quantize`.
#[derive(Args, Debug)]
pub struct QuantizeArgs {
    #[command(flatten)]
    pub source: ModelSource,
    /// Allowed increase of the reconstruction MSE over the float model's (0.05 = 5 %).
    #[arg(long, default_value_t = 0.05)]
    pub tolerance: f64,
    /// Samples used for the search, evenly spread over the data.
    #[arg(long, default_value_t = 2000)]
    pub rows: usize,
    /// Widest weight, result and activation format considered (bits).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(8..=64))]
    pub max_width: u32,
}

/// Arguments of `baler hls`.
#[derive(Args, Debug)]
pub struct HlsArgs {
    #[command(flatten)]
    pub source: ModelSource,
    /// Output folder; projects go to <out>/encoder and <out>/decoder [default: <project>/hls].
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Which networks to build.
    #[arg(long, value_enum, default_value_t = Halves::Both)]
    pub network: Halves,
    /// Dense layer strategy: latency (fully unrolled, II=1) or resource (multipliers reused RF times).
    #[arg(long, value_enum, default_value_t = StrategyArg::Latency)]
    pub strategy: StrategyArg,
    /// Reuse factor for every layer, or one per dense layer (4,20,10,5) [default: the quantised model's].
    #[arg(long, value_delimiter = ',')]
    pub reuse_factor: Vec<usize>,
    /// Resource strategy: pick each layer's largest legal reuse factor with II at most this many cycles.
    #[arg(long, conflicts_with = "reuse_factor")]
    pub target_ii: Option<usize>,
    /// Interface between layers: parallel (partitioned arrays) or stream (hls::stream FIFOs, DATAFLOW).
    #[arg(long, value_enum, default_value_t = IoArg::Parallel)]
    pub io: IoArg,
    /// Target clock in MHz.
    #[arg(long, default_value_t = 200.0)]
    pub clock_mhz: f64,
    /// FPGA part (run_hls.tcl, resource percentages).
    #[arg(long, default_value = "xcu250-figd2104-2L-e")]
    pub fpga_part: String,
    /// Vitis platform for the kernel's Makefile.
    #[arg(long, default_value = "xilinx_u250_gen3x16_xdma_4_1_202210_1")]
    pub platform: String,
    /// Widest AXI4-Stream beat (TDATA) of the IP cores in bits: a power of two, 8 to 4096 (AXI DMA: up to 1024).
    #[arg(long, default_value_t = 512)]
    pub axis_max_bits: usize,
    /// Prefix of the design names (<name>_encoder, <name>_decoder).
    #[arg(long, default_value = "baler")]
    pub name: String,
    /// Test frames, the first rows of the data [default: 1000; for large frames as many as hold 200,000
    /// values, at least 10].
    #[arg(long)]
    pub frames: Option<usize>,
    /// Compile the projects with g++ against the ap_fixed headers, run the testbenches and build the
    /// kernels as shared libraries.
    #[arg(long)]
    pub csim: bool,
    /// Folder with ap_fixed.h [default: $BALER_AP_TYPES, else scripts/.cache/ap_types of the source tree].
    #[arg(long)]
    pub ap_types: Option<PathBuf>,
    /// Also write the network as Verilog (rtl/ in each project): dense layers, latency strategy.
    #[arg(long)]
    pub rtl: bool,
    /// Verilog products: auto (shift-add for weights of one or two signed digits), dsp or lut.
    #[arg(long, value_enum, default_value_t = MultipliersArg::Auto, requires = "rtl")]
    pub multipliers: MultipliersArg,
    /// Adder levels between two pipeline registers [default: from the clock and the timing model].
    #[arg(long, requires = "rtl")]
    pub levels_per_stage: Option<usize>,
    /// Build the Verilog IP core with Verilator and stream the test frames through it.
    #[arg(long, requires = "rtl")]
    pub verilate: bool,
    /// Synthesise the Verilog IP core with yosys for these FPGA families (xcup,xc7).
    #[arg(long, value_enum, value_delimiter = ',', requires = "rtl")]
    pub synth: Vec<FamilyArg>,
    /// Also simulate yosys's 7-series netlist of the IP core in Verilator on the test frames (synthesises for
    /// xc7 if --synth does not).
    #[arg(long, requires = "rtl")]
    pub gate_level: bool,
}

/// `--synth` of `baler hls --rtl`: a `yosys synth_xilinx -family`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// UltraScale+ (DSP48E2).
    Xcup,
    /// UltraScale (DSP48E2).
    Xcu,
    /// 7 series (DSP48E1); its netlist can be simulated gate by gate.
    Xc7,
}

impl FamilyArg {
    /// yosys's name of the family.
    pub fn name(self) -> &'static str {
        match self {
            FamilyArg::Xcup => "xcup",
            FamilyArg::Xcu => "xcu",
            FamilyArg::Xc7 => "xc7",
        }
    }
}

/// Arguments of `baler firmware`.
#[derive(Args, Debug)]
pub struct FirmwareArgs {
    /// Project folder (supplies the model folder).
    #[arg(short, long, default_value = ".")]
    pub project: PathBuf,
    /// Model folder, quantised [default: <project>/model].
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Board: riscv (QEMU virt, riscv32imac) or cortex-m (QEMU mps2-an386, Cortex-M4).
    #[arg(long, default_value = "riscv")]
    pub target: Board,
    /// Which networks the board runs.
    #[arg(long, value_enum, default_value_t = Halves::Both)]
    pub network: Halves,
    /// Output folder; the firmware goes to <out>/<board> [default: <project>/firmware].
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// The firmware crate [default: firmware/ of the baler source tree].
    #[arg(long)]
    pub source: Option<PathBuf>,
    /// Start the firmware on QEMU, its UART on a pseudo-terminal, and wait (Ctrl-C stops it).
    #[arg(long, conflicts_with = "fifo_address")]
    pub run: bool,
    /// Drive the HLS IP core (the encoder; `baler hls`) through an AXI4-Stream FIFO (AMD PG080) at this base
    /// address, e.g. 0x44a00000, instead of running the software engine. Needs --network encoder.
    #[arg(long, value_parser = parse_address)]
    pub fifo_address: Option<u32>,
    /// With --fifo-address: the IP core's widest stream beat, its HLS project's axis_max_bits.
    #[arg(long, default_value_t = 512, requires = "fifo_address")]
    pub axis_max_bits: usize,
}

/// An address in hex (0x…) or decimal.
fn parse_address(text: &str) -> Result<u32, String> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("{text:?} is not a 32-bit address (0x… or decimal)"))
}

/// Arguments of `baler bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub source: ModelSource,
    /// Output folder for bench.json and the plots [default: <project>/bench].
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Devices: cpu-f32, gpu (wgpu feature), cpu-fixed, csim:<kernel library or HLS project folder>,
    /// rtl:<HLS project folder> (the Verilog core in Verilator), xrt:<bitstream manifest>, serial:<port>,
    /// loopback.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "cpu-f32,cpu-fixed,loopback"
    )]
    pub device: Vec<DeviceSpec>,
    /// Frames per batch.
    #[arg(long, value_delimiter = ',', default_value = "1,64,1024,8192")]
    pub batch: Vec<usize>,
    /// Minimum measured seconds per device and batch size.
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// Batches in flight (2 = double buffering).
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// Rows of the data used as frames.
    #[arg(long, default_value_t = 10000)]
    pub rows: usize,
    /// Repeat the run recorded in an earlier bench.json: its model, data, devices, batch sizes, seconds,
    /// depth and rows (paths as recorded).
    #[arg(long, conflicts_with_all = ["model", "input", "device", "batch", "seconds", "depth", "rows"])]
    pub repeat: Option<PathBuf>,
}

/// Arguments of `baler manifest`.
#[derive(Args, Debug)]
pub struct ManifestArgs {
    /// The HLS project the kernel was built from.
    #[arg(long)]
    pub hls: PathBuf,
    /// The built .xclbin.
    #[arg(long)]
    pub xclbin: PathBuf,
    /// The board it was built for (e.g. alveo-u250).
    #[arg(long)]
    pub board: String,
    /// The manifest to write (e.g. bitstreams/jets-u250.json).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Arguments of `baler info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// .npy/.npz/.csv, .baler, or a model folder.
    pub path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `baler demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder with hep_jets_dijet.npy and CFD_animation.npz.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Where the two demo projects are written.
    #[arg(long, default_value = "demo-output")]
    pub out: PathBuf,
    /// Maximum epochs per project [default: the demo's own].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Compute backend of training: cpu, or wgpu when built with `--features wgpu`.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
}

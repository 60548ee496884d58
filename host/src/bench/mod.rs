//! `baler bench`: the encoder on each device and batch size, side by side — latency per batch and frame
//! (p50, p99, max), throughput, host overhead and energy per frame where a power source exists — as a table,
//! `bench.json` and PNG plots.

mod plots;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model_store::Model;
use crate::power::{EnergyMeter, Locations};
use crate::runtime::{DEVICE_TIMEOUT, Device, DeviceStream};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to measure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchOptions {
    /// Device names (see `baler bench --help`).
    pub devices: Vec<String>,
    /// Frames per batch.
    pub batch_sizes: Vec<usize>,
    /// Minimum measured seconds per device and batch size (after one warm-up batch).
    pub seconds: f64,
    /// Batches in flight.
    pub depth: usize,
    /// Rows of the data cycled into batches.
    pub rows: usize,
}

/// The longest a measurement may be asked to run, per device and batch size: one day.
pub const MAX_SECONDS: f64 = 86_400.0;
/// The most batches in flight.
pub const MAX_DEPTH: usize = 64;
/// The most bytes of input frames the batches in flight may hold together (they are `f64` values): 4 GiB.
pub const MAX_IN_FLIGHT_BYTES: usize = 1 << 32;

impl BenchOptions {
    /// Refuses options no measurement can honour, for frames of `inputs` values: the command line and a
    /// repeated `bench.json` (which a user may have edited) both pass through here.
    pub fn check(&self, inputs: usize) -> Result<()> {
        let bad = |message: String| Err(Error::Mismatch(message));
        if self.devices.is_empty() {
            return bad("no device to benchmark: name at least one with --device".into());
        }
        if !(self.seconds.is_finite() && self.seconds > 0.0 && self.seconds <= MAX_SECONDS) {
            return bad(format!(
                "--seconds {}: give a time above 0 and at most {MAX_SECONDS} s",
                self.seconds
            ));
        }
        if !(1..=MAX_DEPTH).contains(&self.depth) {
            return bad(format!(
                "--depth {}: batches in flight must be 1 to {MAX_DEPTH}",
                self.depth
            ));
        }
        if self.rows == 0 {
            return bad("--rows 0: at least one row of the data is needed".into());
        }
        // each batch in flight, the one being prepared and the warm-up copy hold the frames as f64
        let largest = (MAX_IN_FLIGHT_BYTES / (self.depth + 1) / (inputs.max(1) * 8)).max(1);
        match self.batch_sizes.iter().find(|&&b| b == 0 || b > largest) {
            _ if self.batch_sizes.is_empty() => bad("no batch size: give one with --batch".into()),
            Some(b) => bad(format!(
                "--batch {b}: batch sizes must be 1 to {largest} for frames of {inputs} values at depth {} \
                 (the batches in flight may hold at most {} GiB)",
                self.depth,
                MAX_IN_FLIGHT_BYTES >> 30
            )),
            None => Ok(()),
        }
    }
}

/// p50, p99 and maximum of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quantiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Quantiles {
    fn of(values: &mut [f64]) -> Quantiles {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Quantiles {
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// One device at one batch size.
#[derive(Clone, Debug, Serialize)]
pub struct BenchPoint {
    /// Device name.
    pub device: String,
    /// What it is.
    pub detail: String,
    /// Frames per batch.
    pub batch: usize,
    /// Values per input frame.
    pub inputs: usize,
    /// Batches measured.
    pub batches: usize,
    /// Frames per second.
    pub frames_per_second: f64,
    /// Input megabytes (10^6 B, the data's own value type) per second.
    pub megabytes_per_second: f64,
    /// The encoder's arithmetic rate: 2 × multiply-adds per frame × frames/s, GFLOP/s (0 for `loopback`).
    pub gflop_per_second: f64,
    /// Batch latency, submission to output, ms.
    pub batch_latency_ms: Quantiles,
    /// Batch latency divided by the batch's frames, µs.
    pub frame_latency_us: Quantiles,
    /// Wall time per batch that the device did not spend computing, µs (queues, copies, conversions).
    pub host_overhead_us: f64,
    /// Energy per frame, µJ, when a power source exists.
    pub energy_uj_per_frame: Option<f64>,
    /// Mean power of the source over the run, W.
    pub power_w: Option<f64>,
    /// Where the energy comes from, or why it is unavailable.
    pub energy_source: String,
    /// Every batch latency, ms (for the distribution plot).
    #[serde(skip)]
    pub latencies_ms: Vec<f64>,
}

/// The data a benchmark cycles through.
pub struct BenchFrames<'a> {
    /// Normalised values, frame after frame.
    pub values: &'a [f64],
    /// Bytes per value in the data file.
    pub value_bytes: usize,
    /// The encoder's multiply-adds per frame.
    pub multiply_adds: usize,
}

/// Measures the device behind `stream` at `batch` frames per batch on frames cycled from `frames`, with its
/// energy from `meter` (or the reason there is none).
pub fn bench_point(
    stream: &mut DeviceStream,
    meter: &std::result::Result<EnergyMeter, String>,
    frames: &BenchFrames,
    batch: usize,
    options: &BenchOptions,
) -> Result<BenchPoint> {
    let BenchFrames {
        values: frames,
        value_bytes,
        multiply_adds,
    } = *frames;
    let info = stream.info().clone();
    let inputs = info.inputs;
    let available = frames.len() / inputs;
    if available == 0 {
        return Err(Error::Mismatch("no frames to benchmark with".into()));
    }
    let input: Vec<f64> = (0..batch)
        .flat_map(|f| &frames[(f % available) * inputs..(f % available + 1) * inputs])
        .copied()
        .collect();
    // warm-up: first-touch allocations, thread start, caches
    stream.submit(input.clone())?;
    stream.receive()?;
    let measurement = meter
        .as_ref()
        .map_err(Clone::clone)
        .and_then(EnergyMeter::start);
    let start = Instant::now();
    let mut latencies_ms = Vec::new();
    let mut device_seconds = 0.0;
    while start.elapsed().as_secs_f64() < options.seconds || latencies_ms.len() < 3 {
        while stream.in_flight() < options.depth as u64 {
            stream.submit(input.clone())?;
        }
        let (_, timing) = stream.receive_timed()?;
        latencies_ms.push(timing.latency_seconds * 1e3);
        device_seconds += timing.device_seconds;
    }
    let wall = start.elapsed().as_secs_f64();
    // a meter that fails mid-run says so instead of giving a figure
    let energy = meter
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|meter| Ok((meter.finish(measurement?)?, meter.describe().to_string())))
        .map_err(|why| format!("unavailable: {why}"));
    // batches still in flight are drained, not counted
    while stream.in_flight() > 0 {
        stream.receive()?;
    }
    let batches = latencies_ms.len();
    let total_frames = (batches * batch) as f64;
    let mut per_frame_us: Vec<f64> = latencies_ms
        .iter()
        .map(|ms| ms * 1e3 / batch as f64)
        .collect();
    let mut sorted = latencies_ms.clone();
    Ok(BenchPoint {
        device: info.name,
        detail: info.detail,
        batch,
        inputs,
        batches,
        frames_per_second: total_frames / wall,
        megabytes_per_second: total_frames * (inputs * value_bytes) as f64 / wall / 1e6,
        gflop_per_second: total_frames * 2.0 * multiply_adds as f64 / wall / 1e9,
        batch_latency_ms: Quantiles::of(&mut sorted),
        frame_latency_us: Quantiles::of(&mut per_frame_us),
        host_overhead_us: ((wall - device_seconds) / batches as f64 * 1e6).max(0.0),
        energy_uj_per_frame: energy
            .as_ref()
            .ok()
            .map(|(e, _)| e.joules * 1e6 / total_frames),
        power_w: energy.as_ref().ok().map(|(e, _)| e.joules / e.seconds),
        energy_source: energy.map_or_else(|why| why, |(_, what)| what),
        latencies_ms,
    })
}

/// This machine's memcpy bandwidth for buffers of `bytes` bytes, GB/s (the median of repeated copies over
/// about `seconds`): the yardstick of the streaming path.
pub fn memcpy_gb_per_s(bytes: usize, seconds: f64) -> f64 {
    let source = vec![1u8; bytes.max(1)];
    let mut target = vec![0u8; bytes.max(1)];
    let mut rates = Vec::new();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds || rates.len() < 5 {
        let t = Instant::now();
        target.copy_from_slice(std::hint::black_box(&source));
        std::hint::black_box(&mut target);
        rates.push(bytes as f64 / t.elapsed().as_secs_f64().max(1e-9) / 1e9);
    }
    Quantiles::of(&mut rates).p50
}

/// The streaming path's share of memcpy bandwidth: `loopback` moves its frames as `f64` values.
pub fn streaming_share(point: &BenchPoint, inputs: usize, memcpy_gb_per_s: f64) -> f64 {
    point.frames_per_second * (inputs * 8) as f64 / 1e9 / memcpy_gb_per_s
}

/// The normalised frames of `data` for the benchmark.
pub fn normalized_frames(data: &Dataset, normalization: &baler_core::Normalization) -> Vec<f64> {
    let mut values = data.values.clone();
    normalization.apply(&mut values);
    values
}

/// The terminal table of a run.
pub fn table(points: &[BenchPoint]) -> String {
    let mut out = format!(
        "{:<28} {:>6} {:>12} {:>9} {:>8} {:>28} {:>10} {:>10} {:>14}\n",
        "device",
        "batch",
        "frames/s",
        "MB/s",
        "GFLOP/s",
        "batch latency p50/p99/max",
        "frame p50",
        "host/batch",
        "energy/frame"
    );
    for p in points {
        let l = p.batch_latency_ms;
        let energy = p
            .energy_uj_per_frame
            .map_or("unavailable".to_string(), |e| format!("{e:.3} µJ"));
        out.push_str(&format!(
            "{:<28} {:>6} {:>12.0} {:>9.2} {:>8} {:>28} {:>10} {:>10} {:>14}\n",
            truncate(&p.device, 28),
            p.batch,
            p.frames_per_second,
            p.megabytes_per_second,
            if p.gflop_per_second > 0.0 {
                format!("{:.2}", p.gflop_per_second)
            } else {
                "-".into()
            },
            format!("{} / {} / {}", ms(l.p50), ms(l.p99), ms(l.max)),
            format!("{:.3} µs", p.frame_latency_us.p50),
            format!("{:.1} µs", p.host_overhead_us),
            energy
        ));
    }
    let sources: std::collections::BTreeSet<String> = points
        .iter()
        .map(|p| format!("{}: {}", p.device, p.energy_source))
        .collect();
    for s in sources {
        out.push_str(&format!("energy — {s}\n"));
    }
    out
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.3} ms")
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// What `bench.json` holds.
#[derive(Serialize)]
pub struct BenchReport<'a> {
    /// File format tag.
    pub format: &'static str,
    /// The options, so the run can be repeated.
    pub options: &'a BenchOptions,
    /// The model folder and data.
    pub model: String,
    /// The data file.
    pub data: String,
    /// CPU threads available to CPU devices.
    pub threads: usize,
    /// memcpy bandwidth for the largest batch's bytes, GB/s, when `loopback` was measured.
    pub memcpy_gb_per_s: Option<f64>,
    /// The measurements.
    pub points: &'a [BenchPoint],
}

/// The model folder, data file and options of the run recorded in `bench.json` at `path`, to repeat it.
pub fn recorded_run(path: &Path) -> Result<(PathBuf, PathBuf, BenchOptions)> {
    #[derive(Deserialize)]
    struct Recorded {
        format: String,
        options: BenchOptions,
        model: PathBuf,
        data: PathBuf,
    }
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let run: Recorded = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Mismatch(format!("{}: not a bench.json ({e})", path.display())))?;
    if run.format != "baler-bench" {
        return Err(Error::Mismatch(format!(
            "{}: format '{}', expected 'baler-bench'",
            path.display(),
            run.format
        )));
    }
    Ok((run.model, run.data, run.options))
}

/// Writes `bench.json` and the plots into `dir`.
pub fn write_report(dir: &Path, report: &BenchReport) -> Result<()> {
    crate::fsutil::create_dir(dir)?;
    let json = serde_json::to_vec_pretty(report).expect("report serialises");
    crate::fsutil::write_bytes(&dir.join("bench.json"), &json)?;
    plots::bench_plots(dir, report.points)
}

/// Device names `baler bench` accepts.
pub const DEVICES: &str = "cpu-f32, cpu-fixed, gpu (wgpu feature), csim:<kernel library or HLS project folder>, \
                           xrt:<bitstream manifest>, loopback";

/// Opens device `name` for `model`, loaded from `model_dir` (whose quantised files the fixed-point devices read).
fn open_device(name: &str, model: &Model, model_dir: &Path) -> Result<Box<dyn Device>> {
    use crate::runtime::{CpuFloat, Loopback, open_fixed};
    Ok(match name {
        "cpu-f32" => Box::new(CpuFloat::new(model)?),
        #[cfg(feature = "wgpu")]
        "gpu" => Box::new(crate::runtime::GpuFloat::new(model)?),
        #[cfg(not(feature = "wgpu"))]
        "gpu" => {
            return Err(Error::Mismatch(
                "this build has no GPU device: rebuild with `--features wgpu`".into(),
            ));
        }
        "loopback" => Box::new(Loopback::new(model.encoder.input_shape.iter().product())),
        _ if name == "cpu-fixed" || name.starts_with("csim:") || name.starts_with("xrt:") => {
            let model = crate::quantized::QuantizedModel::load(model_dir)?;
            open_fixed(name, &model.encoder, &model.decoder.id.to_string())?
        }
        other => {
            return Err(Error::Mismatch(format!(
                "unknown device '{other}': use {DEVICES}"
            )));
        }
    })
}

/// Benchmarks the encoder of the model in `model_dir` on every device and batch size of `options`, with the
/// first `options.rows` rows of `input` cycled into batches. `progress` gets a line per point.
pub fn run_bench(
    model_dir: &Path,
    input: &Path,
    names: &[String],
    options: &BenchOptions,
    mut progress: impl FnMut(&str),
) -> Result<Vec<BenchPoint>> {
    let model = Model::load(model_dir)?;
    options.check(model.encoder.input_shape.iter().product())?;
    let decoder = &model.decoder;
    let mut data = crate::data::load_for_model(input, names, &decoder.data.names)?;
    decoder.data.check(&data, input)?;
    data.rows = data.rows.min(options.rows.max(1));
    data.values.truncate(data.rows * data.features());
    let values = normalized_frames(&data, &decoder.normalization);
    let frames = BenchFrames {
        values: &values,
        value_bytes: data.dtype.size(),
        multiply_adds: model.encoder.multiply_adds().unwrap_or(0),
    };
    let mut points = Vec::new();
    for name in &options.devices {
        // one device, meter and stream for all batch sizes: a card is programmed once
        let device = open_device(name, &model, model_dir)?;
        let meter = EnergyMeter::open(&device.power_source(), &Locations::from_env());
        let mut stream = DeviceStream::new(device, options.depth, DEVICE_TIMEOUT);
        for &batch in &options.batch_sizes {
            // the loopback computes nothing
            let arithmetic = if name == "loopback" {
                0
            } else {
                frames.multiply_adds
            };
            let frames = BenchFrames {
                multiply_adds: arithmetic,
                ..frames
            };
            let point = bench_point(&mut stream, &meter, &frames, batch, options)?;
            progress(&format!(
                "{name}: batch {batch}: {:.0} frames/s, batch latency p50 {}",
                point.frames_per_second,
                ms(point.batch_latency_ms.p50)
            ));
            points.push(point);
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> BenchOptions {
        BenchOptions {
            devices: vec!["cpu-fixed".into()],
            batch_sizes: vec![64, 1024],
            seconds: 1.0,
            depth: 2,
            rows: 1000,
        }
    }

    #[test]
    fn absurd_options_are_refused_naming_the_option() {
        assert!(options().check(9).is_ok());
        let refused = |edit: &dyn Fn(&mut BenchOptions), flag: &str| {
            let mut o = options();
            edit(&mut o);
            let err = o.check(9).unwrap_err().to_string();
            assert!(err.contains(flag), "{flag}: {err}");
        };
        refused(
            &|o| o.batch_sizes = vec![10_000_000_000],
            "--batch 10000000000",
        );
        refused(&|o| o.batch_sizes = vec![0], "--batch 0");
        refused(&|o| o.batch_sizes.clear(), "--batch");
        refused(&|o| o.seconds = f64::INFINITY, "--seconds inf");
        refused(&|o| o.seconds = f64::NAN, "--seconds NaN");
        refused(&|o| o.seconds = -1.0, "--seconds -1");
        refused(&|o| o.depth = 0, "--depth 0");
        refused(&|o| o.depth = 1_000_000, "--depth 1000000");
        refused(&|o| o.rows = 0, "--rows 0");
        refused(&|o| o.devices.clear(), "--device");
    }
}

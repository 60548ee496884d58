//! `baler bench`: the encoder on each device and batch size, side by side — latency per batch and frame
//! (p50, p99, max), throughput, host overhead and energy per frame where a power source exists — as a table,
//! `bench.json` and PNG plots.

mod plots;
mod report;

use report::ms;
pub use report::{
    BenchReport, FORMAT, memcpy_gb_per_s, recorded_run, streaming_share, table, write_report,
    write_run,
};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::model::QuantizedModel;
use crate::power::{EnergyMeter, Locations};
use crate::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream, ModelKind, SimulatedCycles};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What to measure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchOptions {
    /// The devices (written as their names in `bench.json`).
    pub devices: Vec<DeviceSpec>,
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
    pub(crate) fn of(values: &mut [f64]) -> Quantiles {
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
    /// For a device that simulates the hardware cycle by cycle (`rtl:`): its count for the last batch.
    pub simulated: Option<SimulatedCycles>,
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
    let mut simulated = None;
    while start.elapsed().as_secs_f64() < options.seconds || latencies_ms.len() < 3 {
        while stream.in_flight() < options.depth as u64 {
            stream.submit(input.clone())?;
        }
        let (_, timing) = stream.receive_timed()?;
        latencies_ms.push(timing.latency_seconds * 1e3);
        device_seconds += timing.device_seconds;
        simulated = timing.cycles.or(simulated);
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
        simulated,
        latencies_ms,
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
    let mut data = crate::data::load_for_model(
        input,
        names,
        decoder.data.kind,
        &decoder.data.names,
        crate::data::NonFinite::Refuse,
    )?;
    decoder.data.check(&data, input)?;
    data.rows = data.rows.min(options.rows.max(1));
    data.values.truncate(data.rows * data.features());
    let values = data.normalized(&decoder.normalization);
    let frames = BenchFrames {
        values: &values,
        value_bytes: data.dtype.size(),
        multiply_adds: model.encoder.multiply_adds().unwrap_or(0),
    };
    // the quantised model, loaded once if a device runs it
    let quantized = match options
        .devices
        .iter()
        .any(|d| d.model_kind() == ModelKind::Quantized)
    {
        true => Some(QuantizedModel::load(model_dir)?),
        false => None,
    };
    let mut points = Vec::new();
    for name in &options.devices {
        // one device, meter and stream for all batch sizes: a card is programmed once
        let device = match name.model_kind() {
            ModelKind::Float => runtime::open_float(
                name,
                &model.encoder,
                &model.encoder_params,
                model.decoder.id,
            )?,
            ModelKind::Quantized => {
                let q = quantized.as_ref().expect("loaded above");
                runtime::open_quantized(name, &q.encoder, q.decoder.id)?
            }
        };
        let meter = EnergyMeter::open(&device.power_source(), &Locations::from_env());
        let mut stream = DeviceStream::new(device, options.depth, DEVICE_TIMEOUT);
        for &batch in &options.batch_sizes {
            // the loopback computes nothing
            let arithmetic = if *name == DeviceSpec::Loopback {
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
            devices: vec![DeviceSpec::CpuFixed],
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

//! What a benchmark run leaves behind: the terminal table, `bench.json` (with the options, so the run can be
//! repeated), the plots, and the memcpy yardstick the streaming path is compared with.

use super::{BenchOptions, BenchPoint, Quantiles, plots};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The format tag of `bench.json`.
pub const FORMAT: &str = "baler-bench";

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
    for p in points {
        if let Some(c) = p.simulated {
            let ns = 1000.0 / c.clock_mhz;
            let rate = c.cycles_per_frame.map_or("-".to_string(), |cpf| {
                format!(
                    "{cpf:.3} cycles per frame ({:.1} M frames/s at {} MHz)",
                    c.clock_mhz / cpf,
                    c.clock_mhz
                )
            });
            out.push_str(&format!(
                "cycles — {} batch {}: latency {} cycles ({:.0} ns at {} MHz), {rate}; counted in the simulation, \
                 the ns and frames/s at the design's target clock (not a timing-closed Fmax)\n",
                p.device,
                p.batch,
                c.latency_cycles,
                c.latency_cycles * ns,
                c.clock_mhz
            ));
        }
    }
    out
}

pub(crate) fn ms(v: f64) -> String {
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
    if run.format != FORMAT {
        return Err(Error::Mismatch(format!(
            "{}: format '{}', expected '{FORMAT}'",
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

/// A finished run: `bench.json` and the plots written into `dir`; the memcpy bandwidth is measured for the
/// largest batch when `loopback` ran. Returns the report's memcpy figure.
pub fn write_run(
    dir: &Path,
    model: &Path,
    data: &Path,
    options: &BenchOptions,
    points: &[BenchPoint],
) -> Result<Option<f64>> {
    let largest = options.batch_sizes.iter().max().copied().unwrap_or(1);
    let inputs = points.first().map_or(0, |p| p.inputs);
    let memcpy = options
        .devices
        .contains(&crate::runtime::DeviceSpec::Loopback)
        .then(|| memcpy_gb_per_s(largest * inputs * 8, 0.5));
    let report = BenchReport {
        format: FORMAT,
        options,
        model: model.display().to_string(),
        data: data.display().to_string(),
        threads: rayon::current_num_threads(),
        memcpy_gb_per_s: memcpy,
        points,
    };
    write_report(dir, &report)?;
    Ok(memcpy)
}

//! The plots of `baler bench`: throughput against batch size per device, and the distribution of batch latencies
//! at each device's largest batch size.

use super::BenchPoint;
use crate::error::Result;
use crate::plot::{PALETTE, draw_png, histogram, labelled_line, legend, range};
use plotters::prelude::*;
use std::path::Path;

/// `throughput.png` (frames/s against batch size per device, log–log) and `latency.png` (the distribution
/// of batch latencies per device at its largest batch size) for `baler bench`.
pub fn bench_plots(dir: &Path, points: &[BenchPoint]) -> Result<()> {
    let mut devices: Vec<&str> = Vec::new();
    for p in points {
        if !devices.contains(&p.device.as_str()) {
            devices.push(&p.device);
        }
    }
    fn of<'a>(points: &'a [BenchPoint], d: &'a str) -> impl Iterator<Item = &'a BenchPoint> {
        points.iter().filter(move |p| p.device == d)
    }
    let positive = |v: f64| v.max(1e-9);
    let batches: Vec<f64> = points.iter().map(|p| p.batch as f64).collect();
    let rates: Vec<f64> = points
        .iter()
        .map(|p| positive(p.frames_per_second))
        .collect();
    let (b_lo, b_hi) = range(&batches);
    let (r_lo, r_hi) = range(&rates);
    draw_png(&dir.join("throughput.png"), (900, 550), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let mut chart = ChartBuilder::on(&root)
            .caption("throughput", ("sans-serif", 22))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(80)
            .build_cartesian_2d(
                (b_lo.max(1.0) * 0.8..b_hi * 1.25).log_scale(),
                (r_lo * 0.5..r_hi * 2.0).log_scale(),
            )
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("frames per batch")
            .y_desc("frames / s")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(e)?;
        for (i, d) in devices.iter().enumerate() {
            let line: Vec<(f64, f64)> = of(points, d)
                .map(|p| (p.batch as f64, positive(p.frames_per_second)))
                .collect();
            labelled_line(&mut chart, line, PALETTE[i % PALETTE.len()], 2, d)?;
        }
        legend(&mut chart)
    })?;
    // log10 of the latency, so devices orders of magnitude apart share one axis
    let samples: Vec<(&str, Vec<f64>)> = devices
        .iter()
        .filter_map(|d| {
            let largest = of(points, d).max_by_key(|p| p.batch)?;
            Some((
                *d,
                largest
                    .latencies_ms
                    .iter()
                    .map(|ms| positive(*ms).log10())
                    .collect(),
            ))
        })
        .collect();
    let all: Vec<f64> = samples
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let (lo, hi) = range(&all);
    draw_png(&dir.join("latency.png"), (900, 550), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let curves: Vec<(&str, Vec<(f64, f64)>)> = samples
            .iter()
            .map(|(d, v)| {
                let h = histogram(v, lo, hi, 40);
                let n = v.len().max(1) as f64;
                (*d, h.into_iter().map(|(x, c)| (x, c / n)).collect())
            })
            .collect();
        let top = curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "batch latency at the largest batch size",
                ("sans-serif", 22),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0.0..top * 1.1 + 1e-9)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("log10(latency / ms)")
            .y_desc("fraction of batches")
            .draw()
            .map_err(e)?;
        for (i, (d, c)) in curves.into_iter().enumerate() {
            labelled_line(&mut chart, c, PALETTE[i % PALETTE.len()], 2, d)?;
        }
        legend(&mut chart)
    })
}

//! A table's plots: one page per variable (original against reconstructed, and the response), and a summary page
//! with every variable's error at a glance.

use super::{draw_png, histogram, labelled_line, legend, range};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// Original vs reconstructed histogram (left) and the response histogram (right) of one variable.
pub fn variable_histograms(
    path: &Path,
    name: &str,
    original: &[f64],
    reconstructed: &[f64],
    response: &[f64],
) -> Result<()> {
    draw_png(path, (1200, 500), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let (left, right) = root.split_horizontally(600);
        let (lo, hi) = range(
            &original
                .iter()
                .chain(reconstructed)
                .copied()
                .collect::<Vec<_>>(),
        );
        let h_orig = histogram(original, lo, hi, 100);
        let h_reco = histogram(reconstructed, lo, hi, 100);
        let top = h_orig
            .iter()
            .chain(&h_reco)
            .map(|p| p.1)
            .fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&left)
            .caption(
                format!("{name}: original vs reconstructed"),
                ("sans-serif", 20),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0.0..top * 1.05)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(name)
            .y_desc("entries")
            .draw()
            .map_err(e)?;
        labelled_line(&mut chart, h_orig, BLUE, 2, "original")?;
        labelled_line(&mut chart, h_reco, RED, 1, "reconstructed")?;
        legend(&mut chart)?;

        let mut sorted: Vec<f64> = response.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (rlo, rhi) = if sorted.len() > 10 {
            let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize];
            let span = (q(0.995) - q(0.005)).max(1e-12);
            (q(0.005) - 0.1 * span, q(0.995) + 0.1 * span)
        } else {
            range(&sorted)
        };
        let h_resp = histogram(response, rlo, rhi, 100);
        let top = h_resp.iter().map(|p| p.1).fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&right)
            .caption(
                format!("{name}: response (x_rec − x)/x"),
                ("sans-serif", 20),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(rlo..rhi, 0.0..top * 1.05)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("response")
            .y_desc("entries")
            .draw()
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(h_resp, BLACK.stroke_width(2)))
            .map_err(e)?;
        Ok(())
    })
}

/// The figures of each variable the summary page shows.
pub struct VariableErrors<'a> {
    /// Variable names.
    pub names: &'a [String],
    /// Residual RMS / the variable's range.
    pub relative_rms: &'a [f64],
    /// Half-width of the central 68 % of the response.
    pub response_68: &'a [f64],
    /// Median |response|.
    pub response_median_abs: &'a [f64],
}

/// Every variable's error at a glance on one page: the residual RMS as a fraction of the variable's range (top) and
/// the response's 68 % half-width and median |response| (bottom), on logarithmic axes; the `worst` variables
/// (indices) are named in the title.
pub fn summary_page(path: &Path, errors: &VariableErrors, worst: &[usize]) -> Result<()> {
    let n = errors.names.len();
    // a log axis over the positive values; a zero (an integer variable restored exactly) sits on its floor
    let bounds = |sets: &[&[f64]]| {
        let all: Vec<f64> = sets
            .iter()
            .flat_map(|s| s.iter().copied())
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        match all.is_empty() {
            true => (1e-6, 1.0),
            false => {
                let (lo, hi) = range(&all);
                (lo / 3.0, hi * 2.0)
            }
        }
    };
    let floored = |v: &[f64], floor: f64| -> Vec<f64> { v.iter().map(|x| x.max(floor)).collect() };
    let (rms_lo, rms_hi) = bounds(&[errors.relative_rms]);
    let (resp_lo, resp_hi) = bounds(&[errors.response_68, errors.response_median_abs]);
    let (rms, r68, rmed) = (
        floored(errors.relative_rms, rms_lo),
        floored(errors.response_68, resp_lo),
        floored(errors.response_median_abs, resp_lo),
    );
    let named: Vec<&str> = worst.iter().map(|&v| errors.names[v].as_str()).collect();
    let label = |x: &f64| {
        let i = x.round() as usize;
        match (n <= 30, errors.names.get(i)) {
            (true, Some(name)) => name.clone(),
            _ => format!("{i}"),
        }
    };
    draw_png(path, (1400, 900), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let root = root
            .titled(
                &format!(
                    "{n} variables; largest relative RMS error: {}",
                    named.join(", ")
                ),
                ("sans-serif", 22),
            )
            .map_err(e)?;
        let (top, bottom) = root.split_vertically(430);
        let x_range = -0.5..(n as f64 - 0.5);
        let (lo, hi) = (rms_lo, rms_hi);
        let mut chart = ChartBuilder::on(&top)
            .caption("residual RMS / the variable's range", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), (lo..hi).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_labels(n.min(30))
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(rms.iter().enumerate().map(|(i, &v)| {
                let colour = if worst.contains(&i) { RED } else { BLUE };
                Rectangle::new([(i as f64 - 0.4, lo), (i as f64 + 0.4, v)], colour.filled())
            }))
            .map_err(e)?;

        let (lo, hi) = (resp_lo, resp_hi);
        let mut chart = ChartBuilder::on(&bottom)
            .caption(
                "response (x_rec − x)/x: ±68 % half-width and median |response| (zero drawn on the floor)",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range, (lo..hi).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_labels(n.min(30))
            .x_label_formatter(&label)
            .x_desc(if n <= 30 {
                "variable"
            } else {
                "variable index"
            })
            .y_label_formatter(&|v| format!("{:.0e} %", 100.0 * v))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(
                r68.iter()
                    .enumerate()
                    .map(|(i, &v)| Circle::new((i as f64, v), 4, BLACK.filled())),
            )
            .map_err(e)?
            .label("±68 % half-width")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, BLACK.filled()));
        chart
            .draw_series(
                rmed.iter()
                    .enumerate()
                    .map(|(i, &v)| Cross::new((i as f64, v), 5, RED.stroke_width(2))),
            )
            .map_err(e)?
            .label("median |response|")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
        legend(&mut chart)
    })
}

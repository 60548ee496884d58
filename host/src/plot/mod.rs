//! PNG plots with an embedded font (no system fonts needed): the drawing helpers, loss curves and the suitability
//! study's ratios here; a table's variables and field images in their own modules.

mod fields;
mod variables;

pub use fields::field_images;
pub use variables::{VariableErrors, summary_page, variable_histograms};

use crate::config::EvaluationConfig;
use crate::data::{DataKind, Dataset};
use crate::evaluate::{self, Evaluation};

use crate::error::{Error, Result};
use crate::suitability::{Point, Study};
use crate::train::EpochStats;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;
use std::sync::Once;

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn plot_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |m| Error::malformed(path, format!("cannot draw plot: {m}"))
}

/// Draws into a temporary PNG and renames it into place.
pub(crate) fn draw_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(
        DrawingArea<BitMapBackend, plotters::coord::Shift>,
    ) -> std::result::Result<(), String>,
) -> Result<()> {
    fonts();
    let tmp = path.with_extension("tmp.png");
    let result = (|| {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(root.clone())?;
        root.present().map_err(|e| e.to_string())
    })();
    match result {
        Ok(()) => std::fs::rename(&tmp, path).map_err(Error::io(path)),
        Err(m) => {
            let _ = std::fs::remove_file(&tmp);
            Err(plot_err(path)(m))
        }
    }
}

type Chart<'a, X, Y> = ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>;

/// Draws a line with a legend entry.
pub(crate) fn labelled_line<X: Ranged, Y: Ranged>(
    chart: &mut Chart<'_, X, Y>,
    points: impl IntoIterator<Item = (X::ValueType, Y::ValueType)>,
    color: RGBColor,
    width: u32,
    label: &str,
) -> std::result::Result<(), String>
where
    X::ValueType: Clone + 'static,
    Y::ValueType: Clone + 'static,
{
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(width)))
        .map_err(|e| e.to_string())?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
    Ok(())
}

/// Draws the legend box of the labelled lines.
pub(crate) fn legend<X: Ranged, Y: Ranged>(
    chart: &mut Chart<'_, X, Y>,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

pub(crate) fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<(f64, f64)> {
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &v in values {
        if v >= lo && v <= hi && width > 0.0 {
            counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
        }
    }
    // a step outline: each bin contributes its two edges
    counts
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| {
            [
                (lo + i as f64 * width, c as f64),
                (lo + (i + 1) as f64 * width, c as f64),
            ]
        })
        .collect()
}

/// An axis label: plain digits for moderate magnitudes, scientific notation otherwise.
pub(crate) fn tick_label(v: f64) -> String {
    match v.abs() {
        0.0 => "0".into(),
        a if (1e-2..1e5).contains(&a) => format!("{}", (v * 1e4).round() / 1e4),
        _ => format!("{v:.2e}"),
    }
}

pub(crate) fn range(values: &[f64]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if lo < hi {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    }
}

/// Training objective and validation MSE per epoch, logarithmic y axis.
pub fn loss_curve(path: &Path, history: &[EpochStats]) -> Result<()> {
    draw_png(path, (900, 550), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let values = history
            .iter()
            .flat_map(|s| [s.train_loss, s.validation_mse])
            .filter(|v| *v > 0.0);
        let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo * 0.8, hi * 1.25)
        } else {
            (1e-6, 1.0)
        };
        let mut chart = ChartBuilder::on(&root)
            .caption("training", ("sans-serif", 22))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .build_cartesian_2d(1..history.len().max(2), (lo..hi).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("loss")
            .draw()
            .map_err(e)?;
        labelled_line(
            &mut chart,
            history.iter().map(|s| (s.epoch, s.train_loss)),
            BLUE,
            2,
            "training loss",
        )?;
        labelled_line(
            &mut chart,
            history.iter().map(|s| (s.epoch, s.validation_mse)),
            RED,
            2,
            "validation MSE",
        )?;
        legend(&mut chart)?;
        Ok(())
    })
}

/// Line colours, one per series.
pub(crate) const PALETTE: [RGBColor; 12] = [
    BLUE,
    RED,
    GREEN,
    MAGENTA,
    CYAN,
    BLACK,
    RGBColor(230, 140, 0),
    RGBColor(120, 80, 40),
    RGBColor(128, 128, 128),
    RGBColor(0, 128, 128),
    RGBColor(128, 0, 128),
    RGBColor(128, 128, 0),
];

/// The suitability study: compression ratio against the error bound for every method (R_actual, with baler's
/// R without its decoder dashed), lossless methods as horizontal lines; points that broke their bound are left out.
pub fn ratio_against_error(path: &Path, study: &Study) -> Result<()> {
    draw_png(path, (1000, 650), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let held: Vec<&Point> = study.points.iter().filter(|p| p.held()).collect();
        let levels: Vec<f64> = held.iter().filter_map(|p| p.level).collect();
        let ratios = held.iter().flat_map(|p| [p.ratio, p.ratio_actual]);
        let (x_lo, x_hi) = levels
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        let (y_lo, y_hi) = ratios.fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
        if !(x_lo.is_finite() && y_lo.is_finite() && y_lo > 0.0) {
            return Err("no method kept its bound".into());
        }
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("compression against error: {}", study.source),
                ("sans-serif", 20),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (x_lo / 2.0..x_hi * 2.0).log_scale(),
                (y_lo * 0.8..y_hi * 1.25).log_scale(),
            )
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("error bound × each variable's range")
            .y_desc("compression ratio on the raw bytes")
            .draw()
            .map_err(e)?;
        let mut methods: Vec<&str> = Vec::new();
        for p in &held {
            if !methods.contains(&p.method.as_str()) {
                methods.push(&p.method);
            }
        }
        for (k, method) in methods.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let points: Vec<&&Point> = held.iter().filter(|p| p.method == *method).collect();
            match points[0].level {
                None => {
                    let r = points[0].ratio;
                    let line = [(x_lo / 2.0, r), (x_hi * 2.0, r)];
                    labelled_line(&mut chart, line, color, 1, &format!("{method} (lossless)"))?;
                }
                Some(_) => {
                    let actual = points
                        .iter()
                        .map(|p| (p.level.unwrap_or(x_lo), p.ratio_actual));
                    let label = match points[0].autoencoder {
                        true => format!("{method}, R_actual (decoder counted)"),
                        false => method.to_string(),
                    };
                    labelled_line(&mut chart, actual, color, 2, &label)?;
                    if points[0].autoencoder {
                        let r: Vec<_> = points
                            .iter()
                            .map(|p| (p.level.unwrap_or(x_lo), p.ratio))
                            .collect();
                        chart
                            .draw_series(DashedLineSeries::new(r, 8, 5, color.stroke_width(2)))
                            .map_err(e)?
                            .label(format!("{method}, R (decoder paid once)"))
                            .legend(move |(x, y)| PathElement::new([(x, y), (x + 8, y)], color));
                    }
                }
            }
        }
        // the upper left stays empty: ratios fall as the bound tightens
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(e)
    })
}

/// Variables named in the summary page's title and drawn first.
const SUMMARY_WORST: usize = 5;

/// The plots of an evaluation into `dir`. A table: `summary.png` (every variable's error at a glance) and one page
/// per variable for the `config.variable_pages` variables with the largest relative RMS error, numbered by variable
/// with as many digits as the largest number needs. Fields: the first, middle and last field as images.
pub fn evaluation_pages(
    dir: &Path,
    original: &Dataset,
    reconstructed: &Dataset,
    report: &Evaluation,
    config: &EvaluationConfig,
) -> Result<()> {
    let n = original.features();
    match original.kind {
        DataKind::Table => {
            let relative_rms: Vec<f64> = report
                .variables
                .iter()
                .enumerate()
                .map(|(v, s)| {
                    let (lo, hi) = original.column_range(v);
                    s.residual_rms / (hi - lo).max(f64::MIN_POSITIVE)
                })
                .collect();
            let mut by_error: Vec<usize> = (0..n).collect();
            by_error.sort_by(|&a, &b| relative_rms[b].total_cmp(&relative_rms[a]));
            let pick = |stat: fn(&evaluate::VariableStats) -> f64| -> Vec<f64> {
                report.variables.iter().map(stat).collect()
            };
            let errors = VariableErrors {
                names: &original.names,
                relative_rms: &relative_rms,
                response_68: &pick(|s| s.response_68),
                response_median_abs: &pick(|s| s.response_median_abs),
            };
            summary_page(
                &dir.join("summary.png"),
                &errors,
                &by_error[..SUMMARY_WORST.min(n)],
            )?;
            let digits = (n - 1).max(1).to_string().len().max(2);
            for &v in by_error.iter().take(config.variable_pages) {
                let column = |d: &Dataset| {
                    d.values
                        .iter()
                        .skip(v)
                        .step_by(n)
                        .copied()
                        .collect::<Vec<_>>()
                };
                let name = &original.names[v];
                let response =
                    evaluate::responses(original, reconstructed, v, config.response_cut());
                variable_histograms(
                    &dir.join(format!("{v:0digits$}_{}.png", file_name(name))),
                    name,
                    &column(original),
                    &column(reconstructed),
                    &response,
                )?;
            }
        }
        DataKind::Fields { height, width } => {
            let frames = [0, original.rows / 2, original.rows - 1];
            for (i, &f) in frames
                .iter()
                .enumerate()
                .filter(|(i, f)| !frames[..*i].contains(f))
            {
                let slice = |d: &Dataset| d.values[f * n..(f + 1) * n].to_vec();
                field_images(
                    &dir.join(format!("field_{i}_frame{f}.png")),
                    &format!("field {f} of {}", original.rows),
                    (height, width),
                    &slice(original),
                    &slice(reconstructed),
                    config.origin,
                )?;
            }
        }
    }
    Ok(())
}

/// A variable name as a file name: ASCII letters, digits, `-` and `_`, anything else `_`.
fn file_name(name: &str) -> String {
    name.chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                true => c,
                false => '_',
            },
        )
        .collect()
}

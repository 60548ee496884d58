//! PNG plots with an embedded font (no system fonts needed): per-variable histograms of original vs
//! reconstructed with the response, field images (original / reconstructed / difference), loss curves.

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

fn heat(v: f64, lo: f64, hi: f64) -> RGBColor {
    let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    // blue → white → red
    let (r, g, b) = if t < 0.5 {
        let s = t / 0.5;
        (s, s, 1.0)
    } else {
        let s = (1.0 - t) / 0.5;
        (1.0, s, s)
    };
    RGBColor((r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8)
}

/// Original, reconstructed and difference images of one field (`height × width`, row-major).
pub fn field_images(
    path: &Path,
    title: &str,
    height: usize,
    width: usize,
    original: &[f64],
    reconstructed: &[f64],
) -> Result<()> {
    let diff: Vec<f64> = reconstructed
        .iter()
        .zip(original)
        .map(|(y, x)| y - x)
        .collect();
    let (lo, hi) = range(original);
    let dmax = diff.iter().fold(1e-300f64, |m, d| m.max(d.abs()));
    let panels = [
        ("original".to_string(), original, lo, hi),
        ("reconstructed".to_string(), reconstructed, lo, hi),
        (format!("difference (±{dmax:.3e})"), &diff[..], -dmax, dmax),
    ];
    draw_png(path, (1500, 560), |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let root = root.titled(title, ("sans-serif", 22)).map_err(e)?;
        for (area, (name, values, lo, hi)) in root.split_evenly((1, 3)).iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(name, ("sans-serif", 18))
                .margin(10)
                .build_cartesian_2d(0..width, 0..height)
                .map_err(e)?;
            chart
                .draw_series(
                    (0..height)
                        .flat_map(|y| (0..width).map(move |x| (x, y)))
                        .map(|(x, y)| {
                            let color = heat(values[y * width + x], lo, hi);
                            Rectangle::new(
                                [(x, height - 1 - y), (x + 1, height - y)],
                                color.filled(),
                            )
                        }),
                )
                .map_err(e)?;
        }
        Ok(())
    })
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

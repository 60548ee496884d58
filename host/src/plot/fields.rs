//! Field images: original, reconstructed and difference side by side at the field's aspect ratio, each with a
//! colour bar in the data's units; a sequential map for one-signed data, a diverging one otherwise.

use super::{draw_png, range, tick_label};
use crate::config::Origin;
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// viridis at five evenly spaced points (matplotlib's published colour values): dark blue to yellow.
const SEQUENTIAL: [(f64, f64, f64); 5] = [
    (68.0, 1.0, 84.0),
    (59.0, 82.0, 139.0),
    (33.0, 145.0, 140.0),
    (94.0, 201.0, 98.0),
    (253.0, 231.0, 37.0),
];
/// Blue through white to red, for signed data and differences.
const DIVERGING: [(f64, f64, f64); 3] = [
    (33.0, 102.0, 172.0),
    (247.0, 247.0, 247.0),
    (178.0, 24.0, 43.0),
];

/// The colour of `t` in [0, 1] on a map given by evenly spaced anchors.
fn colour(map: &[(f64, f64, f64)], t: f64) -> RGBColor {
    let x = t.clamp(0.0, 1.0) * (map.len() - 1) as f64;
    let i = (x as usize).min(map.len() - 2);
    let f = x - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (map[i], map[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// One panel: its title, values, colour range and map.
struct Panel<'a> {
    title: String,
    values: &'a [f64],
    lo: f64,
    hi: f64,
    map: &'a [(f64, f64, f64)],
}

/// Pixels of the longer side of each image.
const IMAGE_SIDE: usize = 420;
/// Pixels beside each image for its colour bar and labels.
const BAR_WIDTH: usize = 110;

/// Original, reconstructed and difference images of one field (`height × width`, row-major), drawn at the field's
/// aspect ratio with row 0 where `origin` says, each with a colour bar: original and reconstructed on one scale
/// (sequential where the data has one sign, diverging around 0 otherwise), the difference diverging around 0.
pub fn field_images(
    path: &Path,
    title: &str,
    (height, width): (usize, usize),
    original: &[f64],
    reconstructed: &[f64],
    origin: Origin,
) -> Result<()> {
    let diff: Vec<f64> = reconstructed
        .iter()
        .zip(original)
        .map(|(y, x)| y - x)
        .collect();
    let (mut lo, mut hi) = range(original);
    let one_signed = lo >= 0.0 || hi <= 0.0;
    let map: &[(f64, f64, f64)] = match one_signed {
        true => &SEQUENTIAL,
        false => {
            let m = lo.abs().max(hi.abs());
            (lo, hi) = (-m, m);
            &DIVERGING
        }
    };
    let dmax = diff.iter().fold(1e-300f64, |m, d| m.max(d.abs()));
    let panels = [
        Panel {
            title: "original".into(),
            values: original,
            lo,
            hi,
            map,
        },
        Panel {
            title: "reconstructed".into(),
            values: reconstructed,
            lo,
            hi,
            map,
        },
        Panel {
            title: format!("reconstructed − original (±{dmax:.3e})"),
            values: &diff,
            lo: -dmax,
            hi: dmax,
            map: &DIVERGING,
        },
    ];
    // the longer side gets IMAGE_SIDE pixels; the shorter keeps the ratio (at least 40 pixels)
    let scale = IMAGE_SIDE as f64 / height.max(width) as f64;
    let (image_w, image_h) = (
        ((width as f64 * scale).round() as usize).max(40),
        ((height as f64 * scale).round() as usize).max(40),
    );
    let panel_w = image_w + BAR_WIDTH + 30;
    let size = ((3 * panel_w) as u32, (image_h + 90) as u32);
    draw_png(path, size, |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let root = root.titled(title, ("sans-serif", 22)).map_err(e)?;
        for (area, panel) in root.split_evenly((1, 3)).iter().zip(&panels) {
            let (image_area, bar_area) = area.split_horizontally(image_w as u32 + 20);
            let mut chart = ChartBuilder::on(&image_area)
                .caption(&panel.title, ("sans-serif", 16))
                .margin(10)
                .build_cartesian_2d(0..width, 0..height)
                .map_err(e)?;
            chart
                .draw_series(
                    (0..height)
                        .flat_map(|y| (0..width).map(move |x| (x, y)))
                        .map(|(x, y)| {
                            let v = panel.values[y * width + x];
                            let fill = colour(panel.map, (v - panel.lo) / (panel.hi - panel.lo));
                            let row = match origin {
                                Origin::Upper => height - 1 - y,
                                Origin::Lower => y,
                            };
                            Rectangle::new([(x, row), (x + 1, row + 1)], fill.filled())
                        }),
                )
                .map_err(e)?;
            colour_bar(&bar_area, panel, image_h)?;
        }
        Ok(())
    })
}

/// A vertical colour bar with tick labels in the data's units beside a panel.
fn colour_bar(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    panel: &Panel,
    image_h: usize,
) -> std::result::Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    const STEPS: usize = 64;
    let mut bar = ChartBuilder::on(area)
        .margin_top(32)
        .margin_bottom(area.dim_in_pixel().1.saturating_sub(image_h as u32 + 42))
        .margin_right(10)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, panel.lo..panel.hi)
        .map_err(e)?;
    bar.configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .disable_y_mesh()
        .y_labels(6)
        .y_label_style(("sans-serif", 13))
        .y_label_formatter(&|v| tick_label(*v))
        .draw()
        .map_err(e)?;
    let step = (panel.hi - panel.lo) / STEPS as f64;
    bar.draw_series((0..STEPS).map(|i| {
        let fill = colour(panel.map, (i as f64 + 0.5) / STEPS as f64);
        let from = panel.lo + i as f64 * step;
        Rectangle::new([(0.0, from), (1.0, from + step)], fill.filled())
    }))
    .map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width and height from a PNG's IHDR chunk.
    fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (be(16), be(20))
    }

    #[test]
    fn images_keep_the_field_aspect_and_the_origin_decides_the_drawing() {
        let dir = tempfile::tempdir().unwrap();
        let (height, width) = (61, 120);
        // a latitude-like gradient: row 0 coldest
        let field: Vec<f64> = (0..height * width)
            .map(|i| 220.0 + (i / width) as f64)
            .collect();
        let draw = |name: &str, origin| {
            let path = dir.path().join(name);
            field_images(&path, "t", (height, width), &field, &field, origin).unwrap();
            path
        };
        let (upper, lower) = (draw("u.png", Origin::Upper), draw("l.png", Origin::Lower));
        // the longer side gets IMAGE_SIDE pixels, the shorter keeps the ratio: 120 → 420, 61 → 214
        let panel = (420 + BAR_WIDTH + 30) as u32;
        assert_eq!(png_size(&upper), (3 * panel, 214 + 90));
        assert_ne!(std::fs::read(upper).unwrap(), std::fs::read(lower).unwrap());
    }

    #[test]
    fn colour_maps_run_between_their_end_colours() {
        assert_eq!(colour(&SEQUENTIAL, 0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(&SEQUENTIAL, 1.0), RGBColor(253, 231, 37));
        assert_eq!(colour(&DIVERGING, 0.5), RGBColor(247, 247, 247));
        // out of range clamps
        assert_eq!(colour(&DIVERGING, -3.0), RGBColor(33, 102, 172));
    }
}

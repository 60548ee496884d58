//! Is the autoencoder worth it on this data? Runs baler's error-bounded mode with each predictor (with the
//! autoencoder and without) and the baselines at the same bounds on the user's data, checks every restored value,
//! and finds the size from which the autoencoder wins (its decoder is paid once).

pub mod baselines;

use crate::codec::{self, BoundSpec, ErrorBound, Predictor};
use crate::container::{CompressedFile, VariableBound};
use crate::data::{DataKind, Dataset, FloatType};
use crate::error::{Error, Result};
use crate::evaluate;
use crate::model::{AnyDecoder, ModelKind, QuantizedDecoder};
use crate::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream};
use baselines::{Trial, Unavailable};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

/// The bounds the study runs at by default, × each variable's range.
pub const DEFAULT_LEVELS: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// One method at one bound, measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The method's name.
    pub method: String,
    /// Whether it runs baler's autoencoder (whose decoder the receiver needs once).
    pub autoencoder: bool,
    /// The bound × each variable's range; `None` for a lossless method.
    pub level: Option<f64>,
    /// Compressed bytes (for baler: the whole compressed file).
    pub compressed_bytes: u64,
    /// Of which the latent and the residuals (baler only).
    pub latent_bytes: Option<u64>,
    /// Residual section bytes (baler only).
    pub residual_bytes: Option<u64>,
    /// Bytes of the decoder the receiver needs besides (0 for methods without a model).
    pub decoder_bytes: u64,
    /// R: input bytes / compressed bytes.
    pub ratio: f64,
    /// R_actual: input bytes / (compressed + decoder bytes).
    pub ratio_actual: f64,
    /// Largest |error| / bound over every value (0 when lossless; at most 1 when the bound held).
    pub worst_error_over_bound: f64,
    /// Input MB (10⁶ B) per second compressed, one run on this machine.
    pub compress_mb_s: f64,
    /// Input MB per second restored.
    pub decompress_mb_s: f64,
}

impl Point {
    /// Whether every value kept to its bound (a lossless method always does).
    pub fn held(&self) -> bool {
        self.worst_error_over_bound <= 1.0
    }
}

/// At one bound: the best method without the autoencoder against baler's best with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The bound × each variable's range.
    pub level: f64,
    /// The method without the autoencoder (baler's own included) with the highest R that kept the bound
    /// (lossless ones included).
    pub best_other: String,
    /// Its R.
    pub best_other_ratio: f64,
    /// Baler's mode with the autoencoder with the highest R that kept the bound.
    pub autoencoder: Option<String>,
    /// Its R (decoder not counted) and R_actual on this data.
    pub autoencoder_ratio: Option<(f64, f64)>,
    /// Rows (samples) from which its R_actual passes the best other R, assuming bytes per row stay as
    /// measured here; `None` when it never does (its R is not above).
    pub wins_from_rows: Option<f64>,
    /// Whether a model was given (else the autoencoder's modes were not tried).
    #[serde(default = "yes")]
    pub with_model: bool,
}

/// Studies written before the field was kept had a model.
fn yes() -> bool {
    true
}

/// The whole study (written as `suitability.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// The data file.
    pub source: String,
    /// Table or fields.
    pub kind: DataKind,
    /// The data's shape.
    pub shape: Vec<usize>,
    /// Its value type: the ratios are on its bytes.
    pub dtype: FloatType,
    /// Bytes of the raw array.
    pub input_bytes: u64,
    /// Every method at every bound.
    pub points: Vec<Point>,
    /// Methods that did not run, and why.
    pub unavailable: Vec<(String, String)>,
    /// One per bound.
    pub verdicts: Vec<Verdict>,
}

/// A quantised model as the study runs it: its folder and its decoder.
pub type Model<'a> = (&'a Path, &'a QuantizedDecoder);

/// Runs the study of `data` (read from `source`) at each bound of `levels` (× each variable's range), with the
/// quantised `model`'s modes where one is given; `progress` hears one line per method run.
pub fn study(
    model: Option<Model>,
    data: &Dataset,
    source: &Path,
    levels: &[f64],
    zstd_level: i32,
    progress: &mut dyn FnMut(&str),
) -> Result<Study> {
    if let Some(bad) = levels.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
        return Err(Error::Mismatch(format!(
            "bound {bad} × range: a bound must be a positive number"
        )));
    }
    let decoder_bytes = match model {
        Some((dir, decoder)) => {
            decoder.data.check(data, source)?;
            AnyDecoder::files_bytes(dir, ModelKind::Quantized)?
        }
        None => 0,
    };
    let input_bytes = data.raw_bytes() as u64;
    let mut study = Study {
        source: source.display().to_string(),
        kind: data.kind,
        shape: data.shape(),
        dtype: data.dtype,
        input_bytes,
        points: Vec::new(),
        unavailable: Vec::new(),
        verdicts: Vec::new(),
    };
    for level in [3, 19] {
        let trial = baselines::zstd_lossless(data, level);
        record(
            &mut study,
            progress,
            &format!("zstd -{level}"),
            None,
            &[],
            data,
            trial,
        );
    }
    let predictors: Vec<Predictor> = Predictor::fitting(data.kind)
        .into_iter()
        .filter(|p| model.is_some() || !p.uses_decoder())
        .collect();
    // the integer variables of a table: the model's, else found in the data
    let integer = match model {
        Some((_, decoder)) => decoder.data.integer.clone(),
        None => data.integer_columns(),
    };
    for &level in levels {
        let spec = BoundSpec {
            variable: None,
            bound: ErrorBound::Relative(level),
        };
        let bounds = codec::resolve_bounds(&[spec], data)?;
        for &predictor in &predictors {
            let mut point = match (model, predictor.uses_decoder()) {
                (Some((dir, decoder)), true) => baler_point(
                    dir, decoder, data, source, &bounds, predictor, zstd_level, level,
                )?,
                _ => alone_point(data, &bounds, &integer, predictor, zstd_level, level)?,
            };
            if point.autoencoder {
                point.decoder_bytes = decoder_bytes;
                point.ratio_actual =
                    input_bytes as f64 / (point.compressed_bytes + decoder_bytes) as f64;
            }
            progress(&format!(
                "{}{}: R {:.3}, R_actual {:.3}",
                point.method,
                at(Some(level)),
                point.ratio,
                point.ratio_actual
            ));
            study.points.push(point);
        }
        let others = [
            ("SZ3", baselines::sz3(data, &bounds, true)),
            (
                "SZ3 without prediction",
                baselines::sz3(data, &bounds, false),
            ),
            ("ZFP", baselines::zfp(data, &bounds)),
        ];
        for (method, trial) in others {
            record(
                &mut study,
                progress,
                method,
                Some(level),
                &bounds,
                data,
                trial,
            );
        }
    }
    study.verdicts = levels
        .iter()
        .map(|&l| verdict(&study, l, model.is_some()))
        .collect();
    Ok(study)
}

/// Adds a baseline's trial to the study, or the reason it did not run.
fn record(
    study: &mut Study,
    progress: &mut dyn FnMut(&str),
    method: &str,
    level: Option<f64>,
    bounds: &[VariableBound],
    data: &Dataset,
    trial: std::result::Result<Trial, Unavailable>,
) {
    match trial {
        Ok(t) => {
            let point = other_point(method, level, bounds, data, study.input_bytes, t);
            progress(&format!("{method}{}: R {:.3}", at(level), point.ratio));
            study.points.push(point);
        }
        Err(why) => {
            progress(&format!("{method}{}: not run ({why})", at(level)));
            study
                .unavailable
                .push((format!("{method}{}", at(level)), why));
        }
    }
}

fn at(level: Option<f64>) -> String {
    level
        .map(|l| format!(" at {l:e} × range"))
        .unwrap_or_default()
}

/// Input MB per second.
fn mb_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds.max(1e-9)
}

/// The worst |error| / bound of `restored` against `data` (0 for a lossless method: no bounds).
fn worst(data: &Dataset, restored: &[f64], bounds: &[VariableBound]) -> f64 {
    match bounds.is_empty() {
        true if data
            .values
            .iter()
            .zip(restored)
            .all(|(x, y)| x.to_bits() == y.to_bits()) =>
        {
            0.0
        }
        true => f64::INFINITY,
        false => evaluate::bound_ratios(&data.values, restored, bounds)
            .into_iter()
            .fold(0.0, f64::max),
    }
}

fn other_point(
    method: &str,
    level: Option<f64>,
    bounds: &[VariableBound],
    data: &Dataset,
    input_bytes: u64,
    t: Trial,
) -> Point {
    let ratio = input_bytes as f64 / t.bytes as f64;
    Point {
        method: method.into(),
        autoencoder: false,
        level,
        compressed_bytes: t.bytes,
        latent_bytes: None,
        residual_bytes: None,
        decoder_bytes: 0,
        ratio,
        ratio_actual: ratio,
        worst_error_over_bound: worst(data, &t.restored, bounds),
        compress_mb_s: mb_s(input_bytes, t.compress_s),
        decompress_mb_s: mb_s(input_bytes, t.decompress_s),
    }
}

/// Baler's error-bounded mode with `predictor` (one that reads the latent) on `cpu-fixed`, compressed to bytes,
/// parsed back and restored.
#[allow(clippy::too_many_arguments)]
fn baler_point(
    model_dir: &Path,
    decoder: &QuantizedDecoder,
    data: &Dataset,
    source: &Path,
    bounds: &[VariableBound],
    predictor: Predictor,
    zstd_level: i32,
    level: f64,
) -> Result<Point> {
    let stream = |device| DeviceStream::new(device, 2, DEVICE_TIMEOUT);
    let any = AnyDecoder::Quantized(decoder.clone());
    let opened = runtime::open_encoder(&DeviceSpec::CpuFixed, model_dir, &any)?;
    let mut encoder = Some(stream(opened));
    // the decoder predicts while compressing and while restoring
    let device = RefCell::new(stream(runtime::open_decoder(&DeviceSpec::CpuFixed, &any)?));
    let compress = || {
        let (encoder, predictor) = (encoder.as_mut(), Some(predictor));
        let device = &mut device.borrow_mut();
        codec::compress_bounded(decoder, data, source, bounds, predictor, encoder, device)
    };
    timed(
        data,
        bounds,
        predictor,
        level,
        zstd_level,
        compress,
        |parsed| codec::decompress(decoder, parsed, source, &mut device.borrow_mut()),
    )
}

/// Baler's error-bounded mode with `predictor` (one that reads no latent) without a model, `integer` flagging
/// a table's integer variables: compressed to bytes (the predictor's scheme chosen as `compress` does), parsed
/// back and restored.
fn alone_point(
    data: &Dataset,
    bounds: &[VariableBound],
    integer: &[bool],
    predictor: Predictor,
    zstd_level: i32,
    level: f64,
) -> Result<Point> {
    let compress = || {
        let sample = codec::sample(data, 0, codec::SampleRows::of_data(data));
        let choice = codec::choose_alone(&sample, bounds, integer, Some(predictor))?;
        Ok(codec::compress_alone(
            data,
            codec::NO_MODEL,
            bounds,
            integer,
            choice,
        ))
    };
    timed(
        data,
        bounds,
        predictor,
        level,
        zstd_level,
        compress,
        |parsed| codec::restore_without_model(parsed, Path::new("(in memory)")),
    )
}

/// The point of baler's `predictor` at `level`: the file `compress` makes, encoded, then parsed and `restore`d,
/// each way timed, every restored value checked against `bounds`.
#[allow(clippy::too_many_arguments)]
fn timed(
    data: &Dataset,
    bounds: &[VariableBound],
    predictor: Predictor,
    level: f64,
    zstd_level: i32,
    compress: impl FnOnce() -> Result<CompressedFile>,
    restore: impl FnOnce(&CompressedFile) -> Result<Dataset>,
) -> Result<Point> {
    let start = Instant::now();
    let encoded = compress()?.encode(zstd_level);
    let compress_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let parsed = CompressedFile::from_bytes(&encoded.bytes, Path::new("(in memory)"))?;
    let restored = restore(&parsed)?;
    let decompress_s = start.elapsed().as_secs_f64();
    let input_bytes = data.raw_bytes() as u64;
    let compressed_bytes = encoded.bytes.len() as u64;
    let name = match predictor {
        Predictor::Autoencoder => "baler autoencoder",
        Predictor::AutoencoderLorenzo => "baler autoencoder+lorenzo",
        Predictor::AutoencoderInterpolation => "baler autoencoder+interpolation",
        Predictor::Lorenzo => "baler lorenzo (no decoder)",
        Predictor::Interpolation => "baler interpolation (no decoder)",
        Predictor::None => "baler none (quantiser alone)",
    };
    Ok(Point {
        method: name.into(),
        autoencoder: predictor.uses_decoder(),
        level: Some(level),
        compressed_bytes,
        latent_bytes: Some(encoded.latent_bytes as u64),
        residual_bytes: Some(encoded.residual_bytes as u64),
        decoder_bytes: 0,
        ratio: input_bytes as f64 / compressed_bytes as f64,
        ratio_actual: input_bytes as f64 / compressed_bytes as f64,
        worst_error_over_bound: worst(data, &restored.values, bounds),
        compress_mb_s: mb_s(input_bytes, compress_s),
        decompress_mb_s: mb_s(input_bytes, decompress_s),
    })
}

/// The best of each side at `level`, and where baler's line crosses the other's.
fn verdict(study: &Study, level: f64, with_model: bool) -> Verdict {
    let rows = study.shape[0] as f64;
    let best = |autoencoder: bool| {
        study
            .points
            .iter()
            .filter(|p| {
                p.autoencoder == autoencoder
                    && p.held()
                    && (p.level == Some(level) || p.level.is_none())
            })
            .max_by(|a, b| a.ratio.total_cmp(&b.ratio))
    };
    let other = best(false).expect("zstd always runs");
    let baler = best(true);
    // R_actual(n) = I·n/N / (C·n/N + D) passes R_o from n > R_o·D·N / (I − R_o·C), where R = I/C > R_o
    let wins_from_rows = baler.and_then(|b| {
        let (i, c, d) = (
            study.input_bytes as f64,
            b.compressed_bytes as f64,
            b.decoder_bytes as f64,
        );
        let margin = i - other.ratio * c;
        (margin > 0.0).then(|| other.ratio * d * rows / margin)
    });
    Verdict {
        level,
        best_other: other.method.clone(),
        best_other_ratio: other.ratio,
        autoencoder: baler.map(|b| b.method.clone()),
        autoencoder_ratio: baler.map(|b| (b.ratio, b.ratio_actual)),
        wins_from_rows,
        with_model,
    }
}

impl Study {
    /// The terminal report: every method at every bound, what did not run, and the verdicts.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {:?} {}, {} B. Bounds × each variable's range; R on these bytes; MB/s of one run on this \
             machine; err/bound: largest |error| / bound over every value",
            self.source,
            self.shape,
            self.dtype.name(),
            self.input_bytes
        );
        let _ = writeln!(
            out,
            "{:<36} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>9} {:>8} {:>8}",
            "method",
            "bound",
            "R",
            "R_actual",
            "latent B",
            "residual B",
            "decoder B",
            "err/bound",
            "comp MB/s",
            "dec MB/s"
        );
        for p in &self.points {
            let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
            let bound = p.level.map_or("lossless".into(), |l| format!("{l:e}"));
            let _ = writeln!(
                out,
                "{:<36} {:>9} {:>9.3} {:>9.3} {:>10} {:>10} {:>10} {:>9.4} {:>9.1} {:>8.1}",
                p.method,
                bound,
                p.ratio,
                p.ratio_actual,
                opt(p.latent_bytes),
                opt(p.residual_bytes),
                p.decoder_bytes,
                p.worst_error_over_bound,
                p.compress_mb_s,
                p.decompress_mb_s
            );
        }
        for (method, why) in &self.unavailable {
            let _ = writeln!(out, "not run: {method}: {why}");
        }
        let broken: Vec<&str> = self
            .points
            .iter()
            .filter(|p| !p.held())
            .map(|p| p.method.as_str())
            .collect();
        if !broken.is_empty() {
            let _ = writeln!(
                out,
                "BOUND NOT HELD by: {} (left out of the verdicts)",
                broken.join(", ")
            );
        }
        for v in &self.verdicts {
            let _ = writeln!(out, "{}", v.sentence(self.shape[0], self.kind.samples()));
        }
        out
    }
}

impl Verdict {
    /// The verdict in words, for data of `rows` rows (samples).
    pub fn sentence(&self, rows: usize, samples: &str) -> String {
        let head = format!(
            "at {:e} × range: best without the autoencoder {} (R {:.3})",
            self.level, self.best_other, self.best_other_ratio
        );
        match (
            &self.autoencoder,
            self.autoencoder_ratio,
            self.wins_from_rows,
        ) {
            _ if !self.with_model => format!(
                "{head}; the autoencoder was not tried (no model given: train one and pass -m to see whether \
                 it pays)"
            ),
            (None, ..) | (_, None, _) => {
                format!("{head}; no mode with the autoencoder kept the bound")
            }
            (Some(b), Some((r, actual)), None) => format!(
                "{head}; {b} R {r:.3} (R_actual {actual:.3}) is {:.1} % short of it even without counting its \
                 decoder: the autoencoder does not pay on this data",
                100.0 * (1.0 - r / self.best_other_ratio)
            ),
            (Some(b), Some((r, actual)), Some(n)) if n <= rows as f64 => format!(
                "{head}; {b} wins on this file: R_actual {actual:.3} (R {r:.3}, {:+.1} %)",
                100.0 * (actual / self.best_other_ratio - 1.0)
            ),
            (Some(b), Some((r, actual)), Some(n)) => format!(
                "{head}; {b} R {r:.3} beats it without its decoder ({:+.1} %), but with it R_actual is {actual:.3}: \
                 it wins from about {n:.0} {samples} ({:.1}× this file; an extrapolation at this file's bytes per \
                 sample)",
                100.0 * (r / self.best_other_ratio - 1.0),
                n / rows as f64
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(
        method: &str,
        autoencoder: bool,
        level: Option<f64>,
        compressed: u64,
        decoder: u64,
    ) -> Point {
        Point {
            method: method.into(),
            autoencoder,
            level,
            compressed_bytes: compressed,
            latent_bytes: None,
            residual_bytes: None,
            decoder_bytes: decoder,
            ratio: 1000.0 / compressed as f64,
            ratio_actual: 1000.0 / (compressed + decoder) as f64,
            worst_error_over_bound: if level.is_some() { 0.9 } else { 0.0 },
            compress_mb_s: 1.0,
            decompress_mb_s: 1.0,
        }
    }

    fn study(points: Vec<Point>) -> Study {
        Study {
            source: "d.npy".into(),
            kind: DataKind::Table,
            shape: vec![100, 10],
            dtype: FloatType::F32,
            input_bytes: 1000,
            points,
            unavailable: vec![],
            verdicts: vec![],
        }
    }

    #[test]
    fn baler_wins_from_where_its_decoder_is_paid_for() {
        // baler: 100 B per 100 rows and a 400 B decoder (R 10, R_actual 2); the best other: R 5 (200 B)
        let s = study(vec![
            point("zstd -19", false, None, 500, 0),
            point("SZ3", false, Some(1e-3), 200, 0),
            point("baler autoencoder", true, Some(1e-3), 100, 400),
        ]);
        let v = verdict(&s, 1e-3, true);
        assert_eq!((v.best_other.as_str(), v.best_other_ratio), ("SZ3", 5.0));
        // 1000n/100 / (100n/100 + 400) = 5  ⇔  n = 400 rows
        assert!((v.wins_from_rows.unwrap() - 400.0).abs() < 1e-9);
        assert!(
            v.sentence(100, "rows")
                .contains("wins from about 400 rows (4.0× this file"),
            "{}",
            v.sentence(100, "rows")
        );
        assert!(
            v.sentence(1000, "rows").contains("wins on this file"),
            "{}",
            v.sentence(1000, "rows")
        );
    }

    #[test]
    fn a_baler_that_does_not_pay_or_broke_its_bound_is_said_so() {
        let mut broken = point("baler autoencoder", true, Some(1e-2), 50, 10);
        broken.worst_error_over_bound = 1.5;
        let s = study(vec![
            point("zstd -19", false, None, 500, 0),
            point("quantiser alone", false, Some(1e-3), 100, 0),
            point("baler autoencoder", true, Some(1e-3), 125, 400),
            broken,
        ]);
        let v = verdict(&s, 1e-3, true);
        assert_eq!(v.wins_from_rows, None);
        assert!(
            v.sentence(100, "rows")
                .contains("20.0 % short of it even without counting its decoder")
        );
        // the broken point is no candidate at its bound: only lossless zstd is left there, and no baler mode
        let v = verdict(&s, 1e-2, true);
        assert_eq!(
            (v.best_other.as_str(), v.autoencoder.as_deref()),
            ("zstd -19", None)
        );
        assert!(s.table().contains("BOUND NOT HELD by: baler autoencoder"));
    }
}

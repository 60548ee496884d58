//! Fidelity and compression figures of a reconstruction: per-variable residual and response, max error,
//! PSNR for fields, and the ratios R (latent file only) and R_actual (counting the decoder files too).

use crate::container::VariableBound;
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Error figures of one variable (or of all values of a field stack).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableStats {
    /// Variable name (`all values` for fields).
    pub name: String,
    /// Mean of x̂ − x.
    pub residual_mean: f64,
    /// RMS of x̂ − x.
    pub residual_rms: f64,
    /// Mean of (x̂ − x)/x over the values the [`ResponseCut`] keeps.
    pub response_mean: f64,
    /// RMS of (x̂ − x)/x over the same values (dominated by the values nearest the cut).
    pub response_rms: f64,
    /// Half the width of the central 68 % of the response: a robust spread, ±1σ for a normal distribution.
    #[serde(default)]
    pub response_68: f64,
    /// Median of |(x̂ − x)/x|.
    #[serde(default)]
    pub response_median_abs: f64,
    /// Values left out of the response because |x| is below the cut.
    pub response_skipped: usize,
    /// Largest |x̂ − x|.
    pub max_abs_error: f64,
    /// The error bound the compressed file promised for it, and the largest |error| / allowed error over its
    /// values (at most 1 when the promise held; error-bounded mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_bound: Option<(VariableBound, f64)>,
}

/// Sizes that enter the compression ratios.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sizes {
    /// Bytes of the original array (values × bytes per value).
    pub input_bytes: u64,
    /// Bytes of the compressed file.
    pub compressed_bytes: u64,
    /// Files the receiver needs besides the compressed file (decoder weights and description) and their sizes;
    /// `None` when the model folder is not known.
    pub auxiliary: Option<Vec<(PathBuf, u64)>>,
    /// The original compressed losslessly (zstd at [`LOSSLESS_LEVEL`]): the size to beat.
    #[serde(default)]
    pub lossless_bytes: Option<u64>,
}

/// The zstd level of the lossless figure results are compared with (fast, so it costs little beside compression).
pub const LOSSLESS_LEVEL: i32 = 3;

/// Bytes of `data`'s values, as its file stores them, compressed losslessly by zstd at [`LOSSLESS_LEVEL`];
/// `path` names the data in an error.
pub fn lossless_bytes(data: &Dataset, path: &Path) -> Result<u64> {
    let mut raw = Vec::new();
    data.dtype.extend_le_bytes(&mut raw, &data.values);
    let compressed = zstd::bulk::compress(&raw, LOSSLESS_LEVEL)
        .map_err(|e| Error::Mismatch(format!("zstd on {}: {e}", path.display())))?;
    Ok(compressed.len() as u64)
}

/// What a user must be told about sizes: R_actual (counting `decoder_bytes`, when known) below lossless zstd's,
/// and a decoder outweighing the compressed file or the data itself.
pub fn size_warnings(
    input_bytes: u64,
    compressed_bytes: u64,
    decoder_bytes: Option<u64>,
    lossless_bytes: u64,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let decoder = decoder_bytes.unwrap_or(0);
    let (actual, lossless) = (
        input_bytes as f64 / (compressed_bytes + decoder) as f64,
        input_bytes as f64 / lossless_bytes as f64,
    );
    if actual < lossless {
        warnings.push(format!(
            "{} {actual:.3} is below lossless compression's: zstd -{LOSSLESS_LEVEL} keeps every value in {lossless_bytes} \
             B (R {lossless:.3})",
            match decoder_bytes {
                Some(_) => "R_actual",
                None => "R",
            }
        ));
    }
    if decoder > input_bytes {
        warnings.push(format!(
            "the decoder files ({decoder} B) are larger than the data ({input_bytes} B): this model pays only when \
             reused on much more data of this kind"
        ));
    } else if decoder > compressed_bytes {
        warnings.push(format!(
            "the decoder files ({decoder} B) outweigh the compressed file ({compressed_bytes} B): the ratio counting \
             them grows with more data compressed by the same model"
        ));
    }
    warnings
}

impl Sizes {
    /// Reads the file sizes; `auxiliary` is `None` when the decoder's files are not known.
    pub fn measure(
        input_bytes: u64,
        compressed: &Path,
        auxiliary: Option<&[PathBuf]>,
        lossless_bytes: Option<u64>,
    ) -> Result<Self> {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).map_err(Error::io(p));
        Ok(Sizes {
            input_bytes,
            compressed_bytes: size(compressed)?,
            auxiliary: auxiliary
                .map(|files| {
                    files
                        .iter()
                        .map(|p| Ok((p.clone(), size(p)?)))
                        .collect::<Result<_>>()
                })
                .transpose()?,
            lossless_bytes,
        })
    }

    /// [`size_warnings`] of these sizes (none without the lossless figure).
    pub fn warnings(&self) -> Vec<String> {
        match self.lossless_bytes {
            Some(lossless) => size_warnings(
                self.input_bytes,
                self.compressed_bytes,
                self.auxiliary_bytes(),
                lossless,
            ),
            None => Vec::new(),
        }
    }

    /// R: input bytes / compressed bytes.
    pub fn ratio(&self) -> f64 {
        self.input_bytes as f64 / self.compressed_bytes as f64
    }

    /// Bytes of the decoder files, when known.
    pub fn auxiliary_bytes(&self) -> Option<u64> {
        Some(self.auxiliary.as_ref()?.iter().map(|(_, n)| n).sum())
    }

    /// R_actual: input bytes / (compressed bytes + every auxiliary file), when the decoder files are known.
    pub fn ratio_actual(&self) -> Option<f64> {
        let aux = self.auxiliary_bytes()?;
        Some(self.input_bytes as f64 / (self.compressed_bytes + aux) as f64)
    }
}

/// The evaluation report (also written as JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Table or fields.
    pub kind: DataKind,
    /// Samples compared.
    pub rows: usize,
    /// |x| below which the response is not computed.
    pub response_threshold: f64,
    /// The same, as a fraction of each variable's largest |x|; the larger of the two applies.
    #[serde(default)]
    pub response_relative_threshold: f64,
    /// Per variable for tables; one entry over all values for fields.
    pub variables: Vec<VariableStats>,
    /// Peak signal-to-noise ratio in dB over all values, range = max − min of the original (fields only).
    pub psnr_db: Option<f64>,
    /// Sizes and ratios, when the compressed file is known.
    pub sizes: Option<Sizes>,
    /// R, when sizes are known.
    pub ratio: Option<f64>,
    /// R_actual, when sizes are known.
    pub ratio_actual: Option<f64>,
}

/// Which values enter the response (x̂ − x)/x: |x| at least `absolute` and at least `relative` × the variable's
/// median |x| (its scale, robust to heavy tails), and never zero, so that values near zero on the variable's scale
/// do not dominate it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResponseCut {
    /// Smallest |x| kept.
    pub absolute: f64,
    /// Smallest |x| kept, as a fraction of the variable's median |x|.
    pub relative: f64,
}

impl ResponseCut {
    /// The smallest |x| kept among `values` (one variable's).
    fn threshold(&self, values: impl Iterator<Item = f64>) -> f64 {
        let mut magnitudes: Vec<f64> = values.filter(|x| x.is_finite()).map(f64::abs).collect();
        let median = quantile(&mut magnitudes, 0.5);
        self.absolute.max(if median.is_nan() {
            0.0
        } else {
            self.relative * median
        })
    }
}

fn stats(
    name: String,
    pairs: impl Iterator<Item = (f64, f64)> + Clone,
    cut: ResponseCut,
) -> VariableStats {
    let threshold = cut.threshold(pairs.clone().map(|(x, _)| x));
    let (mut n, mut sum, mut sq, mut max) = (0usize, 0.0, 0.0, 0.0f64);
    let (mut rsum, mut rsq, mut skipped) = (0.0, 0.0, 0usize);
    let mut response = Vec::new();
    for (x, y) in pairs {
        let d = y - x;
        n += 1;
        sum += d;
        sq += d * d;
        max = max.max(d.abs());
        if x == 0.0 || x.abs() < threshold {
            skipped += 1;
        } else {
            let r = d / x;
            rsum += r;
            rsq += r * r;
            response.push(r);
        }
    }
    let rn = response.len();
    let mean = |s: f64, k: usize| if k == 0 { f64::NAN } else { s / k as f64 };
    let response_68 = (quantile(&mut response, 0.84) - quantile(&mut response, 0.16)) / 2.0;
    response.iter_mut().for_each(|r| *r = r.abs());
    VariableStats {
        name,
        residual_mean: mean(sum, n),
        residual_rms: mean(sq, n).sqrt(),
        response_mean: mean(rsum, rn),
        response_rms: mean(rsq, rn).sqrt(),
        response_68,
        response_median_abs: quantile(&mut response, 0.5),
        response_skipped: skipped,
        max_abs_error: max,
        error_bound: None,
    }
}

/// The `q` quantile of `values` (the nearest rank; NaN when empty); reorders them.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((values.len() - 1) as f64 * q).round() as usize;
    *values.select_nth_unstable_by(rank, f64::total_cmp).1
}

/// Response values (x̂ − x)/x of one table variable that `cut` keeps (for histograms).
pub fn responses(
    original: &Dataset,
    reconstructed: &Dataset,
    variable: usize,
    cut: ResponseCut,
) -> Vec<f64> {
    let n = original.features();
    let pairs = original
        .values
        .iter()
        .zip(&reconstructed.values)
        .skip(variable)
        .step_by(n);
    let threshold = cut.threshold(pairs.clone().map(|(x, _)| *x));
    pairs
        .filter(|(x, _)| **x != 0.0 && x.abs() >= threshold)
        .map(|(x, y)| (y - x) / x)
        .collect()
}

/// Per variable (`bounds.len()` of them, value `i` of variable `i % bounds.len()`), the largest |error| / allowed
/// error: at most 1 where every value kept to its bound (NaN for NaN and an infinity restored exactly count as
/// kept; anything else wrong as infinite).
pub fn bound_ratios(original: &[f64], restored: &[f64], bounds: &[VariableBound]) -> Vec<f64> {
    let mut worst = vec![0.0f64; bounds.len()];
    for (i, (&x, &y)) in original.iter().zip(restored).enumerate() {
        let j = i % bounds.len();
        let kept = (x.is_nan() && y.is_nan()) || x == y;
        let ratio = match kept {
            true => 0.0,
            false if (y - x).is_nan() => f64::INFINITY,
            false => (y - x).abs() / bounds[j].allowed(x),
        };
        worst[j] = worst[j].max(if ratio.is_nan() { f64::INFINITY } else { ratio });
    }
    worst
}

/// Compares a reconstruction with the original; both must have the same layout.
pub fn evaluate(
    original: &Dataset,
    reconstructed: &Dataset,
    cut: ResponseCut,
    sizes: Option<Sizes>,
) -> Result<Evaluation> {
    if original.shape() != reconstructed.shape() || original.kind != reconstructed.kind {
        return Err(Error::Mismatch(format!(
            "the reconstruction has shape {:?}, the original {:?}",
            reconstructed.shape(),
            original.shape()
        )));
    }
    let pairs = || {
        original
            .values
            .iter()
            .copied()
            .zip(reconstructed.values.iter().copied())
    };
    let n = original.features();
    let (variables, psnr_db) = match original.kind {
        DataKind::Table => (
            original
                .names
                .iter()
                .enumerate()
                .map(|(v, name)| stats(name.clone(), pairs().skip(v).step_by(n), cut))
                .collect(),
            None,
        ),
        DataKind::Fields { .. } => {
            let all = stats("all values".into(), pairs(), cut);
            let (lo, hi) = original
                .values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                    (l.min(x), h.max(x))
                });
            let psnr = 20.0 * ((hi - lo) / all.residual_rms).log10();
            (vec![all], Some(psnr))
        }
    };
    Ok(Evaluation {
        kind: original.kind,
        rows: original.rows,
        response_threshold: cut.absolute,
        response_relative_threshold: cut.relative,
        variables,
        psnr_db,
        ratio: sizes.as_ref().map(Sizes::ratio),
        ratio_actual: sizes.as_ref().and_then(Sizes::ratio_actual),
        sizes,
    })
}

impl Evaluation {
    /// The terminal table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16} {:>13} {:>12} {:>12} {:>12} {:>12} {:>12} {:>8}",
            "variable",
            "residual mean",
            "residual RMS",
            "resp. ±68%",
            "median|resp|",
            "response RMS",
            "max |error|",
            "skipped"
        );
        for v in &self.variables {
            let _ = writeln!(
                out,
                "{:<16} {:>13.4e} {:>12.4e} {:>11.3}% {:>11.3}% {:>11.3}% {:>12.4e} {:>8}",
                v.name,
                v.residual_mean,
                v.residual_rms,
                100.0 * v.response_68,
                100.0 * v.response_median_abs,
                100.0 * v.response_rms,
                v.max_abs_error,
                v.response_skipped
            );
        }
        let _ = writeln!(
            out,
            "response (x_rec - x)/x over |x| ≥ max({:e}, {} × the variable's median |x|); ±68%: half the central \
             68 % interval",
            self.response_threshold, self.response_relative_threshold
        );
        if let Some(p) = self.psnr_db {
            let _ = writeln!(out, "PSNR {p:.2} dB");
        }
        let bounded: Vec<(&VariableStats, VariableBound, f64)> = self
            .variables
            .iter()
            .filter_map(|v| v.error_bound.map(|(b, ratio)| (v, b, ratio)))
            .collect();
        if !bounded.is_empty() {
            let broken: Vec<String> = bounded
                .iter()
                .filter(|(_, _, ratio)| *ratio > 1.0)
                .map(|(v, b, ratio)| {
                    format!("{} (bound {b}, largest |error| / bound {ratio:.4})", v.name)
                })
                .collect();
            let worst = bounded
                .iter()
                .map(|(_, _, ratio)| *ratio)
                .fold(0.0, f64::max);
            let _ = match broken.is_empty() {
                true => writeln!(
                    out,
                    "error bounds held on every variable (largest |error| / bound {worst:.4})"
                ),
                false => writeln!(out, "error bounds NOT held: {}", broken.join(", ")),
            };
        }
        if let Some(s) = &self.sizes {
            let actual = match (s.ratio_actual(), s.auxiliary_bytes()) {
                (Some(r), Some(aux)) => format!("{r:.3} (counting {aux} B of decoder files)"),
                _ => "not reported (no model folder given: -m)".into(),
            };
            let _ = writeln!(
                out,
                "R = {:.3} ({} B / {} B compressed)   R_actual = {actual}",
                s.ratio(),
                s.input_bytes,
                s.compressed_bytes,
            );
            if let Some(lossless) = s.lossless_bytes {
                let _ = writeln!(
                    out,
                    "lossless zstd -{LOSSLESS_LEVEL}: R = {:.3} ({lossless} B)",
                    s.input_bytes as f64 / lossless as f64
                );
            }
            for warning in s.warnings() {
                let _ = writeln!(out, "warning: {warning}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::FloatType;

    #[test]
    fn figures_match_a_hand_computation() {
        let table = |values: Vec<f64>| Dataset {
            kind: DataKind::Table,
            names: vec!["a".into(), "b".into()],
            dtype: FloatType::F64,
            rows: 2,
            values,
        };
        let original = table(vec![1.0, 0.0, 2.0, 4.0]);
        let reco = table(vec![1.1, 0.5, 1.8, 4.0]);
        let cut = ResponseCut {
            absolute: 1e-9,
            relative: 0.0,
        };
        let e = evaluate(&original, &reco, cut, None).unwrap();
        let a = &e.variables[0];
        assert!((a.residual_mean - (-0.05)).abs() < 1e-12);
        assert!((a.response_rms - ((0.01f64 + 0.01) / 2.0).sqrt()).abs() < 1e-12);
        assert!((a.max_abs_error - 0.2).abs() < 1e-12);
        assert_eq!(e.variables[1].response_skipped, 1);
        assert_eq!(responses(&original, &reco, 1, cut), vec![0.0]);
        // a = [1, 2] → responses [0.1, -0.1]: the 68 % interval is ±0.1, the median |response| 0.1
        assert!((a.response_68 - 0.1).abs() < 1e-12 && (a.response_median_abs - 0.1).abs() < 1e-12);
        // a relative cut of 0.6 × the median |x| (2, the upper of the two) leaves out x = 1
        let relative = ResponseCut {
            absolute: 0.0,
            relative: 0.6,
        };
        let e = evaluate(&original, &reco, relative, None).unwrap();
        assert_eq!(e.variables[0].response_skipped, 1);
        assert!((e.variables[0].response_rms - 0.1).abs() < 1e-12);
    }
}

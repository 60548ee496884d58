//! Error-bounded mode: the fixed-point decoder's reconstruction predicts each value, the residual is quantised
//! with a step of twice the variable's bound, and values the quantiser cannot reach (NaN, ±Inf, far outliers)
//! are stored exactly. The compressor replays the decompressor's arithmetic, so every restored value keeps to
//! its bound.

use crate::config::{BoundSpec, ErrorBound};
use crate::container::{GridDecoder, GridEncoder, ResidualCodes, Residuals, VariableBound};
use crate::data::{DataKind, Dataset, FloatType};
use crate::error::{Error, Result};
use crate::interpolation::{Grid, Point, Scheme};

/// The bound of each variable of `data` (a table's columns, or one for fields): the spec naming it, else the one
/// naming none; a bound relative to the range becomes absolute. A variable without a bound, or a name the data does
/// not have, is an error.
pub fn resolve_bounds(specs: &[BoundSpec], data: &Dataset) -> Result<Vec<VariableBound>> {
    resolve_bounds_in(specs, data, &variable_ranges(data))
}

/// [`resolve_bounds`] for data like `template` whose variables span `ranges` (from [`variable_ranges`], merged
/// over the chunks of a file read in parts).
pub fn resolve_bounds_in(
    specs: &[BoundSpec],
    template: &Dataset,
    ranges: &[(f64, f64)],
) -> Result<Vec<VariableBound>> {
    let names: Vec<String> = match template.kind {
        DataKind::Table => template.names.clone(),
        DataKind::Fields { .. } => vec!["field".into()],
    };
    for s in specs {
        if let Some(v) = &s.variable
            && !names.contains(v)
        {
            return Err(Error::Mismatch(format!(
                "error bound {s}: the data has no variable '{v}' (it has {})",
                names.join(", ")
            )));
        }
    }
    names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let spec = specs
                .iter()
                .rev()
                .find(|s| s.variable.as_ref() == Some(name))
                .or_else(|| specs.iter().rev().find(|s| s.variable.is_none()))
                .ok_or_else(|| {
                    Error::Mismatch(format!(
                        "variable '{name}' has no error bound: add one for it (--error-bound {name}=rel:1e-3) \
                         or for every variable (--error-bound rel:1e-3)"
                    ))
                })?;
            let (lo, hi) = ranges[j];
            let range = if lo <= hi { hi - lo } else { 0.0 };
            Ok(match spec.bound {
                ErrorBound::Absolute(b) => VariableBound::Abs(b),
                ErrorBound::Relative(r) => VariableBound::Abs(r * range),
                ErrorBound::Pointwise(r) => VariableBound::Pw(r),
            })
        })
        .collect()
}

/// The smallest and largest finite value of each variable the bounds are kept per (a table's columns, or all
/// values of fields); (+∞, −∞) for one without finite values. Merge two with [`merge_ranges`].
pub fn variable_ranges(data: &Dataset) -> Vec<(f64, f64)> {
    let variables = match data.kind {
        DataKind::Table => data.features(),
        DataKind::Fields { .. } => 1,
    };
    let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); variables];
    for (i, &v) in data.values.iter().enumerate() {
        if v.is_finite() {
            let (lo, hi) = &mut ranges[i % variables];
            (*lo, *hi) = (lo.min(v), hi.max(v));
        }
    }
    ranges
}

/// The ranges of two parts of the same data together.
pub fn merge_ranges(into: &mut [(f64, f64)], other: &[(f64, f64)]) {
    for ((lo, hi), &(l, h)) in into.iter_mut().zip(other) {
        (*lo, *hi) = (lo.min(l), hi.max(h));
    }
}

/// How one variable's values are quantised.
#[derive(Clone, Copy, Debug)]
struct Quantizer {
    /// The bound the steps are made for: the variable's, or a tighter one (coarse levels of interpolation).
    bound: VariableBound,
    /// The variable's bound, which every value restored from a code keeps to.
    keep: VariableBound,
    /// Restored values are rounded to integers.
    round: bool,
    /// 1 / the step where it is the same at every prediction (an absolute bound, or rounding), else 0.
    inverse_step: f64,
}

impl Quantizer {
    /// An integer variable (by the model's training data) with an absolute bound below ½ is restored exactly from
    /// integer steps and rounding; every other variable in steps of twice its bound (point-wise: twice the bound
    /// at the prediction's power of two, never more than the bound at the value where the prediction is within a
    /// factor of two of it; elsewhere the value is stored exactly; where the prediction is 0, in steps of the
    /// value's magnitude bits, [`Self::magnitude_step`]).
    fn new(bound: VariableBound, integer: bool) -> Self {
        let round = matches!(bound, VariableBound::Abs(b) if integer && b < 0.5);
        Quantizer {
            bound,
            keep: bound,
            round,
            inverse_step: 0.0,
        }
        .with_inverse_step()
    }

    /// This quantiser with its `inverse_step` for its bound.
    fn with_inverse_step(self) -> Self {
        let inverse_step = match self.step(0.0) {
            Some(step) if self.round || matches!(self.bound, VariableBound::Abs(_)) => 1.0 / step,
            _ => 0.0,
        };
        Quantizer {
            inverse_step: if inverse_step.is_finite() {
                inverse_step
            } else {
                0.0
            },
            ..self
        }
    }

    /// This quantiser with steps for its bound divided by `divisor` (≥ 1), still keeping to its bound.
    fn tightened(self, divisor: f64) -> Self {
        let bound = match self.bound {
            VariableBound::Abs(b) => VariableBound::Abs(b / divisor),
            VariableBound::Pw(r) => VariableBound::Pw(r / divisor),
        };
        Quantizer { bound, ..self }.with_inverse_step()
    }

    /// The step at `prediction`; `None` where there is none (a point-wise bound at a prediction of zero, a
    /// subnormal or a non-finite one).
    fn step(self, prediction: f64) -> Option<f64> {
        match self.bound {
            _ if self.round => Some(1.0),
            VariableBound::Abs(b) => Some(2.0 * b),
            VariableBound::Pw(r) => {
                // 2^(floor(log2 |p|)), from the exponent bits: exact on every machine
                let exponent = (prediction.to_bits() >> 52) & 0x7ff;
                (prediction.is_normal()).then(|| r * f64::from_bits(exponent << 52))
            }
        }
    }

    /// For a point-wise bound where nothing predicts the value (a prediction of zero): the step of the code in
    /// units of the value's magnitude bits (its `f64` bits without the sign), which grow with log₂ |v|. Rounding
    /// the bits to the nearest multiple of r·2^53 moves a value of exponent e by at most r·2^e within its binade,
    /// and no more than r·|v| across a binade's edge (r ≤ 1); values a cast to `f32` pushes over are stored
    /// exactly.
    fn magnitude_step(self, prediction: f64) -> Option<u64> {
        match self.bound {
            VariableBound::Pw(r) if prediction == 0.0 && !self.round => {
                Some(((r * MAGNITUDE_UNITS).min(MAGNITUDE_UNITS * 512.0) as u64).max(1))
            }
            _ => None,
        }
    }

    /// The restored value from a prediction and a code, as the data's dtype holds it: the decompressor's
    /// arithmetic, replayed by the compressor.
    #[inline]
    fn restore(self, prediction: f64, code: i32, dtype: FloatType) -> f64 {
        let mut v = match self.magnitude_step(prediction) {
            Some(units) => {
                let magnitude =
                    f64::from_bits(u64::from(code.unsigned_abs()).saturating_mul(units));
                if code < 0 { -magnitude } else { magnitude }
            }
            None => prediction + self.step(prediction).unwrap_or(0.0) * f64::from(code),
        };
        if self.round {
            v = v.round() + 0.0;
        }
        match dtype {
            FloatType::F32 => f64::from(v as f32),
            FloatType::F64 => v,
        }
    }

    /// The code that restores `value` within its bound from `prediction`, if there is one, and the value it
    /// restores.
    #[inline]
    fn code(self, value: f64, prediction: f64, dtype: FloatType) -> Option<(i32, f64)> {
        if !value.is_finite() || !prediction.is_finite() {
            return None;
        }
        let q = match self.magnitude_step(prediction) {
            Some(units) => {
                let steps = ((value.abs().to_bits() + units / 2) / units) as f64;
                if value < 0.0 { -steps } else { steps }
            }
            None => {
                let step = self.step(prediction)?;
                // a multiplication where the step is fixed (no division per value): at most a last-digit
                // difference, which the check of the restored value below covers
                match (self.inverse_step, step > 0.0) {
                    (inverse, true) if inverse > 0.0 => nearest((value - prediction) * inverse),
                    (_, true) => nearest((value - prediction) / step),
                    (_, false) => 0.0,
                }
            }
        };
        if q.abs() > f64::from(i32::MAX) {
            return None;
        }
        let code = q as i32;
        let restored = self.restore(prediction, code, dtype);
        ((restored - value).abs() <= self.keep.allowed(value)).then_some((code, restored))
    }
}

/// `x` rounded to the nearest integer (ties to even) where |x| < 2^51, by two additions: `f64::round` is a library
/// call on x86-64 without SSE4.1. Larger `x` come back as they are (beyond any `i32` code either way).
#[inline]
fn nearest(x: f64) -> f64 {
    // 1.5 × 2^52: added to |x| < 2^51, the sum's last binary digit is the units
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    if x.abs() < SHIFT / 3.0 {
        (x + SHIFT) - SHIFT
    } else {
        x
    }
}

/// 2^53: [`Quantizer::magnitude_step`]'s units per unit of point-wise bound.
const MAGNITUDE_UNITS: f64 = 9_007_199_254_740_992.0;

/// Bits of a value as `dtype` holds it, and back.
fn bits_of(value: f64, dtype: FloatType) -> u64 {
    match dtype {
        FloatType::F32 => u64::from((value as f32).to_bits()),
        FloatType::F64 => value.to_bits(),
    }
}

fn value_of(bits: u64, dtype: FloatType) -> f64 {
    match dtype {
        FloatType::F32 => f64::from(f32::from_bits(bits as u32)),
        FloatType::F64 => f64::from_bits(bits),
    }
}

/// The quantisers [`walk`] asks for by index: of each variable (`bounds` per variable, `integer` the model's
/// integer flags, empty for fields), or with interpolation of the one field variable at each level.
fn quantizers(bounds: &[VariableBound], integer: &[bool], local: Option<Local>) -> Vec<Quantizer> {
    let of_variables = bounds
        .iter()
        .enumerate()
        .map(|(j, &b)| Quantizer::new(b, integer.get(j).copied().unwrap_or(false)));
    match (local, bounds) {
        (Some(Local::Interpolation(grid, scheme)), &[bound]) => {
            let field = Quantizer::new(bound, false);
            (0..=grid.levels())
                .map(|level| field.tightened(scheme.tightening(level)))
                .collect()
        }
        _ => of_variables.collect(),
    }
}

/// The local predictor of fields (`None` for tables, whose rows are independent), run on the residual the
/// autoencoder leaves (on the values themselves where the autoencoder is not used). It predicts from values
/// already restored, in an order the decompressor follows the same way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Local {
    /// 2-D Lorenzo within each field (above + left − above-left), in the order of the data.
    Lorenzo {
        /// Field height.
        height: usize,
        /// Field width.
        width: usize,
    },
    /// Multilevel interpolation across frames, rows and columns, in the order of the grid's walk with the
    /// scheme's axes, spline and bounds per level.
    Interpolation(Grid, Scheme),
}

/// What predicts the values before the local predictor (which predicts what is left).
#[derive(Clone, Copy, Debug)]
pub enum Predictions<'a> {
    /// The autoencoder's reconstruction, one per value.
    Model(&'a [f64]),
    /// Nothing: 0 for each of this many values (the local predictor alone, or the quantiser).
    Zeros(usize),
}

impl Predictions<'_> {
    /// Values predicted.
    fn len(self) -> usize {
        match self {
            Predictions::Model(p) => p.len(),
            Predictions::Zeros(n) => n,
        }
    }

    /// The prediction of value `i`.
    #[inline(always)]
    fn at(self, i: usize) -> f64 {
        match self {
            Predictions::Model(p) => p[i],
            Predictions::Zeros(_) => 0.0,
        }
    }
}

/// Walks the values, calling `restore_one(i, variable, quantizer, prediction, point)` for each (prediction: the
/// autoencoder's, plus the local predictor's estimate of the residual from values already restored; quantizer:
/// the index into [`quantizers`]; point: the grid's, with interpolation), which returns the restored value.
fn walk(
    predictions: Predictions,
    variables: usize,
    local: Option<Local>,
    mut restore_one: impl FnMut(usize, usize, usize, f64, Option<&Point>) -> f64,
) {
    // the restored residual (restored − autoencoder's prediction) of the value at `i`, for the local predictor;
    // a value stored exactly may be NaN or infinite: its neighbours see no residual there
    let residual_of = |restored: f64, i: usize| {
        let r = restored - predictions.at(i);
        if r.is_finite() { r } else { 0.0 }
    };
    // fields have one variable: no division per value
    let variable = |i: usize| if variables == 1 { 0 } else { i % variables };
    match local {
        None => {
            for i in 0..predictions.len() {
                restore_one(i, variable(i), variable(i), predictions.at(i), None);
            }
        }
        Some(Local::Lorenzo { height, width }) => {
            let mut residual = vec![0.0; height * width];
            for i in 0..predictions.len() {
                let p = predictions.at(i);
                let k = i % residual.len();
                let (y, x) = (k / width, k % width);
                let at = |y: usize, x: usize| residual[y * width + x];
                let up = if y > 0 { at(y - 1, x) } else { 0.0 };
                let left = if x > 0 { at(y, x - 1) } else { 0.0 };
                let corner = if x > 0 && y > 0 {
                    at(y - 1, x - 1)
                } else {
                    0.0
                };
                let restored = restore_one(i, 0, 0, p + up + left - corner, None);
                residual[k] = residual_of(restored, i);
            }
        }
        Some(Local::Interpolation(grid, scheme)) => {
            let mut residual = vec![0.0; grid.len()];
            grid.walk(
                scheme.axes,
                #[inline(always)]
                |point| {
                    let i = point.index;
                    let estimate = point.predict(&residual, scheme.spline);
                    let level = point.level as usize;
                    let restored =
                        restore_one(i, 0, level, predictions.at(i) + estimate, Some(&point));
                    residual[i] = residual_of(restored, i);
                },
            );
        }
    }
}

/// Where [`residuals`] puts the codes: per variable, or range-coded over the grid of interpolation.
enum CodeSink {
    Streams(Vec<Vec<i32>>),
    Grid(GridEncoder),
}

/// Where [`restore`] takes the codes from.
enum CodeSource<'a> {
    Streams {
        codes: &'a [Vec<i32>],
        next: Vec<usize>,
    },
    Grid(GridDecoder<'a>),
}

/// The residuals that restore `values` (row-major, `bounds.len()` variables, value `i` of variable
/// `i % bounds.len()`) within `bounds` from `predictions` (and the `local` predictor, for fields), for data held as
/// `dtype`.
pub fn residuals(
    values: &[f64],
    predictions: Predictions,
    bounds: &[VariableBound],
    integer: &[bool],
    dtype: FloatType,
    local: Option<Local>,
) -> Residuals {
    let quantizers = quantizers(bounds, integer, local);
    let n = bounds.len();
    let mut codes = match local {
        Some(Local::Interpolation(grid, scheme)) => {
            CodeSink::Grid(GridEncoder::new(grid, scheme.contexts))
        }
        _ => CodeSink::Streams(vec![Vec::with_capacity(values.len() / n); n]),
    };
    let (mut exact_at, mut exact_bits) = (Vec::new(), Vec::new());
    walk(
        predictions,
        n,
        local,
        #[inline(always)]
        |i, j, q, p, point| {
            let v = values[i];
            match quantizers[q].code(v, p, dtype) {
                Some((code, restored)) => {
                    match (&mut codes, point) {
                        (CodeSink::Grid(coder), Some(point)) => coder.put(point, code),
                        (CodeSink::Streams(codes), _) => codes[j].push(code),
                        (CodeSink::Grid(_), None) => unreachable!("interpolation walks a grid"),
                    }
                    restored
                }
                None => {
                    exact_at.push(i as u64);
                    exact_bits.push(bits_of(v, dtype));
                    value_of(bits_of(v, dtype), dtype)
                }
            }
        },
    );
    // the interpolation walk is not in the order of the data: exact values are kept by position
    if !exact_at.is_sorted() {
        let mut exact: Vec<(u64, u64)> = exact_at.into_iter().zip(exact_bits).collect();
        exact.sort_unstable();
        (exact_at, exact_bits) = exact.into_iter().unzip();
    }
    Residuals {
        codes: match codes {
            CodeSink::Streams(codes) => ResidualCodes::Streams(codes),
            CodeSink::Grid(coder) => ResidualCodes::Grid(coder.finish()),
        },
        exact_at,
        exact_bits,
    }
}

/// The restored values: `predictions` (row-major) corrected by `residuals` within `bounds` (with the `local`
/// predictor the residuals were made with). An error names damage a grid's coded stream shows as it is decoded.
pub fn restore(
    predictions: Predictions,
    residuals: &Residuals,
    bounds: &[VariableBound],
    integer: &[bool],
    dtype: FloatType,
    local: Option<Local>,
) -> std::result::Result<Vec<f64>, String> {
    let quantizers = quantizers(bounds, integer, local);
    let mut codes = match (&residuals.codes, local) {
        (ResidualCodes::Grid(stream), Some(Local::Interpolation(grid, scheme))) => {
            CodeSource::Grid(GridDecoder::new(stream, grid, scheme.contexts))
        }
        (ResidualCodes::Streams(codes), local)
            if !matches!(local, Some(Local::Interpolation(..))) =>
        {
            CodeSource::Streams {
                codes,
                next: vec![0; codes.len()],
            }
        }
        _ => return Err("residual codes not laid out for the file's predictor".into()),
    };
    let exact = &residuals.exact_at;
    // a flag per value, so that only the values stored exactly are searched for
    let mut is_exact = vec![
        false;
        if exact.is_empty() {
            0
        } else {
            predictions.len()
        }
    ];
    for &at in exact {
        is_exact[at as usize] = true;
    }
    let mut restored = vec![0.0; predictions.len()];
    walk(
        predictions,
        bounds.len(),
        local,
        #[inline(always)]
        |i, j, q, p, point| {
            let stored = match is_exact.get(i) {
                Some(true) => exact.binary_search(&(i as u64)).ok(),
                _ => None,
            };
            restored[i] = if let Some(k) = stored {
                value_of(residuals.exact_bits[k], dtype)
            } else {
                let code = match (&mut codes, point) {
                    (CodeSource::Grid(coder), Some(point)) => coder.take(point),
                    // the container checked that each variable has a code for every value not stored exactly
                    (CodeSource::Streams { codes, next }, _) => {
                        next[j] += 1;
                        codes[j][next[j] - 1]
                    }
                    (CodeSource::Grid(_), None) => unreachable!("interpolation walks a grid"),
                };
                quantizers[q].restore(p, code, dtype)
            };
            restored[i]
        },
    );
    if let CodeSource::Grid(coder) = codes {
        coder.finish()?;
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::CodeLayout;
    use crate::interpolation::Spline;
    use crate::range_coder::Contexts;
    use rand::{Rng, SeedableRng};

    fn table(values: Vec<f64>, names: &[&str]) -> Dataset {
        Dataset {
            kind: DataKind::Table,
            rows: values.len() / names.len(),
            names: names.iter().map(|n| n.to_string()).collect(),
            dtype: FloatType::F32,
            values,
        }
    }

    #[test]
    fn bounds_resolve_per_variable() {
        let data = table(vec![0.0, 10.0, 4.0, -10.0, f64::NAN, 4.0], &["a", "b", "c"]);
        let specs: Vec<BoundSpec> = ["rel:0.1", "b=abs:3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        // ranges: a 10, b 0 (NaN skipped) but named, c 0 (constant)
        let abs = VariableBound::Abs;
        assert_eq!(
            resolve_bounds(&specs, &data).unwrap(),
            vec![abs(1.0), abs(3.0), abs(0.0)]
        );
        let pointwise = vec!["pw:0.01".parse().unwrap()];
        assert_eq!(
            resolve_bounds(&pointwise, &data).unwrap(),
            vec![VariableBound::Pw(0.01); 3]
        );
        let only_b = vec!["b=abs:3".parse().unwrap()];
        let err = resolve_bounds(&only_b, &data).unwrap_err().to_string();
        assert!(err.contains("variable 'a' has no error bound"), "{err}");
        let typo = vec!["rel:0.1".parse().unwrap(), "x=abs:1".parse().unwrap()];
        let err = resolve_bounds(&typo, &data).unwrap_err().to_string();
        assert!(err.contains("no variable 'x' (it has a, b, c)"), "{err}");
    }

    /// Compresses and restores from `predictions` (`None`: zeros); asserts every value keeps to its bound (NaN as
    /// NaN, infinities exactly), and that zeros predict as a model predicting 0 everywhere would.
    fn assert_bound_holds(
        values: &[f64],
        predictions: Option<&[f64]>,
        bounds: &[VariableBound],
        integer: &[bool],
        dtype: FloatType,
        local: Option<Local>,
    ) -> Residuals {
        let zeros = vec![0.0; values.len()];
        let predictions = match predictions {
            Some(p) => Predictions::Model(p),
            None => {
                let as_model = residuals(
                    values,
                    Predictions::Model(&zeros),
                    bounds,
                    integer,
                    dtype,
                    local,
                );
                let alone = residuals(
                    values,
                    Predictions::Zeros(values.len()),
                    bounds,
                    integer,
                    dtype,
                    local,
                );
                assert_eq!(alone, as_model);
                Predictions::Zeros(values.len())
            }
        };
        let r = residuals(values, predictions, bounds, integer, dtype, local);
        let layout = match local {
            Some(Local::Interpolation(grid, _)) => CodeLayout::Grid(grid),
            _ => CodeLayout::Streams,
        };
        let bytes = r.to_bytes();
        let r = Residuals::from_bytes(&bytes, values.len(), bounds.len(), layout).unwrap();
        let restored = restore(predictions, &r, bounds, integer, dtype, local).unwrap();
        for (i, (&v, &got)) in values.iter().zip(&restored).enumerate() {
            let v_stored = value_of(bits_of(v, dtype), dtype);
            let ok = if v.is_nan() {
                got.is_nan()
            } else if v.is_infinite() {
                got == v_stored
            } else {
                (got - v).abs() <= bounds[i % bounds.len()].allowed(v)
            };
            assert!(
                ok,
                "value {i}: {v} restored as {got}, bound {:?}",
                bounds[i % bounds.len()]
            );
        }
        r
    }

    /// The codes of the one variable of residuals kept per variable.
    fn the_only_variables(r: &Residuals) -> &[i32] {
        match &r.codes {
            ResidualCodes::Streams(codes) if codes.len() == 1 => &codes[0],
            other => panic!("not one variable's codes: {other:?}"),
        }
    }

    #[test]
    fn the_bound_holds_on_random_data_of_every_kind() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-310,
            -0.0,
            3.4e38,
            1e300,
        ];
        for dtype in [FloatType::F32, FloatType::F64] {
            for round in 0..20 {
                let n = 3;
                let rows = 500;
                let scale = 10f64.powi(rng.random_range(-30..30));
                let mut values: Vec<f64> = (0..rows * n)
                    .map(|_| {
                        if rng.random_bool(0.02) {
                            specials[rng.random_range(0..specials.len())]
                        } else {
                            rng.random_range(-1.0..1.0) * scale
                        }
                    })
                    .collect();
                if dtype == FloatType::F32 {
                    values.iter_mut().for_each(|v| *v = f64::from(*v as f32));
                }
                // a constant column and an integer column
                for r in 0..rows {
                    values[r * n + 1] = 42.0;
                    values[r * n + 2] = (r % 7) as f64;
                }
                let predictions: Vec<f64> = values
                    .iter()
                    .map(|v| {
                        if v.is_finite() {
                            v + rng.random_range(-0.3..0.3) * scale
                        } else {
                            0.5
                        }
                    })
                    .collect();
                let relative = [0.0, 1e-9, 1e-4, 1e-2, 1.0][round % 5];
                let bound = VariableBound::Abs(scale * relative);
                let integer = VariableBound::Abs([0.0, 0.3, 0.5, 2.0][round % 4]);
                // an absolute and a point-wise bound on the random variable
                let bounds = [bound, bound, integer];
                assert_bound_holds(
                    &values,
                    Some(&predictions),
                    &bounds,
                    &[false, false, true],
                    dtype,
                    None,
                );
                let pointwise = [VariableBound::Pw(relative), bound, integer];
                for predictions in [Some(predictions.as_slice()), None] {
                    assert_bound_holds(
                        &values,
                        predictions,
                        &pointwise,
                        &[false, false, true],
                        dtype,
                        None,
                    );
                }
                // the same values as 10 fields of 10 × 15, with and without each local predictor
                let grid = Grid {
                    frames: 10,
                    height: 10,
                    width: 15,
                };
                for local in [
                    None,
                    Some(Local::Lorenzo {
                        height: 10,
                        width: 15,
                    }),
                    Some(Local::Interpolation(grid, Scheme::default())),
                    // another order of axes, the linear spline, tighter bounds at coarse levels and sign
                    // contexts
                    Some(Local::Interpolation(
                        grid,
                        Scheme {
                            axes: [2, 0, 1],
                            spline: Spline::Linear,
                            growth: 1.5,
                            cap: 4.0,
                            contexts: Contexts::NEWEST,
                        },
                    )),
                ] {
                    assert_bound_holds(&values, Some(&predictions), &[bound], &[], dtype, local);
                    // point-wise, predicted by the local predictor alone (0 at the first value)
                    let pw = [VariableBound::Pw(relative)];
                    assert_bound_holds(&values, None, &pw, &[], dtype, local);
                }
            }
        }
    }

    #[test]
    fn a_point_wise_bound_follows_a_steep_spectrum() {
        // six decades of pt-like values, predicted within 20 %: every value within 1 % of itself, none stored exactly
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let values: Vec<f64> = (0..2000)
            .map(|_| f64::from(10f64.powf(rng.random_range(0.0..6.0)) as f32))
            .collect();
        let predictions: Vec<f64> = values
            .iter()
            .map(|v| v * rng.random_range(0.8..1.2))
            .collect();
        let r = assert_bound_holds(
            &values,
            Some(&predictions),
            &[VariableBound::Pw(0.01)],
            &[],
            FloatType::F32,
            None,
        );
        assert!(r.exact_at.is_empty(), "{} exact", r.exact_at.len());
        // |v − p| ≤ 0.25 |p| and the step > 0.01 |p| / 2: codes within ±50 whatever the magnitude
        let codes = the_only_variables(&r);
        assert!(
            codes.iter().all(|c| c.abs() <= 50),
            "{:?}",
            codes.iter().max()
        );
    }

    #[test]
    fn a_point_wise_bound_with_nothing_predicting_codes_the_magnitude() {
        // values of both signs over sixty decades and zero, predicted by nothing: every value within 1 % of
        // itself, none stored exactly, in about 1 / (2 × 1 %) codes per power of two
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        for dtype in [FloatType::F32, FloatType::F64] {
            let mut values: Vec<f64> = (0..3000)
                .map(|_| {
                    let v = 10f64.powf(rng.random_range(-30.0..30.0));
                    if rng.random_bool(0.5) { -v } else { v }
                })
                .collect();
            values.push(0.0);
            if dtype == FloatType::F32 {
                values.iter_mut().for_each(|v| *v = f64::from(*v as f32));
            }
            let r = assert_bound_holds(&values, None, &[VariableBound::Pw(0.01)], &[], dtype, None);
            assert!(
                r.exact_at.is_empty(),
                "{dtype:?}: {} exact",
                r.exact_at.len()
            );
            // the codes of 1 and 2 differ by 2^52 / (0.01 × 2^53) = 50
            let quantizer = Quantizer::new(VariableBound::Pw(0.01), false);
            let code = |v: f64| quantizer.code(v, 0.0, dtype).map(|(c, _)| c);
            assert_eq!(code(2.0).unwrap() - code(1.0).unwrap(), 50);
            assert_eq!(code(-1.0), code(1.0).map(|c| -c));
        }
    }

    #[test]
    fn integer_variables_below_half_are_exact_in_unit_steps() {
        let values: Vec<f64> = (0..100).map(|i| (i % 13) as f64).collect();
        let predictions: Vec<f64> = values.iter().map(|v| v + 0.37).collect();
        let r = assert_bound_holds(
            &values,
            Some(&predictions),
            &[VariableBound::Abs(0.01)],
            &[true],
            FloatType::F32,
            None,
        );
        assert!(r.exact_at.is_empty());
        let codes = the_only_variables(&r);
        assert!(codes.iter().all(|&c| c == 0), "{codes:?}");
    }
}

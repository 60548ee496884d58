//! Per-variable normalisation fitted at training and stored with the model, so that compress and
//! decompress (offline or online, on any machine) apply exactly the same map: an optional asinh (log-like for
//! heavy-tailed variables), then an affine map.

use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// How the affine map is fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizationMethod {
    /// `(x - min) / (max - min)`: values of the fitted data fall in [0, 1].
    MinMax,
    /// `(x - mean) / std`.
    Standard,
}

/// `normalised = (t(x) - offset[v]) / scale[v]` for variable `v`, where `t(x) = asinh(x / asinh_scale[v])` for a
/// variable with a positive `asinh_scale` (log-like beyond it, linear near 0) and `t(x) = x` otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// The method that produced the parameters.
    pub method: NormalizationMethod,
    /// Per-variable offset.
    pub offset: Vec<f64>,
    /// Per-variable scale (never zero).
    pub scale: Vec<f64>,
    /// Per-variable scale of the asinh transform (0: none); empty when no variable has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asinh_scale: Vec<f64>,
}

/// Where `max / median` of a strictly positive variable reaches this, [`heavy_tail_scale`] calls it heavy-tailed.
pub const HEAVY_TAIL_RATIO: f64 = 20.0;

/// The asinh scale for a heavy-tailed variable: its median where every value is positive and the largest is at
/// least [`HEAVY_TAIL_RATIO`] times the median; `None` otherwise. Reorders `column`.
pub fn heavy_tail_scale(column: &mut [f64]) -> Option<f64> {
    if column.is_empty() || !column.iter().all(|x| x.is_finite() && *x > 0.0) {
        return None;
    }
    let mid = column.len() / 2;
    let median = *column.select_nth_unstable_by(mid, f64::total_cmp).1;
    let max = column.iter().copied().fold(0.0, f64::max);
    (max >= HEAVY_TAIL_RATIO * median).then_some(median)
}

impl Normalization {
    /// Fits one offset/scale pair per column of the row-major `values` with `variables` columns.
    /// A constant column gets scale 1. `values.len()` must be a non-zero multiple of `variables`.
    pub fn fit(method: NormalizationMethod, values: &[f64], variables: usize) -> Self {
        Self::fit_with_asinh(method, values, variables, Vec::new())
    }

    /// [`Normalization::fit`] after the asinh transform of each variable with a positive `asinh_scale` (empty:
    /// none; else one per variable).
    pub fn fit_with_asinh(
        method: NormalizationMethod,
        values: &[f64],
        variables: usize,
        asinh_scale: Vec<f64>,
    ) -> Self {
        assert!(variables > 0 && !values.is_empty() && values.len().is_multiple_of(variables));
        assert!(asinh_scale.is_empty() || asinh_scale.len() == variables);
        let rows = (values.len() / variables) as f64;
        let transform = |v: usize, x: f64| match asinh_scale.get(v) {
            Some(&s) if s > 0.0 => libm::asinh(x / s),
            _ => x,
        };
        let column = |v: usize| {
            values
                .iter()
                .skip(v)
                .step_by(variables)
                .map(move |&x| transform(v, x))
        };
        let (offset, scale) = (0..variables)
            .map(|v| match method {
                NormalizationMethod::MinMax => {
                    let (lo, hi) = column(v)
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                            (lo.min(x), hi.max(x))
                        });
                    (lo, nonzero(hi - lo))
                }
                NormalizationMethod::Standard => {
                    let mean = column(v).sum::<f64>() / rows;
                    let var = column(v).map(|x| (x - mean) * (x - mean)).sum::<f64>() / rows;
                    (mean, nonzero(sqrt(var)))
                }
            })
            .unzip();
        Normalization {
            method,
            offset,
            scale,
            asinh_scale,
        }
    }

    /// Number of variables the map was fitted on.
    pub fn variables(&self) -> usize {
        self.offset.len()
    }

    /// Checks a stored map against the data it is for: `variables` offset/scale pairs (one per table
    /// variable, one for all values of fields), finite offsets, finite non-zero scales.
    pub fn validate(&self, variables: usize) -> Result<(), NormalizationError> {
        for (field, len) in [("offset", self.offset.len()), ("scale", self.scale.len())] {
            if len != variables {
                return Err(NormalizationError::Length {
                    field,
                    len,
                    variables,
                });
            }
        }
        if let Some(index) = self.offset.iter().position(|v| !v.is_finite()) {
            return Err(NormalizationError::Value {
                field: "offset",
                index,
            });
        }
        if let Some(index) = self.scale.iter().position(|v| !v.is_finite() || *v == 0.0) {
            return Err(NormalizationError::Value {
                field: "scale",
                index,
            });
        }
        if !self.asinh_scale.is_empty() && self.asinh_scale.len() != variables {
            return Err(NormalizationError::Length {
                field: "asinh_scale",
                len: self.asinh_scale.len(),
                variables,
            });
        }
        if let Some(index) = self
            .asinh_scale
            .iter()
            .position(|v| !v.is_finite() || *v < 0.0)
        {
            return Err(NormalizationError::Value {
                field: "asinh_scale",
                index,
            });
        }
        Ok(())
    }

    /// The (offset, scale, asinh scale) of every value of a row-major array, repeating per row; nothing for a
    /// map without pairs (which [`Normalization::validate`] refuses), so that no input can panic here.
    fn params(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        let asinh = (0..self.offset.len()).map(|v| self.asinh_scale.get(v).copied().unwrap_or(0.0));
        self.offset
            .iter()
            .copied()
            .zip(self.scale.iter().copied())
            .zip(asinh)
            .map(|((offset, scale), asinh)| (offset, scale, asinh))
            .cycle()
    }

    /// Normalises a row-major array in place (`variables()` columns). The map must have passed
    /// [`Normalization::validate`] for the array's variables.
    pub fn apply(&self, values: &mut [f64]) {
        for (x, (offset, scale, asinh)) in values.iter_mut().zip(self.params()) {
            let t = if asinh > 0.0 {
                libm::asinh(*x / asinh)
            } else {
                *x
            };
            *x = (t - offset) / scale;
        }
    }

    /// Undoes [`Normalization::apply`] in place.
    pub fn invert(&self, values: &mut [f64]) {
        for (x, (offset, scale, asinh)) in values.iter_mut().zip(self.params()) {
            let t = *x * scale + offset;
            *x = if asinh > 0.0 {
                asinh * libm::sinh(t)
            } else {
                t
            };
        }
    }
}

/// A stored normalisation that does not fit its data: what [`Normalization::validate`] refuses.
#[derive(Clone, Debug, PartialEq)]
pub enum NormalizationError {
    /// `offset` or `scale` has the wrong number of entries.
    Length {
        /// `"offset"` or `"scale"`.
        field: &'static str,
        /// Entries found.
        len: usize,
        /// Entries the data needs.
        variables: usize,
    },
    /// An offset that is not finite, or a scale that is zero or not finite.
    Value {
        /// `"offset"` or `"scale"`.
        field: &'static str,
        /// Position of the entry.
        index: usize,
    },
}

impl fmt::Display for NormalizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NormalizationError::Length {
                field,
                len,
                variables,
            } => write!(
                f,
                "normalization.{field} has {len} entries, the data needs {variables} (one per table variable, one for fields)"
            ),
            NormalizationError::Value { field, index } => write!(
                f,
                "normalization.{field}[{index}] must be finite{}",
                if *field == "scale" {
                    " and non-zero"
                } else {
                    ""
                }
            ),
        }
    }
}

fn nonzero(scale: f64) -> f64 {
    if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    }
}

/// Square root by Newton's method (`core` has no `f64::sqrt` without `std`).
fn sqrt(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    let mut r = if x > 1.0 { x } else { 1.0 };
    for _ in 0..200 {
        let next = 0.5 * (r + x / r);
        if next >= r {
            break;
        }
        r = next;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn min_max_maps_each_column_to_unit_range_and_back() {
        let original = vec![1.0, 10.0, 3.0, 30.0, 2.0, 20.0];
        let norm = Normalization::fit(NormalizationMethod::MinMax, &original, 2);
        let mut x = original.clone();
        norm.apply(&mut x);
        assert_eq!(x, vec![0.0, 0.0, 1.0, 1.0, 0.5, 0.5]);
        norm.invert(&mut x);
        assert_eq!(x, original);
    }

    #[test]
    fn asinh_compresses_a_heavy_tail_and_inverts_it() {
        // column 0 spans four decades; column 1 is left linear
        let original = vec![0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 1000.0, 4.0];
        let mut column: Vec<f64> = original.iter().step_by(2).copied().collect();
        let s = heavy_tail_scale(&mut column).unwrap();
        assert_eq!(s, 2.0);
        assert_eq!(heavy_tail_scale(&mut [1.0, 2.0, 3.0]), None);
        assert_eq!(heavy_tail_scale(&mut [0.0, 1.0, 1000.0]), None);
        let norm =
            Normalization::fit_with_asinh(NormalizationMethod::MinMax, &original, 2, vec![s, 0.0]);
        norm.validate(2).unwrap();
        let mut x = original.clone();
        norm.apply(&mut x);
        assert_eq!((x[0], x[6]), (0.0, 1.0));
        // 2 sits a tenth of the way up: asinh flattens the tail (linear would put it at 0.0015)
        assert!((x[4] - 0.0952).abs() < 1e-3, "{}", x[4]);
        assert_eq!(x[3], 1.0 / 3.0);
        norm.invert(&mut x);
        for (a, b) in x.iter().zip(&original) {
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
        }
        let bad = Normalization {
            asinh_scale: vec![1.0],
            ..norm.clone()
        };
        assert!(bad.validate(2).is_err());
        let negative = Normalization {
            asinh_scale: vec![-1.0, 0.0],
            ..norm
        };
        assert!(negative.validate(2).is_err());
    }

    #[test]
    fn standard_has_zero_mean_unit_variance_and_constant_columns_are_safe() {
        let original = vec![1.0, 5.0, 3.0, 5.0];
        let norm = Normalization::fit(NormalizationMethod::Standard, &original, 2);
        assert_eq!(norm.offset, vec![2.0, 5.0]);
        assert!((norm.scale[0] - 1.0).abs() < 1e-12);
        assert_eq!(norm.scale[1], 1.0);
        assert!((sqrt(2.0) - core::f64::consts::SQRT_2).abs() < 1e-15);
    }

    #[test]
    fn empty_or_short_maps_are_refused_and_never_panic() {
        let empty = Normalization {
            method: NormalizationMethod::MinMax,
            offset: vec![],
            scale: vec![],
            asinh_scale: vec![],
        };
        let mut x = vec![1.0, 2.0, 3.0];
        empty.apply(&mut x);
        empty.invert(&mut x);
        assert_eq!(x, vec![1.0, 2.0, 3.0]);
        assert_eq!(
            empty.validate(3),
            Err(NormalizationError::Length {
                field: "offset",
                len: 0,
                variables: 3
            })
        );
        let short = Normalization {
            method: NormalizationMethod::Standard,
            offset: vec![0.0, 0.0, 0.0],
            scale: vec![1.0],
            asinh_scale: vec![],
        };
        short.apply(&mut x);
        assert_eq!(
            short.validate(3),
            Err(NormalizationError::Length {
                field: "scale",
                len: 1,
                variables: 3
            })
        );
        let zero = Normalization {
            method: NormalizationMethod::Standard,
            offset: vec![0.0, 0.0],
            scale: vec![1.0, 0.0],
            asinh_scale: vec![],
        };
        assert_eq!(
            zero.validate(2),
            Err(NormalizationError::Value {
                field: "scale",
                index: 1
            })
        );
        assert!(
            Normalization::fit(NormalizationMethod::MinMax, &[1.0, 2.0], 2)
                .validate(2)
                .is_ok()
        );
    }
}

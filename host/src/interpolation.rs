//! Multilevel interpolation over a grid of frames (frames × height × width), the order of SZ3's predictor: coarse
//! points first, each finer one predicted by a spline through restored points 1 and 3 strides away, in the order
//! of axes, with the spline and the coarse levels' tighter bounds of a [`Scheme`] chosen per file.

use crate::range_coder::Contexts;
use serde::{Deserialize, Serialize};

/// The shape of fields as one 3-D array: `frames` fields of `height` × `width`, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Fields (the slowest axis).
    pub frames: usize,
    /// Field height.
    pub height: usize,
    /// Field width (the fastest axis).
    pub width: usize,
}

/// One point of the walk, with the points its prediction and its code's context read: all visited before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// Row-major index into the grid.
    pub index: usize,
    /// 1 for the finest stride, more for coarser ones; 0 for the first point, which nothing predicts.
    pub level: u32,
    /// The points −3, −1, +1 and +3 strides away along the axis it is interpolated on (`None` outside the grid).
    pub along: [Option<usize>; 4],
    /// Along each axis, the point before it among those interpolated in the same pass (same level and axis).
    pub previous: [Option<usize>; 3],
}

/// The spline a [`Scheme`] predicts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spline {
    /// Through the points 1 and 3 strides away (fewer where the grid ends).
    #[default]
    Cubic,
    /// Through the points 1 stride away.
    Linear,
}

/// How the interpolation predictor walks a grid, predicts and codes: chosen per file by trial on a sample (smooth
/// axes differ from data to data), recorded in its header. The default is the walk of files written before
/// 2026-11-28.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// The axes (0 frames, 1 rows, 2 columns) in the order each level interpolates them; the last predicts the
    /// most points (half of the level's), so the smoothest axis pays most there.
    pub axes: [usize; 3],
    /// The spline each point is predicted with.
    pub spline: Spline,
    /// Coarse points predict the finer ones, so their errors spread: the bound at level *l* ≥ 2 is divided by
    /// min(`growth`^(*l*−1), `cap`) (QoZ's level-wise bounds), at the first point by `cap`; 1 and 1 keep one bound.
    pub growth: f64,
    /// The largest divisor of the bound.
    pub cap: f64,
    /// The contexts the residual codes are range-coded in (files before 2026-11-28's sign contexts lack it).
    #[serde(default, skip_serializing_if = "Contexts::is_default")]
    pub contexts: Contexts,
}

impl Default for Scheme {
    fn default() -> Self {
        Scheme {
            axes: [0, 1, 2],
            spline: Spline::Cubic,
            growth: 1.0,
            cap: 1.0,
            contexts: Contexts::default(),
        }
    }
}

/// The largest `growth` and `cap` a scheme may have (2^10: ten bits fewer per coarse value at most).
const MAX_TIGHTENING: f64 = 1024.0;

impl Scheme {
    /// An error naming what is wrong with a scheme read from a file.
    pub fn check(&self) -> Result<(), String> {
        let mut sorted = self.axes;
        sorted.sort_unstable();
        let in_range = |x: f64| (1.0..=MAX_TIGHTENING).contains(&x);
        if sorted != [0, 1, 2] || !in_range(self.growth) || !in_range(self.cap) {
            return Err(format!(
                "interpolation scheme {self:?}: the axes must be 0, 1 and 2 in some order, growth and cap within \
                 [1, {MAX_TIGHTENING}]"
            ));
        }
        Ok(())
    }

    /// What the bound is divided by at `level` (0 for the first point): min(growth^(level−1), cap), by repeated
    /// IEEE-754 multiplication so that every machine computes the same bits.
    pub fn tightening(&self, level: u32) -> f64 {
        if level == 0 {
            return self.cap;
        }
        let mut divisor = 1.0;
        for _ in 1..level {
            divisor *= self.growth;
            if divisor >= self.cap {
                return self.cap;
            }
        }
        divisor
    }
}

impl std::fmt::Display for Scheme {
    /// "axes rows, columns, frames; cubic; bounds ÷1.25 per coarser level, at most ÷2".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self
            .axes
            .map(|a| ["frames", "rows", "columns"].get(a).copied().unwrap_or("?"));
        let spline = match self.spline {
            Spline::Cubic => "cubic",
            Spline::Linear => "linear",
        };
        write!(f, "axes {}; {spline}; ", names.join(", "))?;
        match (self.growth, self.cap) {
            (1.0, 1.0) => write!(f, "one bound at every level"),
            (growth, cap) => write!(f, "bounds ÷{growth} per coarser level, at most ÷{cap}"),
        }
    }
}

impl Grid {
    /// Values in the grid.
    pub fn len(&self) -> usize {
        self.frames * self.height * self.width
    }

    /// Whether the grid has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most levels a walk of this grid has: ⌈log₂ of the largest dimension⌉.
    pub fn levels(&self) -> u32 {
        let largest = self.frames.max(self.height).max(self.width).max(1);
        usize::BITS - (largest - 1).leading_zeros()
    }

    /// Visits every point once, coarse strides first, each after the points it reads. Within a level, the axes
    /// are interpolated in the order of `axes` (a permutation of 0 frames, 1 rows, 2 columns); each pass visits
    /// its points in row-major order.
    pub fn walk(&self, axes: [usize; 3], mut visit: impl FnMut(Point)) {
        if self.is_empty() {
            return;
        }
        visit(Point {
            index: 0,
            level: 0,
            along: [None; 4],
            previous: [None; 3],
        });
        let dims = [self.frames, self.height, self.width];
        let strides = [self.height * self.width, self.width, 1];
        for level in (1..=self.levels()).rev() {
            let s = 1usize << (level - 1);
            for (turn, axis) in axes.into_iter().enumerate() {
                // the interpolated axis at odd multiples of s; axes done this level at multiples of s; the rest
                // at multiples of 2s
                let mut start = [0; 3];
                start[axis] = s;
                let mut step = [2 * s; 3];
                for &done in &axes[..turn] {
                    step[done] = s;
                }
                if s >= dims[axis] {
                    continue;
                }
                let along = s * strides[axis];
                let behind: [usize; 3] = std::array::from_fn(|a| step[a] * strides[a]);
                for f in (start[0]..dims[0]).step_by(step[0]) {
                    for y in (start[1]..dims[1]).step_by(step[1]) {
                        let row = f * strides[0] + y * strides[1];
                        for x in (start[2]..dims[2]).step_by(step[2]) {
                            let at = [f, y, x];
                            let index = row + x;
                            // on the interpolated axis the point is at an odd multiple of s: one stride back exists
                            let i = at[axis];
                            visit(Point {
                                index,
                                level,
                                along: [
                                    (i >= 3 * s).then(|| index - 3 * along),
                                    Some(index - along),
                                    (i + s < dims[axis]).then(|| index + along),
                                    (i + 3 * s < dims[axis]).then(|| index + 3 * along),
                                ],
                                previous: std::array::from_fn(|a| {
                                    (at[a] >= start[a] + step[a]).then(|| index - behind[a])
                                }),
                            });
                        }
                    }
                }
            }
        }
    }
}

impl Point {
    /// The prediction of this point from `values` (restored at the points it reads). Cubic: a spline through the
    /// points 1 and 3 strides away, a quadratic where one of the outer two is missing, the mean of the inner two
    /// where both are. Linear: the mean of the inner two. Both: a line through the two before it at the far edge,
    /// else the one before it; 0 for the first.
    pub fn predict(&self, values: &[f64], spline: Spline) -> f64 {
        let v = |k: usize| self.along[k].map(|i| values[i]);
        if let (Spline::Linear, Some(b), Some(c)) = (spline, v(1), v(2)) {
            return (b + c) / 2.0;
        }
        match (v(0), v(1), v(2), v(3)) {
            (_, None, ..) => 0.0,
            (Some(a), Some(b), Some(c), Some(d)) => (-a + 9.0 * b + 9.0 * c - d) / 16.0,
            (None, Some(b), Some(c), Some(d)) => (3.0 * b + 6.0 * c - d) / 8.0,
            (Some(a), Some(b), Some(c), None) => (-a + 6.0 * b + 3.0 * c) / 8.0,
            (None, Some(b), Some(c), None) => (b + c) / 2.0,
            (Some(a), Some(b), None, _) => 1.5 * b - 0.5 * a,
            (None, Some(b), None, _) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIS_ORDERS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];

    #[test]
    fn the_last_axis_of_a_level_predicts_the_most_points() {
        // 8 × 8 × 8: at the finest level the first axis predicts 64 points, the second 128, the last 256
        let grid = Grid {
            frames: 8,
            height: 8,
            width: 8,
        };
        for axes in AXIS_ORDERS {
            let mut per_axis = [0; 3];
            grid.walk(axes, |p| {
                if p.level == 1 {
                    let (Some(before), Some(_)) = (p.along[1], p.along[2]) else {
                        return;
                    };
                    let axis = [64, 8, 1]
                        .iter()
                        .position(|&stride| p.index - before == stride)
                        .unwrap();
                    per_axis[axis] += 1;
                }
            });
            // the last point of each line has no point after it: 3 of 4 per line are counted
            let counted = |n: usize| n * 3 / 4;
            assert_eq!(
                [per_axis[axes[0]], per_axis[axes[1]], per_axis[axes[2]]],
                [counted(64), counted(128), counted(256)],
                "{axes:?}"
            );
        }
    }

    #[test]
    fn tightening_grows_by_level_to_its_cap_and_schemes_are_checked() {
        let scheme = Scheme {
            growth: 1.5,
            cap: 4.0,
            ..Scheme::default()
        };
        let divisors: Vec<f64> = (0..7).map(|l| scheme.tightening(l)).collect();
        assert_eq!(
            scheme.to_string(),
            "axes frames, rows, columns; cubic; bounds ÷1.5 per coarser level, at most ÷4"
        );
        assert_eq!(divisors, [4.0, 1.0, 1.5, 2.25, 3.375, 4.0, 4.0]);
        assert!((0..40).all(|l| Scheme::default().tightening(l) == 1.0));
        assert!(scheme.check().is_ok());
        for bad in [
            Scheme {
                axes: [0, 1, 1],
                ..scheme
            },
            Scheme {
                axes: [0, 1, 3],
                ..scheme
            },
            Scheme {
                growth: 0.5,
                ..scheme
            },
            Scheme {
                cap: f64::NAN,
                ..scheme
            },
            Scheme { cap: 1e9, ..scheme },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_point_is_visited_once_after_the_points_it_reads() {
        for (frames, height, width) in [
            (1, 1, 1),
            (1, 1, 7),
            (3, 5, 4),
            (9, 1, 2),
            (6, 17, 33),
            (2, 8, 8),
        ] {
            let grid = Grid {
                frames,
                height,
                width,
            };
            for axes in AXIS_ORDERS {
                let mut seen = vec![false; grid.len()];
                let mut count = 0;
                grid.walk(axes, |p| {
                    for read in p.along.iter().chain(&p.previous).flatten() {
                        assert!(
                            seen[*read],
                            "{grid:?}: {p:?} reads {read} before it is visited"
                        );
                    }
                    assert!(!seen[p.index], "{grid:?}: {} visited twice", p.index);
                    assert!(
                        p.index == 0 || p.along[1].is_some(),
                        "{p:?} has no point before it"
                    );
                    seen[p.index] = true;
                    count += 1;
                });
                assert_eq!(count, grid.len(), "{grid:?}");
            }
        }
    }

    #[test]
    fn each_prediction_is_exact_on_polynomials_of_its_degree() {
        // along a row of 16: the spline through 4 points is exact on cubics, through 3 on quadratics, through 2 on
        // lines, and the copy of the one point before on constants
        let grid = Grid {
            frames: 1,
            height: 1,
            width: 16,
        };
        let polynomials: [fn(f64) -> f64; 4] = [
            |_| 7.5,
            |x| 3.0 * x - 1.0,
            |x| 0.25 * x * x - x + 7.0,
            |x| 0.5 * x * x * x - 2.0 * x * x + x - 3.0,
        ];
        let mut checked = [0; 4];
        grid.walk([0, 1, 2], |p| {
            if p.index == 0 {
                return;
            }
            let known = p.along.iter().filter(|i| i.is_some()).count();
            let degree = known - 1;
            let values: Vec<f64> = (0..16).map(|x| polynomials[degree](x as f64)).collect();
            assert_eq!(p.predict(&values, Spline::Cubic), values[p.index], "{p:?}");
            checked[degree] += 1;
            // the linear spline is exact on lines wherever it has the two points around it
            let line: Vec<f64> = (0..16).map(|x| polynomials[1](x as f64)).collect();
            if degree >= 1 {
                assert_eq!(p.predict(&line, Spline::Linear), line[p.index], "{p:?}");
            }
        });
        assert!(checked.iter().all(|&n| n > 0), "{checked:?}");
    }
}

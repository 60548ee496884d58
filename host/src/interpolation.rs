//! Multilevel interpolation over a grid of frames (frames × height × width), the order of SZ3's predictor: coarse
//! points first, each finer one predicted by a cubic spline through restored points 1 and 3 strides away.

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

impl Grid {
    /// Values in the grid.
    pub fn len(&self) -> usize {
        self.frames * self.height * self.width
    }

    /// Whether the grid has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Visits every point once, coarse strides first, each after the points it reads. Within a level, the axes
    /// are interpolated in turn (frames, rows, columns); each pass visits its points in row-major order.
    pub fn walk(&self, mut visit: impl FnMut(Point)) {
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
        let largest = dims.into_iter().max().unwrap_or(1);
        let levels = usize::BITS - (largest - 1).leading_zeros();
        for level in (1..=levels).rev() {
            let s = 1usize << (level - 1);
            for axis in 0..3 {
                // the interpolated axis at odd multiples of s; axes done this level at multiples of s; the rest
                // at multiples of 2s
                let start = |a: usize| if a == axis { s } else { 0 };
                let step = |a: usize| if a < axis { s } else { 2 * s };
                if start(axis) >= dims[axis] {
                    continue;
                }
                for f in (start(0)..dims[0]).step_by(step(0)) {
                    for y in (start(1)..dims[1]).step_by(step(1)) {
                        for x in (start(2)..dims[2]).step_by(step(2)) {
                            let at = [f, y, x];
                            let index = f * strides[0] + y * strides[1] + x;
                            let i = at[axis];
                            let offset = |k: isize| -> Option<usize> {
                                let j = i.checked_add_signed(k * s as isize)?;
                                (j < dims[axis])
                                    .then(|| index - i * strides[axis] + j * strides[axis])
                            };
                            let previous = std::array::from_fn(|a| {
                                (at[a] >= start(a) + step(a)).then(|| index - step(a) * strides[a])
                            });
                            visit(Point {
                                index,
                                level,
                                along: [offset(-3), offset(-1), offset(1), offset(3)],
                                previous,
                            });
                        }
                    }
                }
            }
        }
    }
}

impl Point {
    /// The prediction of this point from `values` (restored at the points it reads): a cubic spline through the
    /// points 1 and 3 strides away, a quadratic where one of the outer two is missing, the mean of the inner two
    /// where both are, a line through the two before it at the far edge, else the one before it; 0 for the first.
    pub fn predict(&self, values: &[f64]) -> f64 {
        let v = |k: usize| self.along[k].map(|i| values[i]);
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
            let mut seen = vec![false; grid.len()];
            let mut count = 0;
            grid.walk(|p| {
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
        grid.walk(|p| {
            if p.index == 0 {
                return;
            }
            let known = p.along.iter().filter(|i| i.is_some()).count();
            let degree = known - 1;
            let values: Vec<f64> = (0..16).map(|x| polynomials[degree](x as f64)).collect();
            assert_eq!(p.predict(&values), values[p.index], "{p:?}");
            checked[degree] += 1;
        });
        assert!(checked.iter().all(|&n| n > 0), "{checked:?}");
    }
}

//! The interpolation scheme of a file, chosen by trial: the order of axes, the spline and the coarse levels'
//! bounds that code a central box of the sample in the fewest bytes.

use super::bounded::{self, Local, Predictions};
use crate::container::VariableBound;
use crate::data::{DataKind, Dataset};
use crate::interpolation::{Grid, Scheme, Spline};
use crate::range_coder::Contexts;

/// The most values of the box the schemes are tried on: each trial walks it once. On the development fields
/// (2026-11-28) a box of 2^16 chose as well as one of 2^18 or the whole data, in a quarter of the time.
const BOX_VALUES: usize = 1 << 16;

/// The coarse levels' tighter bounds tried after one bound for all (growth, cap), gentlest first: they pay at
/// coarse error bounds on smooth data, where the coarse points' errors are most of what the fine points'
/// predictions miss by.
const LEVEL_BOUNDS: [(f64, f64); 3] = [(1.25, 2.0), (1.5, 4.0), (1.75, 8.0)];

/// The scheme that codes `sample` (fields) smallest within `bound`, predicted by interpolation alone. The
/// roughest axis goes first ([`roughest_axis`], on the whole sample); the order of the other two, then the linear
/// spline, then the coarse levels' bounds are tried on a central box of the sample, each kept only where it codes
/// the box in fewer bytes, the bounds tightened until a step does not pay: 4 to 6 trials. On the development
/// fields (2026-11-28) the order so chosen is the one trying all six finds best, and the residual codes are within
/// 3 % of the best of every combination of order, spline and bounds (60 trials). Also the bytes of the residual
/// section the scheme makes of the box (`None` for a sample that is not fields), to compare other predictors with.
pub fn choose(sample: &Dataset, bound: VariableBound) -> (Scheme, Option<usize>) {
    let newest = Scheme {
        contexts: Contexts::NEWEST,
        ..Scheme::default()
    };
    let (Some(whole), Some(trial)) = (grid_of(sample), central_box(sample)) else {
        return (newest, None);
    };
    let grid = grid_of(&trial).expect("fields");
    let zeros = Predictions::Zeros(trial.values.len());
    let size = |scheme: Scheme| {
        let local = Some(Local::Interpolation(grid, scheme));
        let residuals =
            bounded::residuals(&trial.values, zeros, &[bound], &[], sample.dtype, local);
        residuals.to_bytes().len()
    };
    let first = roughest_axis(&sample.values, whole);
    let others: Vec<usize> = (0..3).filter(|&axis| axis != first).collect();
    let mut best = (usize::MAX, newest);
    for axes in [[first, others[0], others[1]], [first, others[1], others[0]]] {
        let scheme = Scheme { axes, ..newest };
        let bytes = size(scheme);
        if bytes < best.0 {
            best = (bytes, scheme);
        }
    }
    let by_order = best.1;
    let linear = Scheme {
        spline: Spline::Linear,
        ..by_order
    };
    let bytes = size(linear);
    if bytes < best.0 {
        best = (bytes, linear);
    }
    let one_bound = best.1;
    for (growth, cap) in LEVEL_BOUNDS {
        let tighter = Scheme {
            growth,
            cap,
            ..one_bound
        };
        let bytes = size(tighter);
        if bytes >= best.0 {
            break;
        }
        best = (bytes, tighter);
    }
    (best.1, Some(best.0))
}

/// The axis the cubic spline through the neighbours 1 and 3 points away predicts worst on average, on the
/// original `values` of `grid` (0 frames, 1 rows, 2 columns; an axis too short to measure counts as roughest, the
/// first of equals wins). It goes first: the last axis of a level predicts half its points, the first a seventh.
fn roughest_axis(values: &[f64], grid: Grid) -> usize {
    let dims = [grid.frames, grid.height, grid.width];
    let strides = [grid.height * grid.width, grid.width, 1];
    let mut roughness = [f64::INFINITY; 3];
    for axis in 0..3 {
        let (mut sum, mut count) = (0.0, 0usize);
        // the values as lines along the axis: `outer` blocks of dims[axis] × `inner`
        let (d, n) = (strides[axis], dims[axis]);
        let outer = values.len() / (n * d).max(1);
        for o in 0..outer {
            for k in 3..n.saturating_sub(3) {
                let line = (o * n + k) * d;
                for i in line..line + d {
                    let spline = (-values[i - 3 * d] + 9.0 * values[i - d] + 9.0 * values[i + d]
                        - values[i + 3 * d])
                        / 16.0;
                    let error = (values[i] - spline).abs();
                    if error.is_finite() {
                        sum += error;
                        count += 1;
                    }
                }
            }
        }
        if count > 0 {
            roughness[axis] = sum / count as f64;
        }
    }
    (0..3)
        .rev()
        .max_by(|&a, &b| roughness[a].total_cmp(&roughness[b]))
        .expect("three axes")
}

/// The grid of `fields`; `None` for a table.
fn grid_of(fields: &Dataset) -> Option<Grid> {
    let DataKind::Fields { height, width } = fields.kind else {
        return None;
    };
    Some(Grid {
        frames: fields.rows,
        height,
        width,
    })
}

/// The fields of a box at the centre of `fields` of at most [`BOX_VALUES`] values: the longest side is shortened
/// by a quarter at a time, so the box keeps the data's resolution on every axis. `None` for a table.
pub fn central_box(fields: &Dataset) -> Option<Dataset> {
    let whole = grid_of(fields)?;
    let (height, width) = (whole.height, whole.width);
    let dims = [whole.frames, height, width];
    let mut sides = dims;
    while sides.iter().product::<usize>() > BOX_VALUES {
        let longest = (0..3).max_by_key(|&a| sides[a]).expect("three axes");
        sides[longest] -= sides[longest].div_ceil(4);
    }
    let start: Vec<usize> = (0..3).map(|a| (dims[a] - sides[a]) / 2).collect();
    let mut values = Vec::with_capacity(sides.iter().product());
    for f in start[0]..start[0] + sides[0] {
        for y in start[1]..start[1] + sides[1] {
            let row = (f * height + y) * width + start[2];
            values.extend_from_slice(&fields.values[row..row + sides[2]]);
        }
    }
    Some(Dataset {
        kind: DataKind::Fields {
            height: sides[1],
            width: sides[2],
        },
        rows: sides[0],
        names: Vec::new(),
        dtype: fields.dtype,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::FloatType;

    /// Fields of `frames` × `height` × `width` whose values are `f(frame, y, x)`.
    fn fields(dims: [usize; 3], f: impl Fn(f64, f64, f64) -> f64) -> Dataset {
        let [frames, height, width] = dims;
        let mut values = Vec::with_capacity(frames * height * width);
        for t in 0..frames {
            for y in 0..height {
                for x in 0..width {
                    values.push(f(t as f64, y as f64, x as f64));
                }
            }
        }
        Dataset {
            kind: DataKind::Fields { height, width },
            names: Vec::new(),
            dtype: FloatType::F64,
            rows: frames,
            values,
        }
    }

    #[test]
    fn the_box_is_central_and_within_its_budget() {
        let data = fields([40, 100, 300], |t, y, x| t * 1e6 + y * 1e3 + x);
        let trial = central_box(&data).unwrap();
        let grid = grid_of(&trial).unwrap();
        let values = trial.values;
        assert!(
            grid.len() <= BOX_VALUES && grid.len() > BOX_VALUES / 2,
            "{grid:?}"
        );
        assert_eq!(values.len(), grid.len());
        // the first value is at the box's corner, the same distance from both ends of each axis (±1)
        let corner = values[0];
        let (t, y, x) = (
            (corner / 1e6).floor(),
            (corner % 1e6 / 1e3).floor(),
            corner % 1e3,
        );
        for (start, side, dim) in [
            (t, grid.frames, 40.0),
            (y, grid.height, 100.0),
            (x, grid.width, 300.0),
        ] {
            let after = dim - start - side as f64;
            assert!((start - after).abs() <= 1.0, "{start} {side} {dim}");
        }
        // small data is its own box
        let small = fields([3, 4, 5], |t, y, x| t + y + x);
        assert_eq!(central_box(&small).unwrap(), small);
    }

    #[test]
    fn the_smooth_axis_is_interpolated_last() {
        // rough along rows and columns, smooth along frames: the frames axis should predict the most points
        let data = fields([64, 32, 32], |t, y, x| {
            (t * 0.05).sin() + ((y * 7.0 + x * 13.0) % 11.0) * 0.1
        });
        let (scheme, bytes) = choose(&data, VariableBound::Abs(1e-3));
        assert_eq!(scheme.axes[2], 0, "{scheme:?}");
        // the box is the whole sample here: its bytes are those of the residuals of the whole
        let grid = grid_of(&data).unwrap();
        let local = Some(Local::Interpolation(grid, scheme));
        let residuals = bounded::residuals(
            &data.values,
            Predictions::Zeros(data.values.len()),
            &[VariableBound::Abs(1e-3)],
            &[],
            data.dtype,
            local,
        );
        assert_eq!(bytes, Some(residuals.to_bytes().len()));
        // data equally smooth along every axis keeps the default order
        let plane = fields([8, 8, 8], |t, y, x| t + y + x);
        assert_eq!(choose(&plane, VariableBound::Abs(1e-3)).0.axes, [0, 1, 2]);
        // the roughest axis: columns, else the first of equals
        let data = fields([16, 16, 16], |t, y, x| {
            y * 0.01 + (t * 1.3).sin() * 0.1 + (x * 2.1).sin()
        });
        assert_eq!(roughest_axis(&data.values, grid_of(&data).unwrap()), 2);
        assert_eq!(roughest_axis(&plane.values, grid_of(&plane).unwrap()), 0);
    }
}

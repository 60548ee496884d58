//! The residual section of an error-bounded file (format version 2): the values stored exactly (their positions
//! and bits) and the quantised residual codes of the others: per variable with pco, or over a grid range-coded.

use crate::int_streams::{get_stream, put_stream, take};
use crate::interpolation::Grid;
use crate::range_coder::{CodeModel, Context, Contexts, Decoder, Encoder};

/// How the codes of a residual section are laid out and coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeLayout {
    /// Per variable in the order of the data, one pco stream each.
    Streams,
    /// Fields predicted by interpolation: the codes in the order of the grid's walk (with its scheme's order of
    /// axes), range-coded, each in the context of its level and of the magnitudes (and with its scheme's
    /// contexts, the signs) of the codes before it in its pass (values stored exactly count as 0).
    Grid(Grid, [usize; 3], Contexts),
}

/// What the error-bounded mode stores beside the latent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Residuals {
    /// Per variable (table column, or the one field variable), the residual code of each of its values that is
    /// not stored exactly, in the order of the data.
    pub codes: Vec<Vec<i32>>,
    /// Positions (index into the row-major data) of the values stored exactly, ascending.
    pub exact_at: Vec<u64>,
    /// Their bits: an `f32`'s (widened) or an `f64`'s, as the data's dtype holds them.
    pub exact_bits: Vec<u64>,
}

impl Residuals {
    /// The section's bytes: the count of exact values, then length-prefixed pco streams of their position
    /// gaps, their bits, and each variable's codes (empty streams are left out, their length 0) or the one
    /// range-coded stream of a grid's.
    pub fn to_bytes(&self, layout: CodeLayout) -> Vec<u8> {
        let mut gaps = Vec::with_capacity(self.exact_at.len());
        let mut last = 0;
        for &at in &self.exact_at {
            gaps.push(at - last);
            last = at;
        }
        let mut out = (self.exact_at.len() as u64).to_le_bytes().to_vec();
        put_stream(&mut out, &gaps);
        put_stream(&mut out, &self.exact_bits);
        match layout {
            CodeLayout::Streams => {
                for codes in &self.codes {
                    put_stream(&mut out, codes);
                }
            }
            CodeLayout::Grid(grid, axes, contexts) => {
                let exact = exact_flags(&self.exact_at, grid.len());
                let mut codes = self.codes.iter().flatten();
                let mut model = CodeModel::new(contexts);
                let mut coder = Encoder::default();
                walk_codes(grid, axes, &exact, |context| {
                    let code = *codes
                        .next()
                        .expect("a code for every value not stored exactly");
                    model.encode(&mut coder, code, context);
                    code
                });
                let bytes = coder.finish();
                out.extend((bytes.len() as u64).to_le_bytes());
                out.extend(bytes);
            }
        }
        out
    }

    /// Parses the section of data with `values` values in `variables` variables (value `i` belongs to variable
    /// `i % variables`). Every count is checked against those two before anything is allocated for it.
    pub fn from_bytes(
        bytes: &[u8],
        values: usize,
        variables: usize,
        layout: CodeLayout,
    ) -> std::result::Result<Self, String> {
        let mut at = 0;
        let count = u64::from_le_bytes(take(bytes, &mut at, 8)?.try_into().expect("8 bytes"));
        let exact = usize::try_from(count)
            .ok()
            .filter(|&n| n <= values)
            .ok_or_else(|| format!("{count} exact values in data of {values} values"))?;
        let gaps: Vec<u64> = get_stream(bytes, &mut at, exact, "positions")?;
        let exact_bits: Vec<u64> = get_stream(bytes, &mut at, exact, "exact values")?;
        let mut exact_at = Vec::with_capacity(exact);
        let mut per_variable = vec![0usize; variables];
        let mut next = 0u64;
        for (i, gap) in gaps.into_iter().enumerate() {
            let position = next
                .checked_add(gap)
                .filter(|&p| p < values as u64 && (i == 0 || gap > 0))
                .ok_or("exact value positions are not ascending within the data")?;
            per_variable[position as usize % variables] += 1;
            exact_at.push(position);
            next = position;
        }
        let codes = match layout {
            CodeLayout::Grid(grid, axes, contexts) => {
                if grid.len() != values || variables != 1 {
                    return Err(format!(
                        "a grid of {grid:?} for {values} values in {variables} variables"
                    ));
                }
                let len = u64::from_le_bytes(take(bytes, &mut at, 8)?.try_into().expect("8 bytes"));
                let stream = take(bytes, &mut at, usize::try_from(len).unwrap_or(usize::MAX))?;
                let exact = exact_flags(&exact_at, values);
                let mut model = CodeModel::new(contexts);
                let mut coder = Decoder::new(stream);
                let mut codes = Vec::with_capacity(values - exact_at.len());
                let mut damage = None;
                walk_codes(grid, axes, &exact, |context| {
                    let code = model.decode(&mut coder, context).unwrap_or_else(|e| {
                        damage.get_or_insert(e);
                        0
                    });
                    codes.push(code);
                    code
                });
                if let Some(e) = damage {
                    return Err(format!("residual codes: {e}"));
                }
                coder.finish().map_err(|e| format!("residual codes: {e}"))?;
                vec![codes]
            }
            CodeLayout::Streams => (0..variables)
                .map(|v| {
                    let in_variable = values / variables + usize::from(v < values % variables);
                    get_stream(
                        bytes,
                        &mut at,
                        in_variable - per_variable[v],
                        "residual codes",
                    )
                })
                .collect::<std::result::Result<_, _>>()?,
        };
        if at != bytes.len() {
            return Err("bytes after the last residual stream".into());
        }
        Ok(Residuals {
            codes,
            exact_at,
            exact_bits,
        })
    }
}

/// Flags of the values stored exactly, by position (positions checked to be within `values`).
fn exact_flags(exact_at: &[u64], values: usize) -> Vec<bool> {
    let mut exact = vec![false; values];
    for &at in exact_at {
        exact[at as usize] = true;
    }
    exact
}

/// Walks `grid` with its axes in the order `axes`, calling `code_at(context)` for each value not stored exactly,
/// which returns its code: the context is the code's level and the sums of the magnitudes and of the signs of the
/// codes before it in its pass.
fn walk_codes(
    grid: Grid,
    axes: [usize; 3],
    exact: &[bool],
    mut code_at: impl FnMut(Context) -> i32,
) {
    let mut coded = vec![0i32; grid.len()];
    grid.walk(
        axes,
        #[inline(always)]
        |p| {
            if exact[p.index] {
                return;
            }
            let (mut activity, mut signs) = (0u64, 0);
            for &i in p.previous.iter().flatten() {
                activity += u64::from(coded[i].unsigned_abs());
                signs += coded[i].signum();
            }
            coded[p.index] = code_at(Context {
                level: p.level,
                activity,
                signs,
            });
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Residuals {
        Residuals {
            codes: vec![vec![0, 1, -1, 5], vec![3, -200_000, 0]],
            exact_at: vec![5, 8],
            exact_bits: vec![f64::NAN.to_bits(), 1.5f64.to_bits()],
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let r = sample();
        let bytes = r.to_bytes(CodeLayout::Streams);
        // 9 values in 2 variables: 5 and 4 values, one exact value in each
        assert_eq!(
            Residuals::from_bytes(&bytes, 9, 2, CodeLayout::Streams).unwrap(),
            r
        );
        for n in 0..bytes.len() {
            assert!(
                Residuals::from_bytes(&bytes[..n], 9, 2, CodeLayout::Streams).is_err(),
                "{n}"
            );
        }
        // counts that do not fit the data are refused, not allocated
        assert!(Residuals::from_bytes(&bytes, 8, 2, CodeLayout::Streams).is_err());
        assert!(Residuals::from_bytes(&bytes, 10, 2, CodeLayout::Streams).is_err());
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Residuals::from_bytes(&huge, 9, 2, CodeLayout::Streams).is_err());
        for i in 8..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x55;
            // a flipped byte is an error or, inside a stream, other numbers; never a panic
            let _ = Residuals::from_bytes(&b, 9, 2, CodeLayout::Streams);
        }
    }

    #[test]
    fn grid_codes_round_trip_around_exact_values_and_refuse_damage() {
        let grid = Grid {
            frames: 3,
            height: 5,
            width: 7,
        };
        let exact_at = vec![0, 9, 57, 104];
        let r = Residuals {
            // in the walk's order, one per value not stored exactly
            codes: vec![(0..105 - 4).map(|i| [0, 0, 1, -2, 0, 300][i % 6]).collect()],
            exact_bits: vec![f64::NAN.to_bits(); 4],
            exact_at,
        };
        let layout = CodeLayout::Grid(grid, [0, 1, 2], Contexts::NEWEST);
        let bytes = r.to_bytes(layout);
        assert_eq!(Residuals::from_bytes(&bytes, 105, 1, layout).unwrap(), r);
        // another order of axes gives the same codes in another walk, and so do the contexts of older files
        for other in [
            CodeLayout::Grid(grid, [2, 0, 1], Contexts::NEWEST),
            CodeLayout::Grid(grid, [0, 1, 2], Contexts::Magnitudes),
        ] {
            let recoded = r.to_bytes(other);
            assert_eq!(Residuals::from_bytes(&recoded, 105, 1, other).unwrap(), r);
        }
        for n in 0..bytes.len() {
            assert!(
                Residuals::from_bytes(&bytes[..n], 105, 1, layout).is_err(),
                "{n}"
            );
        }
        // a grid that is not the data's is refused
        assert!(Residuals::from_bytes(&bytes, 104, 1, layout).is_err());
        for i in 8..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x55;
            let _ = Residuals::from_bytes(&b, 105, 1, layout);
        }
    }
}

//! The residual section of an error-bounded file (format version 2): the values stored exactly (their positions
//! and bits) and the quantised residual codes of the others: per variable with pco, or over a grid range-coded.

use crate::int_streams::{get_stream, put_stream, take};
use crate::interpolation::{Grid, Point};
use crate::range_coder::{CodeModel, Context, Contexts, Decoder, Encoder};

/// How the codes of a residual section are laid out and coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeLayout {
    /// Per variable in the order of the data, one pco stream each.
    Streams,
    /// Fields predicted by interpolation: one range-coded stream of the grid's codes ([`GridEncoder`]).
    Grid(Grid),
}

/// The residual codes of the values not stored exactly.
#[derive(Clone, Debug, PartialEq)]
pub enum ResidualCodes {
    /// Per variable (table column, or the one field variable), the code of each of its values, in the order of
    /// the data.
    Streams(Vec<Vec<i32>>),
    /// A grid's codes range-coded in the order of its walk by a [`GridEncoder`], decoded by a [`GridDecoder`]
    /// where the walk restoring the values reaches each.
    Grid(Vec<u8>),
}

/// What the error-bounded mode stores beside the latent.
#[derive(Clone, Debug, PartialEq)]
pub struct Residuals {
    /// The codes of the values not stored exactly.
    pub codes: ResidualCodes,
    /// Positions (index into the row-major data) of the values stored exactly, ascending.
    pub exact_at: Vec<u64>,
    /// Their bits: an `f32`'s (widened) or an `f64`'s, as the data's dtype holds them.
    pub exact_bits: Vec<u64>,
}

impl Default for Residuals {
    fn default() -> Self {
        Residuals {
            codes: ResidualCodes::Streams(Vec::new()),
            exact_at: Vec::new(),
            exact_bits: Vec::new(),
        }
    }
}

impl Residuals {
    /// The section's bytes: the count of exact values, then length-prefixed pco streams of their position
    /// gaps, their bits, and each variable's codes (empty streams are left out, their length 0) or the one
    /// range-coded stream of a grid's.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut gaps = Vec::with_capacity(self.exact_at.len());
        let mut last = 0;
        for &at in &self.exact_at {
            gaps.push(at - last);
            last = at;
        }
        let mut out = (self.exact_at.len() as u64).to_le_bytes().to_vec();
        put_stream(&mut out, &gaps);
        put_stream(&mut out, &self.exact_bits);
        match &self.codes {
            ResidualCodes::Streams(codes) => {
                for codes in codes {
                    put_stream(&mut out, codes);
                }
            }
            ResidualCodes::Grid(stream) => {
                out.extend((stream.len() as u64).to_le_bytes());
                out.extend(stream);
            }
        }
        out
    }

    /// Parses the section of data with `values` values in `variables` variables (value `i` belongs to variable
    /// `i % variables`). Every count is checked against those two before anything is allocated for it; a grid's
    /// stream is checked as it is decoded.
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
            CodeLayout::Grid(grid) => {
                if grid.len() != values || variables != 1 {
                    return Err(format!(
                        "a grid of {grid:?} for {values} values in {variables} variables"
                    ));
                }
                let len = u64::from_le_bytes(take(bytes, &mut at, 8)?.try_into().expect("8 bytes"));
                let stream = take(bytes, &mut at, usize::try_from(len).unwrap_or(usize::MAX))?;
                ResidualCodes::Grid(stream.to_vec())
            }
            CodeLayout::Streams => ResidualCodes::Streams(
                (0..variables)
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
            ),
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

/// Range-codes a grid's codes in the order of its walk, each in the context of its point's level and of the
/// magnitudes (and with the scheme's contexts, the signs) of the codes before it in its pass; values stored
/// exactly have no code and count as 0.
#[derive(Debug)]
pub struct GridEncoder {
    /// Boxed: its probabilities are 21 kB.
    model: Box<CodeModel>,
    coder: Encoder,
    /// Each point's code so far (0 until coded).
    coded: Vec<i32>,
}

impl GridEncoder {
    /// An encoder of the codes of `grid` in `contexts`.
    pub fn new(grid: Grid, contexts: Contexts) -> Self {
        GridEncoder {
            model: Box::new(CodeModel::new(contexts)),
            coder: Encoder::default(),
            coded: vec![0; grid.len()],
        }
    }

    /// Codes the code of `point`, the next in the walk with a code.
    #[inline]
    pub fn put(&mut self, point: &Point, code: i32) {
        let context = context(point, &self.coded);
        self.model.encode(&mut self.coder, code, context);
        self.coded[point.index] = code;
    }

    /// The coded stream.
    pub fn finish(self) -> Vec<u8> {
        self.coder.finish()
    }
}

/// Reads back the codes a [`GridEncoder`] wrote, given the same points.
#[derive(Debug)]
pub struct GridDecoder<'a> {
    model: Box<CodeModel>,
    coder: Decoder<'a>,
    coded: Vec<i32>,
    /// The first damage found: later codes read as 0.
    damage: Option<String>,
}

impl<'a> GridDecoder<'a> {
    /// A decoder of `stream`, the codes of `grid` in `contexts`.
    pub fn new(stream: &'a [u8], grid: Grid, contexts: Contexts) -> Self {
        GridDecoder {
            model: Box::new(CodeModel::new(contexts)),
            coder: Decoder::new(stream),
            coded: vec![0; grid.len()],
            damage: None,
        }
    }

    /// The code of `point`, the next in the walk with a code (0 once the stream is found damaged).
    #[inline]
    pub fn take(&mut self, point: &Point) -> i32 {
        if self.damage.is_some() {
            return 0;
        }
        let context = context(point, &self.coded);
        let code = self
            .model
            .decode(&mut self.coder, context)
            .unwrap_or_else(|e| {
                self.damage = Some(e);
                0
            });
        self.coded[point.index] = code;
        code
    }

    /// An error if the stream was damaged or did not hold exactly the codes taken.
    pub fn finish(self) -> std::result::Result<(), String> {
        match self.damage {
            Some(e) => Err(format!("residual codes: {e}")),
            None => self
                .coder
                .finish()
                .map_err(|e| format!("residual codes: {e}")),
        }
    }
}

/// The context of `point`'s code: its level and the sums of the magnitudes and of the signs of the codes before it
/// in its pass.
#[inline(always)]
fn context(point: &Point, coded: &[i32]) -> Context {
    let (mut activity, mut signs) = (0u64, 0);
    for &i in point.previous.iter().flatten() {
        activity += u64::from(coded[i].unsigned_abs());
        signs += coded[i].signum();
    }
    Context {
        level: point.level,
        activity,
        signs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Residuals {
        Residuals {
            codes: ResidualCodes::Streams(vec![vec![0, 1, -1, 5], vec![3, -200_000, 0]]),
            exact_at: vec![5, 8],
            exact_bits: vec![f64::NAN.to_bits(), 1.5f64.to_bits()],
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let r = sample();
        let bytes = r.to_bytes();
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

    /// The codes of `grid`'s walk with `axes` read back from `stream` in `contexts`, around the `exact` positions.
    fn decoded(
        stream: &[u8],
        grid: Grid,
        axes: [usize; 3],
        contexts: Contexts,
        exact: &[u64],
    ) -> std::result::Result<Vec<i32>, String> {
        let mut decoder = GridDecoder::new(stream, grid, contexts);
        let mut codes = Vec::new();
        grid.walk(axes, |p| {
            if !exact.contains(&(p.index as u64)) {
                codes.push(decoder.take(&p));
            }
        });
        decoder.finish().map(|()| codes)
    }

    #[test]
    fn grid_codes_round_trip_around_exact_values_and_refuse_damage() {
        let grid = Grid {
            frames: 3,
            height: 5,
            width: 7,
        };
        let exact_at = vec![0, 9, 57, 104];
        // in the walk's order, one per value not stored exactly
        let codes: Vec<i32> = (0..105 - 4).map(|i| [0, 0, 1, -2, 0, 300][i % 6]).collect();
        let encoded = |axes: [usize; 3], contexts: Contexts| {
            let mut encoder = GridEncoder::new(grid, contexts);
            let mut next = codes.iter();
            grid.walk(axes, |p| {
                if !exact_at.contains(&(p.index as u64)) {
                    encoder.put(&p, *next.next().unwrap());
                }
            });
            encoder.finish()
        };
        let stream = encoded([0, 1, 2], Contexts::NEWEST);
        let r = Residuals {
            codes: ResidualCodes::Grid(stream.clone()),
            exact_bits: vec![f64::NAN.to_bits(); 4],
            exact_at: exact_at.clone(),
        };
        let layout = CodeLayout::Grid(grid);
        let bytes = r.to_bytes();
        assert_eq!(Residuals::from_bytes(&bytes, 105, 1, layout).unwrap(), r);
        assert_eq!(
            decoded(&stream, grid, [0, 1, 2], Contexts::NEWEST, &exact_at).unwrap(),
            codes
        );
        // another order of axes gives the same codes in another walk, and so do the contexts of older files
        for (axes, contexts) in [
            ([2, 0, 1], Contexts::NEWEST),
            ([0, 1, 2], Contexts::Magnitudes),
        ] {
            let other = encoded(axes, contexts);
            assert_ne!(other, stream);
            assert_eq!(
                decoded(&other, grid, axes, contexts, &exact_at).unwrap(),
                codes
            );
        }
        // a truncated section, a grid that is not the data's: refused as the section is parsed
        for n in 0..bytes.len() {
            assert!(
                Residuals::from_bytes(&bytes[..n], 105, 1, layout).is_err(),
                "{n}"
            );
        }
        assert!(Residuals::from_bytes(&bytes, 104, 1, layout).is_err());
        // a truncated or lengthened stream, as it is decoded; flipped bytes: an error or other codes, never a panic
        let read = |s: &[u8]| decoded(s, grid, [0, 1, 2], Contexts::NEWEST, &exact_at);
        assert!(read(&stream[..stream.len() - 1]).is_err());
        assert!(read(&[stream.as_slice(), &[0]].concat()).is_err());
        for i in 0..stream.len() {
            let mut b = stream.clone();
            b[i] ^= 0x55;
            let _ = read(&b);
        }
        let _ = read(&[0xff; 64]);
    }
}

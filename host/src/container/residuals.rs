//! The residual section of an error-bounded file (format version 2): the values stored exactly (their positions
//! and bits) and, per variable, the quantised residual codes of the others, each stream compressed with pco.

use crate::int_streams::{get_stream, put_stream, take};

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
    /// gaps, their bits, and each variable's codes (empty streams are left out, their length 0).
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
        for codes in &self.codes {
            put_stream(&mut out, codes);
        }
        out
    }

    /// Parses the section of data with `values` values in `variables` variables (value `i` belongs to variable
    /// `i % variables`). Every count is checked against those two before anything is allocated for it.
    pub fn from_bytes(
        bytes: &[u8],
        values: usize,
        variables: usize,
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
        let codes = (0..variables)
            .map(|v| {
                let in_variable = values / variables + usize::from(v < values % variables);
                get_stream(
                    bytes,
                    &mut at,
                    in_variable - per_variable[v],
                    "residual codes",
                )
            })
            .collect::<std::result::Result<_, _>>()?;
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
        let bytes = r.to_bytes();
        // 9 values in 2 variables: 5 and 4 values, one exact value in each
        assert_eq!(Residuals::from_bytes(&bytes, 9, 2).unwrap(), r);
        for n in 0..bytes.len() {
            assert!(Residuals::from_bytes(&bytes[..n], 9, 2).is_err(), "{n}");
        }
        // counts that do not fit the data are refused, not allocated
        assert!(Residuals::from_bytes(&bytes, 8, 2).is_err());
        assert!(Residuals::from_bytes(&bytes, 10, 2).is_err());
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Residuals::from_bytes(&huge, 9, 2).is_err());
        for i in 8..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x55;
            // a flipped byte is an error or, inside a stream, other numbers; never a panic
            let _ = Residuals::from_bytes(&b, 9, 2);
        }
    }
}

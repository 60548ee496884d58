//! The `ap_fixed` arithmetic of one layer, as hls4ml's layers compute it: the bias converted to the accumulator,
//! each product formed exactly and converted to the accumulator, overflow after every addition, then the result
//! format and the activation. Shared by the host's reference runner and the board firmware's engine.

use super::{Exact, FixedFormat, Overflow, Quantization};

/// The formats of one layer with parameters, and the layer's input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerFormats {
    /// Format of the layer's input codes (the previous layer's output).
    pub input: FixedFormat,
    /// Format of the weights.
    pub weight: FixedFormat,
    /// Format of the accumulator.
    pub accum: FixedFormat,
    /// Format of the result, before the activation.
    pub result: FixedFormat,
    /// Output format of the ReLU or LeakyReLU; `None` for a linear layer.
    pub activation: Option<FixedFormat>,
    /// The LeakyReLU slope (format and code); `None` for a ReLU.
    pub alpha: Option<(FixedFormat, i64)>,
}

impl LayerFormats {
    /// `acc + x · w` in the accumulator's format: the product converted, then the sum.
    pub fn mac(&self, acc: i128, x: i128, w: i64) -> i128 {
        let product = Exact {
            mantissa: x * w as i128,
            exponent: -(self.input.frac_bits() + self.weight.frac_bits()),
        };
        let term = self.accum.convert(product);
        self.accum.convert(self.accum.exact(acc + term))
    }

    /// The output code of an accumulator: the result conversion, then the activation.
    pub fn finish(&self, acc: i128) -> i128 {
        let result = self.result.convert(self.accum.exact(acc));
        let Some(out) = self.activation else {
            return result;
        };
        if result > 0 {
            return out.convert(self.result.exact(result));
        }
        match self.alpha {
            Some((format, code)) => out.convert(Exact {
                mantissa: result * code as i128,
                exponent: -(self.result.frac_bits() + format.frac_bits()),
            }),
            None => 0,
        }
    }

    /// The right shift that brings a product to the accumulator's scale (negative: a left shift) when the
    /// accumulator truncates and wraps (`AP_TRN`, `AP_WRAP`, no saturated bits — what `baler quantize` chooses)
    /// and products fit an `i64`: then [`integer_sum`] computes the layer exactly, in any summation order.
    pub fn integer_shift(&self) -> Option<i32> {
        let accum = self.accum;
        let shift = self.input.frac_bits() + self.weight.frac_bits() - accum.frac_bits();
        let product_bits = (self.input.width + self.weight.width) as i32 + (-shift).max(0);
        let integer = accum.overflow == Overflow::Wrap
            && accum.saturation_bits == 0
            && accum.quantization == Quantization::Trn
            && product_bits <= 62
            && shift < 63;
        integer.then_some(shift)
    }

    /// The accumulator code after the integer sum: `sum` holds the wrapped total in its low bits.
    pub fn wrap_accum(&self, sum: i64) -> i128 {
        self.accum.from_bits(sum as u64 as u128)
    }
}

/// An accumulator that truncates and wraps, in `i64`: each product shifted to the accumulator's scale (the floor
/// that `AP_TRN` takes), all added with wrap-around from `start` — equal to converting and wrapping after every
/// addition, because wrap-around is arithmetic modulo `2^W`. `shift` comes from [`LayerFormats::integer_shift`];
/// finish with [`LayerFormats::wrap_accum`].
pub fn integer_sum(start: i64, products: impl Iterator<Item = i64>, shift: i32) -> i64 {
    if shift >= 0 {
        let s = shift as u32;
        products.fold(start, |acc, p| acc.wrapping_add(p >> s))
    } else {
        let s = (-shift) as u32;
        products.fold(start, |acc, p| acc.wrapping_add(p << s))
    }
}

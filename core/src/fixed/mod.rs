//! Bit-exact `ap_fixed` arithmetic on integer codes: formats, conversions (from `f64` and between formats,
//! with every quantisation and overflow mode), exact products and sums, and display as value and bits.

mod format;
mod layer;

#[cfg(feature = "alloc")]
pub use format::FormatError;
pub use format::{Exact, FixedFormat, Overflow, Quantization};
pub use layer::{LayerFormats, integer_sum};

use core::fmt;

/// A fixed-point value: an integer code in a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed {
    /// The integer code; the value is `code · 2^-(W-I)`.
    pub code: i128,
    /// Its format.
    pub format: FixedFormat,
}

impl Fixed {
    /// `format(value)` as `ap_fixed`'s constructor from `double` computes it.
    pub fn from_f64(value: f64, format: FixedFormat) -> Fixed {
        Fixed {
            code: format.from_f64(value),
            format,
        }
    }

    /// `format(value)` from an `f32` (converted to `f64` first, as `ap_fixed` does).
    pub fn from_f32(value: f32, format: FixedFormat) -> Fixed {
        Fixed::from_f64(value as f64, format)
    }

    /// The exact value.
    pub fn exact(self) -> Exact {
        self.format.exact(self.code)
    }

    /// This value assigned to another format (`ap_fixed`'s converting constructor).
    pub fn convert(self, format: FixedFormat) -> Fixed {
        Fixed {
            code: format.convert(self.exact()),
            format,
        }
    }

    /// The full-precision product (what `a * b` yields before assignment); `None` only for two 64-bit
    /// unsigned operands whose product needs 128 bits.
    pub fn full_product(self, other: Fixed) -> Option<Exact> {
        self.exact().checked_mul(other.exact())
    }

    /// The full-precision sum (what `a + b` yields before assignment); `None` when the binary points are
    /// more than 127 bits apart.
    pub fn full_sum(self, other: Fixed) -> Option<Exact> {
        self.exact().checked_add(other.exact())
    }

    /// The value as `f64`.
    pub fn to_f64(self) -> f64 {
        self.format.value_of(self.code)
    }

    /// The `W`-bit pattern.
    pub fn bits(self) -> u128 {
        self.format.to_bits(self.code)
    }
}

impl fmt::Display for Fixed {
    /// Value, bit pattern and format, e.g. `-1.25 (0b1110110000 ap_fixed<10,4>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.format.width as usize;
        write!(
            f,
            "{} (0b{:0width$b} {})",
            self.to_f64(),
            self.bits(),
            self.format
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn display_shows_value_bits_and_format() {
        let x = Fixed::from_f64(-1.25, FixedFormat::signed(10, 4));
        assert_eq!(x.to_string(), "-1.25 (0b1110110000 ap_fixed<10,4>)");
    }

    #[test]
    fn conversion_between_formats_rounds_and_saturates() {
        let wide = Fixed::from_f64(3.140625 + 1.0 / 4096.0, FixedFormat::signed(24, 4));
        let narrow = "ap_fixed<6,2,AP_RND,AP_SAT>".parse().unwrap();
        assert_eq!(wide.convert(narrow).to_f64(), 1.9375);
        let q: FixedFormat = "ap_fixed<8,4,AP_RND,AP_WRAP>".parse().unwrap();
        assert_eq!(wide.convert(q).to_f64(), 3.125);
    }
}

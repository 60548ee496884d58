//! A fixed-point number format mirroring `ap_fixed<W,I,Q,O,N>` / `ap_ufixed`, its parser and C++ spelling,
//! and the one conversion every fixed-point operation ends in: an exact value rounded and fitted to the format.

#[cfg(feature = "alloc")]
use alloc::string::{String, ToString};
use core::fmt;
#[cfg(feature = "alloc")]
use core::str::FromStr;
#[cfg(feature = "alloc")]
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How bits below the format's least significant bit are dropped (`ap_q_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantization {
    /// `AP_TRN`: toward minus infinity (the default).
    Trn,
    /// `AP_TRN_ZERO`: toward zero.
    TrnZero,
    /// `AP_RND`: to nearest, halves toward plus infinity.
    Rnd,
    /// `AP_RND_ZERO`: to nearest, halves toward zero.
    RndZero,
    /// `AP_RND_MIN_INF`: to nearest, halves toward minus infinity.
    RndMinInf,
    /// `AP_RND_INF`: to nearest, halves away from zero.
    RndInf,
    /// `AP_RND_CONV`: to nearest, halves to even.
    RndConv,
}

/// What happens to a value outside the format's range (`ap_o_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// `AP_WRAP`: keep the low bits (the default); with saturation bits, see [`FixedFormat::saturation_bits`].
    Wrap,
    /// `AP_SAT`: clamp to the largest or smallest value.
    Sat,
    /// `AP_SAT_ZERO`: any overflow gives zero.
    SatZero,
    /// `AP_SAT_SYM`: clamp symmetrically, `[-max, max]` for signed formats.
    SatSym,
}

impl Quantization {
    /// All modes, in the order of `ap_q_mode`.
    pub const ALL: [Quantization; 7] = [
        Quantization::Rnd,
        Quantization::RndZero,
        Quantization::RndMinInf,
        Quantization::RndInf,
        Quantization::RndConv,
        Quantization::Trn,
        Quantization::TrnZero,
    ];

    /// The C++ enumerator, e.g. `AP_RND_CONV`.
    pub fn name(self) -> &'static str {
        match self {
            Quantization::Trn => "AP_TRN",
            Quantization::TrnZero => "AP_TRN_ZERO",
            Quantization::Rnd => "AP_RND",
            Quantization::RndZero => "AP_RND_ZERO",
            Quantization::RndMinInf => "AP_RND_MIN_INF",
            Quantization::RndInf => "AP_RND_INF",
            Quantization::RndConv => "AP_RND_CONV",
        }
    }
}

impl Overflow {
    /// All modes handled here (`AP_WRAP_SM` is not).
    pub const ALL: [Overflow; 4] = [
        Overflow::Sat,
        Overflow::SatZero,
        Overflow::SatSym,
        Overflow::Wrap,
    ];

    /// The C++ enumerator, e.g. `AP_SAT`.
    pub fn name(self) -> &'static str {
        match self {
            Overflow::Wrap => "AP_WRAP",
            Overflow::Sat => "AP_SAT",
            Overflow::SatZero => "AP_SAT_ZERO",
            Overflow::SatSym => "AP_SAT_SYM",
        }
    }
}

/// `ap_fixed<W, I, Q, O, N>` (signed) or `ap_ufixed<…>` (unsigned). The value of code `c` is `c · 2^-(W-I)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FixedFormat {
    /// `ap_fixed` (two's complement) rather than `ap_ufixed`.
    pub signed: bool,
    /// Total bits `W`, 1 to 64.
    pub width: u32,
    /// Integer bits `I` (sign included); may be negative or larger than `W`.
    pub int_bits: i32,
    /// Quantisation mode `Q`.
    pub quantization: Quantization,
    /// Overflow mode `O`.
    pub overflow: Overflow,
    /// `N`: with `AP_WRAP`, the number of most significant bits that saturate instead of wrapping.
    pub saturation_bits: u32,
}

/// A value known exactly: `mantissa · 2^exponent`. Products and sums of fixed-point values are exact values
/// until they are converted to a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exact {
    /// Integer mantissa.
    pub mantissa: i128,
    /// Power of two it is scaled by.
    pub exponent: i32,
}

#[cfg(feature = "alloc")]
/// A format string or format that `ap_fixed` would not accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError(pub String);

#[cfg(feature = "alloc")]
impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FixedFormat {
    /// `ap_fixed<width, int_bits>` with the defaults `AP_TRN`, `AP_WRAP`.
    pub const fn signed(width: u32, int_bits: i32) -> Self {
        FixedFormat {
            signed: true,
            width,
            int_bits,
            quantization: Quantization::Trn,
            overflow: Overflow::Wrap,
            saturation_bits: 0,
        }
    }

    /// `ap_ufixed<width, int_bits>` with the defaults `AP_TRN`, `AP_WRAP`.
    pub const fn unsigned(width: u32, int_bits: i32) -> Self {
        FixedFormat {
            signed: false,
            ..FixedFormat::signed(width, int_bits)
        }
    }

    /// The same format with other quantisation and overflow modes.
    pub const fn with_modes(self, quantization: Quantization, overflow: Overflow) -> Self {
        FixedFormat {
            quantization,
            overflow,
            ..self
        }
    }

    /// What breaks the limits this implementation and `ap_fixed` share, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        if !(1..=64).contains(&self.width) {
            Some("width must be 1 to 64 bits")
        } else if self.saturation_bits > self.width {
            Some("more saturation bits than the width")
        } else if self.saturation_bits > 0 && self.overflow != Overflow::Wrap {
            Some("saturation bits only apply to AP_WRAP")
        } else if !(-1024..=1024).contains(&self.int_bits) {
            Some("integer bits must be within ±1024")
        } else {
            None
        }
    }

    /// Checks the limits this implementation and `ap_fixed` share.
    #[cfg(feature = "alloc")]
    pub fn validate(&self) -> Result<(), FormatError> {
        match self.problem() {
            Some(problem) => Err(FormatError(alloc::format!("{self}: {problem}"))),
            None => Ok(()),
        }
    }

    /// Fractional bits `W - I`: the value of one code step is `2^-frac_bits`.
    pub fn frac_bits(&self) -> i32 {
        self.width as i32 - self.int_bits
    }

    /// Smallest code.
    pub fn min_code(&self) -> i128 {
        if self.signed {
            -(1i128 << (self.width - 1))
        } else {
            0
        }
    }

    /// Largest code.
    pub fn max_code(&self) -> i128 {
        if self.signed {
            (1i128 << (self.width - 1)) - 1
        } else {
            (1i128 << self.width) - 1
        }
    }

    /// Smallest representable value.
    pub fn min_value(&self) -> f64 {
        self.value_of(self.min_code())
    }

    /// Largest representable value.
    pub fn max_value(&self) -> f64 {
        self.value_of(self.max_code())
    }

    /// The value of a code as `f64` (exact while the code has at most 53 significant bits).
    pub fn value_of(&self, code: i128) -> f64 {
        code as f64 * pow2(-self.frac_bits())
    }

    /// The exact value of a code.
    pub fn exact(&self, code: i128) -> Exact {
        Exact {
            mantissa: code,
            exponent: -self.frac_bits(),
        }
    }

    /// Converts an `f64` as `ap_fixed`'s constructor does: the exact binary value, rounded with `Q` and
    /// fitted with `O`. Like `ap_fixed`, infinities and NaN are taken as `2^1024`-sized values
    /// (callers reject them first).
    pub fn from_f64(&self, value: f64) -> i128 {
        self.convert(Exact::from_f64(value))
    }

    /// Rounds and fits an exact value into this format, returning the code.
    pub fn convert(&self, value: Exact) -> i128 {
        let m = value.mantissa;
        if m == 0 {
            return 0;
        }
        let shift = value.exponent as i64 + self.frac_bits() as i64;
        if shift >= 0 {
            let redundant = if m < 0 { !m } else { m }.leading_zeros() as i64 - 1;
            if shift <= redundant {
                self.fit(m << shift)
            } else {
                // |value| ≥ 2^127 codes: out of range for any width ≤ 64; the low bits are what wraps.
                let low = if shift < 128 { m << shift } else { 0 };
                self.fit_overflowed(low, m < 0)
            }
        } else {
            let rounded = round_shift_right(m, (-shift) as u64, self.quantization);
            self.fit(rounded)
        }
    }

    /// Fits an integer code `q` (already rounded) into the range. Like `ap_fixed`, SAT_SYM also moves the
    /// smallest code of a signed format to the symmetric one.
    fn fit(&self, q: i128) -> i128 {
        if q > self.max_code() || q < self.min_code() {
            return self.fit_overflowed(q, q < 0);
        }
        if self.overflow == Overflow::SatSym && self.signed && q == self.min_code() {
            return self.symmetric_min();
        }
        q
    }

    /// SAT_SYM's smallest code: the bits of the smallest code with the lowest bit set (`-max`, except that a
    /// 1-bit format keeps its only negative code).
    pub fn symmetric_min(&self) -> i128 {
        self.from_bits(self.to_bits(self.min_code()) | 1)
    }

    /// The code for an out-of-range value whose low bits are `low` and whose sign is `negative`.
    fn fit_overflowed(&self, low: i128, negative: bool) -> i128 {
        let w = self.width;
        match self.overflow {
            Overflow::Sat | Overflow::SatSym => {
                if !negative {
                    self.max_code()
                } else if self.overflow == Overflow::SatSym && self.signed {
                    self.symmetric_min()
                } else {
                    self.min_code()
                }
            }
            Overflow::SatZero => 0,
            Overflow::Wrap => {
                let mut bits = (low as u128) & mask(w);
                let n = self.saturation_bits;
                if n > 0 {
                    if self.signed {
                        bits = set_bit(bits, w - 1, negative);
                        if n > 1 {
                            let range = mask(w - 1) & !mask(w - n);
                            bits = if negative {
                                bits & !range
                            } else {
                                bits | range
                            };
                        }
                    } else {
                        bits |= mask(w) & !mask(w - n);
                    }
                }
                self.from_bits(bits)
            }
        }
    }

    /// The code whose `W`-bit two's complement (or unsigned) pattern is `bits`.
    pub fn from_bits(&self, bits: u128) -> i128 {
        let bits = bits & mask(self.width);
        if self.signed && bits >> (self.width - 1) & 1 == 1 {
            bits as i128 - (1i128 << self.width)
        } else {
            bits as i128
        }
    }

    /// The `W`-bit pattern of a code.
    pub fn to_bits(&self, code: i128) -> u128 {
        code as u128 & mask(self.width)
    }
}

impl Exact {
    /// The exact value of an `f64`, decoded as `ap_fixed`'s constructor decodes it (sign, 11-bit exponent,
    /// 52-bit fraction with the hidden bit always set).
    pub fn from_f64(value: f64) -> Exact {
        let bits = value.to_bits();
        if bits & !(1u64 << 63) == 0 {
            return Exact {
                mantissa: 0,
                exponent: 0,
            };
        }
        let magnitude = ((bits & ((1u64 << 52) - 1)) | (1u64 << 52)) as i128;
        let exponent = ((bits >> 52) & 0x7ff) as i32 - 1023 - 52;
        Exact {
            mantissa: if bits >> 63 == 1 {
                -magnitude
            } else {
                magnitude
            },
            exponent,
        }
    }

    /// The exact product, or `None` when it needs more than 127 bits.
    pub fn checked_mul(self, other: Exact) -> Option<Exact> {
        Some(Exact {
            mantissa: self.mantissa.checked_mul(other.mantissa)?,
            exponent: self.exponent + other.exponent,
        })
    }

    /// The exact sum, or `None` when aligning the binary points needs more than 127 bits.
    pub fn checked_add(self, other: Exact) -> Option<Exact> {
        let (hi, lo) = if self.exponent >= other.exponent {
            (self, other)
        } else {
            (other, self)
        };
        let shift = (hi.exponent - lo.exponent) as u32;
        let aligned = if hi.mantissa == 0 {
            0
        } else if shift >= 127 {
            return None;
        } else {
            hi.mantissa.checked_mul(1i128 << shift)?
        };
        Some(Exact {
            mantissa: aligned.checked_add(lo.mantissa)?,
            exponent: lo.exponent,
        })
    }

    /// The value as `f64` (rounded to nearest when it has more than 53 significant bits).
    pub fn to_f64(self) -> f64 {
        self.mantissa as f64 * pow2(self.exponent)
    }
}

/// `m · 2^-d` rounded to an integer with mode `q` (two's complement bit rules of `ap_fixed`).
fn round_shift_right(m: i128, d: u64, q: Quantization) -> i128 {
    let negative = m < 0;
    let floor = if d >= 128 {
        -(negative as i128)
    } else {
        m >> d
    };
    // the first dropped bit, and whether any bit below it is set
    let half = if d > 127 {
        negative
    } else {
        (m >> (d - 1)) & 1 == 1
    };
    let below = if d > 128 {
        m != 0
    } else {
        (m as u128) & mask((d - 1) as u32) != 0
    };
    let up = match q {
        Quantization::Trn => false,
        Quantization::TrnZero => negative && (half || below),
        Quantization::Rnd => half,
        Quantization::RndZero => half && (negative || below),
        Quantization::RndMinInf => half && below,
        Quantization::RndInf => half && (!negative || below),
        Quantization::RndConv => half && (floor & 1 == 1 || below),
    };
    floor + up as i128
}

fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn set_bit(bits: u128, index: u32, value: bool) -> u128 {
    if value {
        bits | 1 << index
    } else {
        bits & !(1 << index)
    }
}

/// `2^e` as `f64` without `std` (underflows to 0 and overflows to infinity like the exact value would).
fn pow2(e: i32) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else if e >= -1074 {
        f64::from_bits(1u64 << (e + 1074))
    } else {
        0.0
    }
}

impl fmt::Display for FixedFormat {
    /// The C++ type, e.g. `ap_fixed<18,8>` or `ap_ufixed<8,0,AP_RND,AP_SAT>`; defaults are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.signed { "ap_fixed" } else { "ap_ufixed" };
        write!(f, "{name}<{},{}", self.width, self.int_bits)?;
        let default_o = self.overflow == Overflow::Wrap && self.saturation_bits == 0;
        if self.quantization != Quantization::Trn || !default_o {
            write!(f, ",{}", self.quantization.name())?;
        }
        if !default_o {
            write!(f, ",{}", self.overflow.name())?;
        }
        if self.saturation_bits > 0 {
            write!(f, ",{}", self.saturation_bits)?;
        }
        f.write_str(">")
    }
}

#[cfg(feature = "alloc")]
impl FromStr for FixedFormat {
    type Err = FormatError;

    /// Parses the C++ spelling written by `Display` (spaces allowed).
    fn from_str(text: &str) -> Result<Self, FormatError> {
        let bad = |why: &str| {
            FormatError(alloc::format!(
                "'{text}' is not a fixed-point format: {why}"
            ))
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (signed, rest) = if let Some(rest) = compact.strip_prefix("ap_fixed<") {
            (true, rest)
        } else if let Some(rest) = compact.strip_prefix("ap_ufixed<") {
            (false, rest)
        } else {
            return Err(bad("expected ap_fixed<W,I,…> or ap_ufixed<W,I,…>"));
        };
        let inner = rest.strip_suffix('>').ok_or_else(|| bad("missing '>'"))?;
        let parts: alloc::vec::Vec<&str> = inner.split(',').collect();
        if !(2..=5).contains(&parts.len()) {
            return Err(bad("expected 2 to 5 parameters"));
        }
        let width = parts[0].parse().map_err(|_| bad("width is not a number"))?;
        let int_bits = parts[1]
            .parse()
            .map_err(|_| bad("integer bits is not a number"))?;
        let quantization = match parts.get(2) {
            None => Quantization::Trn,
            Some(p) => *Quantization::ALL
                .iter()
                .find(|q| q.name() == *p)
                .ok_or_else(|| bad("unknown quantisation mode"))?,
        };
        let overflow = match parts.get(3) {
            None => Overflow::Wrap,
            Some(p) => *Overflow::ALL
                .iter()
                .find(|o| o.name() == *p)
                .ok_or_else(|| bad("unknown overflow mode"))?,
        };
        let saturation_bits = match parts.get(4) {
            None => 0,
            Some(p) => p
                .parse()
                .map_err(|_| bad("saturation bits is not a number"))?,
        };
        let format = FixedFormat {
            signed,
            width,
            int_bits,
            quantization,
            overflow,
            saturation_bits,
        };
        format.validate()?;
        Ok(format)
    }
}

#[cfg(feature = "alloc")]
impl Serialize for FixedFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(feature = "alloc")]
impl<'de> Deserialize<'de> for FixedFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> FixedFormat {
        text.parse().unwrap()
    }

    #[test]
    fn spelling_round_trips() {
        for text in [
            "ap_fixed<16,6>",
            "ap_ufixed<8,0,AP_RND,AP_SAT>",
            "ap_fixed<18,8,AP_RND_CONV,AP_WRAP,2>",
            "ap_fixed<5,-3,AP_TRN_ZERO,AP_SAT_SYM>",
            "ap_fixed<12,20,AP_RND_INF>",
        ] {
            assert_eq!(fmt(text).to_string(), text);
        }
        assert!("ap_fixed<65,1>".parse::<FixedFormat>().is_err());
        assert!(
            "ap_fixed<8,1,AP_RND,AP_SAT,2>"
                .parse::<FixedFormat>()
                .is_err()
        );
        assert!("ap_int<8>".parse::<FixedFormat>().is_err());
    }

    #[test]
    fn rounding_modes_on_halves_and_thirds() {
        // codes of ap_fixed<8,4> (step 1/16) for ±2.5 steps, ±2.25 steps
        let cases = [
            (Quantization::Trn, [2, -3, 2, -3]),
            (Quantization::TrnZero, [2, -2, 2, -2]),
            (Quantization::Rnd, [3, -2, 2, -2]),
            (Quantization::RndZero, [2, -2, 2, -2]),
            (Quantization::RndMinInf, [2, -3, 2, -2]),
            (Quantization::RndInf, [3, -3, 2, -2]),
            (Quantization::RndConv, [2, -2, 2, -2]),
        ];
        for (q, expected) in cases {
            let f = FixedFormat::signed(8, 4).with_modes(q, Overflow::Wrap);
            let got = [2.5, -2.5, 2.25, -2.25].map(|steps| f.from_f64(steps / 16.0) as i32);
            assert_eq!(got, expected, "{q:?}");
        }
    }

    #[test]
    fn overflow_modes() {
        let f = |o| FixedFormat::signed(4, 4).with_modes(Quantization::Trn, o);
        assert_eq!(f(Overflow::Wrap).from_f64(9.0), -7);
        assert_eq!(f(Overflow::Sat).from_f64(9.0), 7);
        assert_eq!(f(Overflow::Sat).from_f64(-9.0), -8);
        assert_eq!(f(Overflow::SatSym).from_f64(-9.0), -7);
        assert_eq!(f(Overflow::SatSym).from_f64(-8.0), -7);
        assert_eq!(f(Overflow::SatZero).from_f64(-9.0), 0);
        assert_eq!(FixedFormat::unsigned(4, 4).from_f64(-1.0), 15);
        assert_eq!(fmt("ap_ufixed<4,4,AP_TRN,AP_SAT>").from_f64(-1.0), 0);
        // 64-bit formats keep their full range
        assert_eq!(
            fmt("ap_ufixed<64,64,AP_TRN,AP_SAT>").max_code(),
            u64::MAX as i128
        );
        assert_eq!(
            fmt("ap_fixed<64,64,AP_TRN,AP_SAT>").from_f64(1e300),
            i64::MAX as i128
        );
    }

    #[test]
    fn exact_arithmetic() {
        let a = FixedFormat::signed(18, 8);
        let x = a.exact(a.from_f64(1.5));
        let y = a.exact(a.from_f64(-0.25));
        assert_eq!(x.checked_mul(y).unwrap().to_f64(), -0.375);
        assert_eq!(x.checked_add(y).unwrap().to_f64(), 1.25);
    }
}

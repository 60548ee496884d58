//! An adaptive binary range coder, and the model that codes quantisation codes with it: a zero flag, a sign, the
//! magnitude's exponent in unary and its mantissa, each modelled bit with a probability learnt per context.

use serde::{Deserialize, Serialize};

/// Probabilities are in units of 2^-16.
const PROBABILITY_BITS: u32 = 16;
/// The range is renormalised (a byte shifted out) whenever it falls below 2^24.
const TOP: u32 = 1 << 24;
/// The slowest adaptation: a probability moves 2^-6 of the way to each new bit once it has seen a few.
const SLOWEST_SHIFT: u8 = 6;

/// The learnt probability of one modelled bit.
#[derive(Clone, Copy, Debug)]
pub struct Bit {
    /// Probability of a 0, in 2^-16.
    zero: u32,
    /// Bits seen so far, up to the slowest rate's: the first few move the probability faster.
    seen: u8,
}

impl Default for Bit {
    fn default() -> Self {
        Bit {
            zero: 1 << (PROBABILITY_BITS - 1),
            seen: 0,
        }
    }
}

impl Bit {
    #[inline]
    fn update(&mut self, bit: bool) {
        self.seen = (self.seen + 1).min(SLOWEST_SHIFT);
        let shift = self.seen;
        let one = 1 << PROBABILITY_BITS;
        if bit {
            self.zero -= self.zero >> shift;
        } else {
            self.zero += (one - self.zero) >> shift;
        }
        // never certain: each value keeps a cost of at most 11 bits
        self.zero = self.zero.clamp(32, one - 32);
    }
}

/// Writes bits into bytes.
#[derive(Debug)]
pub struct Encoder {
    /// The interval's low end: 32 bits and a carry.
    low: u64,
    range: u32,
    out: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            low: 0,
            range: u32::MAX,
            out: Vec::new(),
        }
    }
}

impl Encoder {
    /// Codes `bit` with the probability `model` holds, and updates it.
    #[inline]
    pub fn bit(&mut self, bit: bool, model: &mut Bit) {
        let bound = (self.range >> PROBABILITY_BITS) * model.zero;
        if bit {
            self.low += u64::from(bound);
            self.range -= bound;
        } else {
            self.range = bound;
        }
        model.update(bit);
        self.normalise();
    }

    /// Codes `bit` at probability ½.
    #[inline]
    pub fn direct(&mut self, bit: bool) {
        self.range >>= 1;
        if bit {
            self.low += u64::from(self.range);
        }
        self.normalise();
    }

    fn normalise(&mut self) {
        while self.range < TOP {
            self.range <<= 8;
            self.shift_byte();
        }
    }

    fn shift_byte(&mut self) {
        if self.low >> 32 != 0 {
            // the carry runs into the bytes already written (it cannot pass the first: the value stays below 1)
            for byte in self.out.iter_mut().rev() {
                *byte = byte.wrapping_add(1);
                if *byte != 0 {
                    break;
                }
            }
            self.low &= 0xffff_ffff;
        }
        self.out.push((self.low >> 24) as u8);
        self.low = (self.low << 8) & 0xffff_ffff;
    }

    /// The bytes, with the interval's low end flushed.
    pub fn finish(mut self) -> Vec<u8> {
        for _ in 0..4 {
            self.shift_byte();
        }
        self.out
    }
}

/// Reads back the bits an [`Encoder`] wrote. Damaged bytes give other bits, never a panic; reading past the end
/// is reported by [`Decoder::finish`].
#[derive(Debug)]
pub struct Decoder<'a> {
    code: u32,
    range: u32,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut d = Decoder {
            code: 0,
            range: u32::MAX,
            bytes,
            at: 0,
        };
        for _ in 0..4 {
            d.code = (d.code << 8) | u32::from(d.next_byte());
        }
        d
    }

    fn next_byte(&mut self) -> u8 {
        let byte = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    /// The next bit, coded with the probability `model` holds (updated as the encoder did).
    #[inline]
    pub fn bit(&mut self, model: &mut Bit) -> bool {
        let bound = (self.range >> PROBABILITY_BITS) * model.zero;
        let bit = self.code >= bound;
        if bit {
            self.code -= bound;
            self.range -= bound;
        } else {
            self.range = bound;
        }
        model.update(bit);
        self.normalise();
        bit
    }

    /// The next bit coded at probability ½.
    #[inline]
    pub fn direct(&mut self) -> bool {
        self.range >>= 1;
        let bit = self.code >= self.range;
        if bit {
            self.code -= self.range;
        }
        self.normalise();
        bit
    }

    fn normalise(&mut self) {
        while self.range < TOP {
            self.range <<= 8;
            self.code = (self.code << 8) | u32::from(self.next_byte());
        }
    }

    /// An error unless the bits read used exactly the bytes given.
    pub fn finish(self) -> Result<(), String> {
        match self.at.cmp(&self.bytes.len()) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Greater => Err("the coded stream is truncated".into()),
            std::cmp::Ordering::Less => Err("bytes after the end of the coded stream".into()),
        }
    }
}

/// Classes of a code's context by level: the finest three strides, then every coarser one together.
const LEVEL_CLASSES: usize = 4;
/// Classes of a code's context by its neighbours' magnitudes: 0, then powers of two up to 2^14 and more
/// ([`Contexts::MagnitudesAndSigns`]).
const ACTIVITY_CLASSES: usize = 16;
/// The classes [`Contexts::Magnitudes`] uses: the first 8, up to 64 and more.
const ACTIVITY_CLASSES_BEFORE_SIGNS: usize = 8;
/// Classes of a code's context by its neighbours' signs: their sum, −3 to 3.
const SIGN_CLASSES: usize = 7;
/// Magnitudes of `i32` codes have at most 32 binary digits.
const EXPONENTS: usize = 32;

/// Which contexts a [`CodeModel`] learns its probabilities in, recorded with each file so that it reads as it was
/// written. Interpolation leaves its errors with the same sign over stretches of a field, so the neighbours' signs
/// predict a code's: on the development fields (2026-11-28) that alone coded the residuals 1.7–12.6 % smaller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Contexts {
    /// The code's level and its neighbours' magnitudes in 8 classes (files written before 2026-11-28's sign
    /// contexts).
    #[default]
    Magnitudes,
    /// Also the sum of the neighbours' signs for the code's sign, magnitudes in 16 classes (up to 2^14, for fine
    /// bounds), and the mantissa's leading bit per class of magnitude.
    MagnitudesAndSigns,
}

impl Contexts {
    /// What this build writes.
    pub const NEWEST: Contexts = Contexts::MagnitudesAndSigns;

    /// Whether these are the contexts of files that do not name theirs.
    pub fn is_default(&self) -> bool {
        *self == Contexts::default()
    }
}

/// The learnt probabilities of quantisation codes: whether a code is 0 and its magnitude's exponent depend on its
/// context (how coarse its level is and how large its neighbours' codes were), its sign on its neighbours' signs,
/// its mantissa's leading bit on its exponent and its neighbours' magnitudes.
#[derive(Clone, Debug)]
pub struct CodeModel {
    contexts: Contexts,
    zero: [[Bit; ACTIVITY_CLASSES]; LEVEL_CLASSES],
    negative: [Bit; SIGN_CLASSES],
    exponent: [[[Bit; EXPONENTS]; ACTIVITY_CLASSES]; LEVEL_CLASSES],
    /// The mantissa's leading bit, per class of magnitude and exponent; the rest are coded directly.
    leading: [[Bit; EXPONENTS]; ACTIVITY_CLASSES],
}

/// A code's context: its level (0 for the first point, 1 for the finest stride), the sum of its neighbours'
/// magnitudes and the sum of their signs.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The level of the point the code belongs to.
    pub level: u32,
    /// The sum of the magnitudes of its neighbours' codes.
    pub activity: u64,
    /// The sum of the signs (−1, 0, 1) of its neighbours' codes.
    pub signs: i32,
}

/// Indices of a context's probabilities: level, magnitude, sign and the leading bit's magnitude class.
struct Classes {
    level: usize,
    activity: usize,
    sign: usize,
    leading: usize,
}

impl Context {
    fn classes(self, contexts: Contexts) -> Classes {
        let level = match self.level {
            0 => LEVEL_CLASSES - 1,
            l => (l as usize).min(LEVEL_CLASSES) - 1,
        };
        let magnitude = |classes: usize| match self.activity {
            0 => 0,
            a => (1 + a.ilog2() as usize).min(classes - 1),
        };
        let neutral = SIGN_CLASSES / 2;
        match contexts {
            Contexts::Magnitudes => Classes {
                level,
                activity: magnitude(ACTIVITY_CLASSES_BEFORE_SIGNS),
                sign: neutral,
                leading: 0,
            },
            Contexts::MagnitudesAndSigns => {
                let activity = magnitude(ACTIVITY_CLASSES);
                let sign = self.signs.clamp(-(neutral as i32), neutral as i32) + neutral as i32;
                Classes {
                    level,
                    activity,
                    sign: sign as usize,
                    leading: activity,
                }
            }
        }
    }
}

impl CodeModel {
    /// A model that has learnt nothing yet, in `contexts`.
    pub fn new(contexts: Contexts) -> Self {
        CodeModel {
            contexts,
            zero: Default::default(),
            negative: Default::default(),
            exponent: [[[Bit::default(); EXPONENTS]; ACTIVITY_CLASSES]; LEVEL_CLASSES],
            leading: [[Bit::default(); EXPONENTS]; ACTIVITY_CLASSES],
        }
    }

    /// Codes `code` in `context`.
    pub fn encode(&mut self, out: &mut Encoder, code: i32, context: Context) {
        let c = context.classes(self.contexts);
        let magnitude = code.unsigned_abs();
        out.bit(magnitude != 0, &mut self.zero[c.level][c.activity]);
        if magnitude == 0 {
            return;
        }
        out.bit(code < 0, &mut self.negative[c.sign]);
        let exponents = &mut self.exponent[c.level][c.activity];
        let exponent = magnitude.ilog2() as usize;
        for bit in &mut exponents[..exponent] {
            out.bit(true, bit);
        }
        if exponent + 1 < EXPONENTS {
            out.bit(false, &mut exponents[exponent]);
        }
        for j in (0..exponent).rev() {
            let bit = (magnitude >> j) & 1 == 1;
            match j + 1 == exponent {
                true => out.bit(bit, &mut self.leading[c.leading][exponent]),
                false => out.direct(bit),
            }
        }
    }

    /// Reads a code coded in `context`; an error for a magnitude no `i32` has (a damaged stream).
    pub fn decode(&mut self, input: &mut Decoder, context: Context) -> Result<i32, String> {
        let c = context.classes(self.contexts);
        if !input.bit(&mut self.zero[c.level][c.activity]) {
            return Ok(0);
        }
        let negative = input.bit(&mut self.negative[c.sign]);
        let exponents = &mut self.exponent[c.level][c.activity];
        let mut exponent = 0;
        while exponent + 1 < EXPONENTS && input.bit(&mut exponents[exponent]) {
            exponent += 1;
        }
        let mut magnitude = 1u64;
        for j in (0..exponent).rev() {
            let bit = match j + 1 == exponent {
                true => input.bit(&mut self.leading[c.leading][exponent]),
                false => input.direct(),
            };
            magnitude = (magnitude << 1) | u64::from(bit);
        }
        let value = if negative {
            -(magnitude as i64)
        } else {
            magnitude as i64
        };
        i32::try_from(value).map_err(|_| format!("a code of {value} is beyond 32 bits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const BOTH: [Contexts; 2] = [Contexts::Magnitudes, Contexts::MagnitudesAndSigns];

    fn contexts(i: usize) -> Context {
        Context {
            level: (i % 7) as u32,
            activity: (i as u64 * 2654435761) % 300_000,
            signs: (i % 9) as i32 - 4,
        }
    }

    /// The bytes of `codes` coded in `contexts`, each code `i` in context `context(i)`.
    fn coded(codes: &[i32], contexts: Contexts, context: impl Fn(usize) -> Context) -> Vec<u8> {
        let mut model = CodeModel::new(contexts);
        let mut out = Encoder::default();
        for (i, &c) in codes.iter().enumerate() {
            model.encode(&mut out, c, context(i));
        }
        out.finish()
    }

    #[test]
    fn codes_round_trip_and_skewed_ones_cost_little() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut codes: Vec<i32> = (0..20_000)
            .map(|_| match rng.random_range(0..10) {
                0 => rng.random_range(-1_000_000..1_000_000),
                1..=3 => rng.random_range(-3..=3),
                _ => 0,
            })
            .collect();
        codes.extend([i32::MIN, i32::MAX, i32::MIN + 1, -1, 1, 0]);
        for kind in BOTH {
            let bytes = coded(&codes, kind, contexts);
            let mut model = CodeModel::new(kind);
            let mut input = Decoder::new(&bytes);
            for (i, &c) in codes.iter().enumerate() {
                assert_eq!(
                    model.decode(&mut input, contexts(i)).unwrap(),
                    c,
                    "code {i} in {kind:?}"
                );
            }
            input.finish().unwrap();
            // 60 % zeros, 30 % within ±3, 10 % up to 2^20: well under the 32 bits each would take raw
            assert!(bytes.len() < codes.len() * 5 / 8, "{} bytes", bytes.len());

            // all zeros: a long run costs almost nothing
            let zeros = coded(&[0; 100_000], kind, |i| contexts(i % 3));
            assert!(zeros.len() < 100, "{} bytes", zeros.len());
        }
    }

    #[test]
    fn files_before_sign_contexts_code_as_they_did() {
        // codes and contexts as the coder before sign contexts saw them: the bytes it wrote then (length and
        // FNV-1a hash, 2026-11-28 on d2b660b), whatever the neighbours' signs
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let codes: Vec<i32> = (0..5000)
            .map(|_| match rng.random_range(0..4) {
                0 => rng.random_range(-100_000..100_000),
                1 => rng.random_range(-9..=9),
                _ => 0,
            })
            .collect();
        let old = |i: usize| Context {
            activity: (i as u64 * 2654435761) % 300,
            ..contexts(i)
        };
        let bytes = coded(&codes, Contexts::Magnitudes, old);
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!((bytes.len(), hash), (4494, 0x2f57_88b9_ae08_5642));
    }

    #[test]
    fn signs_that_follow_the_neighbours_cost_less_in_sign_contexts() {
        // runs of codes of one sign, each in the context of the signs of the three codes before it
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut sign = 1;
        let codes: Vec<i32> = (0..20_000)
            .map(|_| {
                if rng.random_range(0..20) == 0 {
                    sign = -sign;
                }
                sign * rng.random_range(1..40)
            })
            .collect();
        let context = |i: usize| Context {
            level: 1,
            activity: 60,
            signs: codes[i.saturating_sub(3)..i]
                .iter()
                .map(|c| c.signum())
                .sum(),
        };
        let plain = coded(&codes, Contexts::Magnitudes, context).len();
        let signed = coded(&codes, Contexts::MagnitudesAndSigns, context).len();
        // a sign costs a bit without its context, about a third of one with it
        assert!(
            signed + 20_000 / 8 / 2 < plain,
            "{signed} against {plain} bytes"
        );
    }

    #[test]
    fn damage_gives_an_error_or_other_codes_never_a_panic() {
        let codes: Vec<i32> = (0..500).map(|i| (i % 17) - 8).collect();
        let bytes = coded(&codes, Contexts::NEWEST, contexts);
        let read = |bytes: &[u8]| -> Result<Vec<i32>, String> {
            let mut model = CodeModel::new(Contexts::NEWEST);
            let mut input = Decoder::new(bytes);
            let codes = (0..500)
                .map(|i| model.decode(&mut input, contexts(i)))
                .collect::<Result<Vec<_>, _>>()?;
            input.finish()?;
            Ok(codes)
        };
        assert!(read(&bytes).is_ok());
        assert!(read(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xa5;
            let _ = read(&b);
        }
        let _ = read(&[0xff; 64]);
    }
}

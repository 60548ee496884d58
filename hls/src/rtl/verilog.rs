//! Writing Verilog-2005 for the RTL backend: a module body of flat named wires and registers, and the
//! `ap_fixed` conversion (rounding, then overflow) as logic, mirroring `FixedFormat::convert` bit for bit.

use baler_core::fixed::{FixedFormat, Overflow, Quantization};
use std::fmt::Write;

/// A signed value in the design: a wire or register of `width` bits whose two's-complement value times
/// `2^-frac` is the number (codes of unsigned formats carry one extra zero bit).
#[derive(Clone, Debug, PartialEq)]
pub struct Sig {
    /// Verilog name.
    pub name: String,
    /// Bits.
    pub width: u32,
    /// Fraction bits: the value is the signed integer times `2^-frac`.
    pub frac: i32,
}

/// The body of one module: declarations with their logic, and the registers of each clocked stage.
#[derive(Default)]
pub struct Body {
    text: String,
    next: usize,
}

impl Body {
    /// A name not used before in this body, starting with `stem`.
    pub fn fresh(&mut self, stem: &str) -> String {
        self.next += 1;
        format!("{stem}_{}", self.next)
    }

    /// `wire signed [width-1:0] name = expr;`
    pub fn wire(&mut self, name: &str, width: u32, expr: &str) {
        let _ = writeln!(
            self.text,
            "  wire signed [{}:0] {name} = {expr};",
            width - 1
        );
    }

    /// A new wire holding `expr`, as a [`Sig`].
    pub fn wire_sig(&mut self, stem: &str, width: u32, frac: i32, expr: &str) -> Sig {
        let name = self.fresh(stem);
        self.wire(&name, width, expr);
        Sig { name, width, frac }
    }

    /// `reg signed [width-1:0] name; always @(posedge clk) name <= expr;`
    pub fn reg(&mut self, name: &str, width: u32, expr: &str) {
        let _ = writeln!(
            self.text,
            "  reg signed [{w}:0] {name};\n  always @(posedge clk) {name} <= {expr};",
            w = width - 1
        );
    }

    /// `sig` registered once, as a new [`Sig`].
    pub fn register(&mut self, stem: &str, sig: &Sig) -> Sig {
        let name = self.fresh(stem);
        self.reg(&name, sig.width, &sig.name);
        Sig {
            name,
            width: sig.width,
            frac: sig.frac,
        }
    }

    /// A raw line.
    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.text, "  {text}");
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A sized signed literal with the two's-complement bits of `value` in `width` bits (any width: above 128 bits
/// the sign fills the top).
pub fn literal(value: i128, width: u32) -> String {
    let bits = (value as u128) & mask(width);
    if width <= 128 {
        return format!("{width}'sh{bits:x}");
    }
    let sign = u8::from(value < 0);
    format!(
        "$signed({{{{{}{{1'b{sign}}}}}, 128'h{bits:x}}})",
        width - 128
    )
}

/// An unsigned sized literal of `width` bits.
pub fn bits_literal(bits: u128, width: u32) -> String {
    format!("{width}'h{:x}", bits & mask(width))
}

fn mask(width: u32) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// Bits of the smallest two's-complement number holding `value`.
pub fn signed_bits(value: i128) -> u32 {
    let magnitude = if value < 0 { !value } else { value };
    129 - magnitude.leading_zeros()
}

/// Width of the [`Sig`] holding codes of `f`: `W`, or `W + 1` for an unsigned format.
pub fn code_width(f: FixedFormat) -> u32 {
    f.width + u32::from(!f.signed)
}

/// The [`Sig`] of `f`'s codes whose raw `W` bits are in `bits` (a `W`-bit expression).
pub fn from_raw(body: &mut Body, stem: &str, bits: &str, f: FixedFormat) -> Sig {
    let expr = if f.signed {
        format!("$signed({bits})")
    } else {
        format!("$signed({{1'b0, {bits}}})")
    };
    body.wire_sig(stem, code_width(f), f.frac_bits(), &expr)
}

/// `sig` widened (sign-extended) to `width` bits, as an expression of that width.
pub fn extended(sig: &Sig, width: u32) -> String {
    if width <= sig.width {
        sig.name.clone()
    } else {
        format!(
            "{{{{{}{{{}[{}]}}}}, {}}}",
            width - sig.width,
            sig.name,
            sig.width - 1,
            sig.name
        )
    }
}

/// `value` rounded and fitted to `f` as `ap_fixed` does: a code [`Sig`] of `f`.
pub fn convert(body: &mut Body, stem: &str, value: &Sig, f: FixedFormat) -> Sig {
    let rounded = round(body, stem, value, f);
    fit(body, stem, &rounded, f)
}

/// `value` brought to `f`'s fraction bits with `f`'s quantisation mode: an integer [`Sig`] (not yet fitted).
fn round(body: &mut Body, stem: &str, value: &Sig, f: FixedFormat) -> Sig {
    let drop = value.frac - f.frac_bits();
    if drop <= 0 {
        if drop == 0 {
            return value.clone();
        }
        let expr = format!("$signed({{{}, {}'b0}})", value.name, -drop);
        return body.wire_sig(stem, value.width + (-drop) as u32, f.frac_bits(), &expr);
    }
    let d = drop as u32;
    // at least two bits above the dropped ones, so that the floor and the sign are both there
    let v = if value.width >= d + 2 {
        value.clone()
    } else {
        body.wire_sig(stem, d + 2, value.frac, &extended(value, d + 2))
    };
    let top = v.width - 1;
    let floor = format!("$signed({}[{top}:{d}])", v.name);
    let negative = format!("{}[{top}]", v.name);
    let half = format!("{}[{}]", v.name, d - 1);
    let below = if d >= 2 {
        format!("(|{}[{}:0])", v.name, d - 2)
    } else {
        "1'b0".into()
    };
    let lsb = format!("{}[{d}]", v.name);
    let up = match f.quantization {
        Quantization::Trn => None,
        Quantization::TrnZero => Some(format!("{negative} & ({half} | {below})")),
        Quantization::Rnd => Some(half),
        Quantization::RndZero => Some(format!("{half} & ({negative} | {below})")),
        Quantization::RndMinInf => Some(format!("{half} & {below}")),
        Quantization::RndInf => Some(format!("{half} & (~{negative} | {below})")),
        Quantization::RndConv => Some(format!("{half} & ({lsb} | {below})")),
    };
    let kept = v.width - d;
    match up {
        None => body.wire_sig(stem, kept, f.frac_bits(), &floor),
        // floor + up in kept + 1 bits: the sign-extended floor plus a zero-extended bit
        Some(up) => body.wire_sig(
            stem,
            kept + 1,
            f.frac_bits(),
            &format!(
                "$signed({{{negative}, {}[{top}:{d}]}} + {{{kept}'d0, {up}}})",
                v.name
            ),
        ),
    }
}

/// An integer [`Sig`] fitted into `f`'s range with `f`'s overflow mode: a code [`Sig`] of `f`.
fn fit(body: &mut Body, stem: &str, q: &Sig, f: FixedFormat) -> Sig {
    let w = f.width;
    let (min, max) = (f.min_code(), f.max_code());
    // q holds [-half, half - 1]; beyond 127 bits it reaches past any format's range
    let half = 1i128.checked_shl(q.width - 1).filter(|h| *h > 0);
    let may_over = half.is_none_or(|h| h - 1 > max);
    let may_under = half.is_none_or(|h| -h < min);
    let symmetric = f.overflow == Overflow::SatSym && f.signed;
    if !may_over && !may_under && !symmetric {
        // every value already fits: only the representation changes
        if q.width == code_width(f) {
            return Sig {
                frac: f.frac_bits(),
                ..q.clone()
            };
        }
        return body.wire_sig(
            stem,
            code_width(f),
            f.frac_bits(),
            &extended(q, code_width(f)),
        );
    }
    let low = body.fresh(&format!("{stem}_low"));
    let low_expr = if q.width >= w {
        format!("{}[{}:0]", q.name, w - 1)
    } else {
        extended(q, w)
    };
    body.line(&format!("wire [{}:0] {low} = {low_expr};", w - 1));
    // a bound inside q's range has q's width
    let over = if may_over {
        format!("({} > {})", q.name, literal(max, q.width))
    } else {
        "1'b0".into()
    };
    let under = if may_under {
        format!("({} < {})", q.name, literal(min, q.width))
    } else {
        "1'b0".into()
    };
    let min_reachable = half.is_none_or(|h| min >= -h);
    let negative = format!("{}[{}]", q.name, q.width - 1);
    let code_bits = |c: i128| bits_literal(f.to_bits(c), w);
    let bits = match f.overflow {
        Overflow::Wrap if f.saturation_bits == 0 => low.clone(),
        Overflow::Sat | Overflow::SatSym => {
            let low_bits = if symmetric && min_reachable {
                format!(
                    "({} == {}) ? {} : {low}",
                    q.name,
                    literal(min, q.width),
                    code_bits(f.symmetric_min())
                )
            } else {
                low.clone()
            };
            let bottom = if symmetric { f.symmetric_min() } else { min };
            format!(
                "{over} ? {} : {under} ? {} : {low_bits}",
                code_bits(max),
                code_bits(bottom)
            )
        }
        Overflow::SatZero => format!("({over} | {under}) ? {} : {low}", bits_literal(0, w)),
        Overflow::Wrap => {
            let n = f.saturation_bits.min(w);
            let top = if f.signed {
                if n > 1 {
                    format!("{negative}, {{{}{{~{negative}}}}}", n - 1)
                } else {
                    negative.clone()
                }
            } else {
                format!("{{{n}{{1'b1}}}}")
            };
            let kept = if n < w {
                format!(", {low}[{}:0]", w - n - 1)
            } else {
                String::new()
            };
            format!("({over} | {under}) ? {{{top}{kept}}} : {low}")
        }
    };
    let name = body.fresh(&format!("{stem}_bits"));
    body.line(&format!("wire [{}:0] {name} = {bits};", w - 1));
    from_raw(body, stem, &name, f)
}

/// The nonzero digits of `c` in canonical signed-digit form: `(shift, negative)`, lowest first.
pub fn csd_digits(c: i128) -> Vec<(u32, bool)> {
    let mut digits = Vec::new();
    let mut n = c;
    let mut shift = 0;
    while n != 0 {
        if n & 1 == 1 {
            // 01 → +1, 11 → −1 (and carry), so no two nonzero digits are adjacent
            let negative = n & 2 == 2;
            digits.push((shift, negative));
            n = if negative { n + 1 } else { n - 1 };
        }
        n >>= 1;
        shift += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csd_digits_sum_to_the_constant_and_are_never_adjacent() {
        for c in -3000i128..3000 {
            let digits = csd_digits(c);
            let sum: i128 = digits
                .iter()
                .map(|&(s, neg)| if neg { -(1i128 << s) } else { 1i128 << s })
                .sum();
            assert_eq!(sum, c);
            assert!(digits.windows(2).all(|p| p[1].0 > p[0].0 + 1), "{c}");
        }
        assert_eq!(csd_digits(7), vec![(0, true), (3, false)]);
    }

    #[test]
    fn literals_and_widths() {
        assert_eq!(literal(-1, 4), "4'shf");
        assert_eq!(literal(5, 8), "8'sh5");
        assert_eq!(
            literal(-2, 130),
            "$signed({{2{1'b1}}, 128'hfffffffffffffffffffffffffffffffe})"
        );
        assert_eq!(literal(3, 129), "$signed({{1{1'b0}}, 128'h3})");
        assert_eq!(signed_bits(0), 1);
        assert_eq!(signed_bits(-1), 1);
        assert_eq!(signed_bits(127), 8);
        assert_eq!(signed_bits(-128), 8);
        assert_eq!(signed_bits(128), 9);
    }
}

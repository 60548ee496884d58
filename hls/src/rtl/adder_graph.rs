//! Wrap-around accumulators as one pipelined adder graph per layer: the weights' signed digits with shared
//! subexpressions ([`cse`]), multiplier or rounded products as registered leaves, each output's tree built
//! earliest operands first, and a register wherever a value crosses into a later stage of `levels` adder levels.

use super::cse::{self, Term};
use super::dense::{Style, Writer, style, term_range, term_zeros};
use super::verilog::{Sig, bits_literal, convert, csd_digits, from_raw, signed_bits};
use crate::design::LayerDesign;
use std::cmp::Reverse;

/// A signal of the graph, or a constant.
struct Value {
    /// Bits held: the exact value, or (no range known) the value modulo `2^width`.
    width: u32,
    /// Zero bits it ends in.
    zeros: u32,
    /// Adder levels from the layer's inputs to it.
    time: u32,
    /// Its signal in the stage it is computed in, then registered once per later stage.
    names: Vec<String>,
    /// The constant it is, when it is one.
    constant: Option<i128>,
}

/// A summand of an output: `±(value << shift)`. `coef` is its signed contribution as an exact combination of
/// the inputs' codes (none when a bound would overflow) plus something in `interval` (products, constants).
struct Operand {
    value: usize,
    shift: u32,
    negative: bool,
    coef: Option<Vec<i128>>,
    interval: (i128, i128),
    time: u32,
}

struct Graph<'w, 'a> {
    w: &'w mut Writer<'a>,
    values: Vec<Value>,
    /// Adder levels per stage.
    levels: u32,
    /// Accumulator width: every signal is exact or modulo `2^width`.
    width: u32,
    /// Input code range.
    input: (i128, i128),
}

/// `c · 2^s`, if it fits.
fn shl(c: i128, s: u32) -> Option<i128> {
    c.checked_mul(1i128.checked_shl(s)?)
}

/// `a ± b·2^s` term by term, if every one fits.
fn combination(a: &[i128], b: &[i128], s: u32, subtract: bool) -> Option<Vec<i128>> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let y = shl(y, s)?;
            if subtract {
                x.checked_sub(y)
            } else {
                x.checked_add(y)
            }
        })
        .collect()
}

impl Graph<'_, '_> {
    /// The stage a value ready after `time` adder levels is computed in.
    fn stage(&self, time: u32) -> u32 {
        time.saturating_sub(1) / self.levels
    }

    /// The range of `Σ coef_i x_i + interval` over every input code, if no bound overflows.
    fn range(&self, coef: Option<&[i128]>, interval: (i128, i128)) -> Option<(i128, i128)> {
        let (lo, hi) = self.input;
        coef?.iter().try_fold(interval, |(a, b), &c| {
            let (p, q) = (c.checked_mul(lo)?, c.checked_mul(hi)?);
            Some((a.checked_add(p.min(q))?, b.checked_add(p.max(q))?))
        })
    }

    /// A new signal ready after `time` levels; exact in as few bits as its range needs, else modulo `2^width`.
    fn push(&mut self, name: String, range: Option<(i128, i128)>, zeros: u32, time: u32) -> usize {
        let bits = range.map(|(lo, hi)| signed_bits(lo).max(signed_bits(hi)));
        let width = bits.filter(|b| *b <= self.width).unwrap_or(self.width);
        self.values.push(Value {
            width,
            zeros,
            time,
            names: vec![name],
            constant: None,
        });
        self.values.len() - 1
    }

    /// A constant.
    fn constant(&mut self, c: i128) -> usize {
        self.values.push(Value {
            width: signed_bits(c),
            zeros: c.trailing_zeros().min(127),
            time: 0,
            names: Vec::new(),
            constant: Some(c),
        });
        self.values.len() - 1
    }

    /// Signal `v` as seen in `stage`: registered once per stage after its own.
    fn at(&mut self, v: usize, stage: u32) -> String {
        let own = self.stage(self.values[v].time);
        let k = stage.saturating_sub(own) as usize;
        while self.values[v].names.len() <= k {
            let last = self.values[v].names.last().cloned().unwrap_or_default();
            let width = self.values[v].width;
            let reg = self.w.reg_low("d", &last, width);
            self.values[v].names.push(reg);
        }
        self.values[v].names[k].clone()
    }

    /// `value << shift` as a `width`-bit expression in `stage`: its low bits, or its value sign-extended.
    fn bits(&mut self, v: usize, shift: u32, width: u32, stage: u32) -> String {
        if let Some(c) = self.values[v].constant {
            let bits = if shift >= 128 {
                0
            } else {
                c.wrapping_shl(shift) as u128
            };
            return bits_literal(bits, width);
        }
        if shift >= width {
            return format!("{width}'d0");
        }
        let name = self.at(v, stage);
        let (own, low) = (self.values[v].width, width - shift);
        let base = if own >= low {
            format!("{name}[{}:0]", low - 1)
        } else {
            format!("{{{{{}{{{name}[{}]}}}}, {name}}}", low - own, own - 1)
        };
        match shift {
            0 => base,
            s => format!("{{{base}, {s}'b0}}"),
        }
    }

    /// `a ± (b << shift)`, each operand shifted, as a new signal one level after the later operand.
    fn add(
        &mut self,
        stem: &str,
        a: (usize, u32),
        b: (usize, u32),
        subtract: bool,
        range: Option<(i128, i128)>,
    ) -> usize {
        let time = self.values[a.0].time.max(self.values[b.0].time) + 1;
        let stage = self.stage(time);
        let bits = range.map(|(lo, hi)| signed_bits(lo).max(signed_bits(hi)));
        let width = bits.filter(|b| *b <= self.width).unwrap_or(self.width);
        let ea = self.bits(a.0, a.1, width, stage);
        let eb = self.bits(b.0, b.1, width, stage);
        let za = (self.values[a.0].zeros + a.1).min(127);
        let zb = (self.values[b.0].zeros + b.1).min(127);
        let (name, zeros) = self.w.add(stem, width, (&ea, za), (&eb, zb), subtract);
        self.push(name, range, zeros, time)
    }
}

/// The output codes of a layer with wrap-around accumulators, registered, and the layer's latency. `inputs` are
/// the input codes, `start(o)` output `o`'s bias in the accumulator's format.
pub fn accumulate(
    w: &mut Writer,
    l: &LayerDesign,
    inputs: &[Sig],
    product_frac: i32,
    levels: usize,
    start: impl Fn(usize) -> i128,
) -> (Vec<Sig>, usize) {
    let accum = l.fixed.accum;
    let (n, m) = (l.inputs, l.outputs);
    // no tree is 64 levels deep: more levels per stage change nothing, and keep the depth budgets in range
    let levels = levels.min(64) as u32;
    // a product needs no rounding when the accumulator has as many fraction bits: then its signed digits are
    // summands of their own, shared across outputs
    let up = accum.frac_bits() - product_frac;
    let mut g = Graph {
        w,
        values: Vec::new(),
        levels,
        width: accum.width,
        input: (l.input.min_code(), l.input.max_code()),
    };
    // the sources of the shared sums: the inputs, then the sums (value and exact combination of each)
    let mut sources: Vec<(usize, Option<Vec<i128>>)> = Vec::new();
    for (i, x) in inputs.iter().enumerate() {
        let mut coef = vec![0; n];
        coef[i] = 1;
        let range = g.range(Some(&coef), (0, 0));
        sources.push((g.push(x.name.clone(), range, 0, 0), Some(coef)));
    }
    let mut digit_terms: Vec<Vec<Term>> = vec![Vec::new(); m];
    let mut others: Vec<Vec<Operand>> = (0..m).map(|_| Vec::new()).collect();
    for o in 0..m {
        for (i, x) in inputs.iter().enumerate() {
            let c = l.weight(i, o) as i128;
            if c == 0 {
                continue;
            }
            let digits = csd_digits(c);
            if up >= 0 && (digits.len() == 1 || style(g.w.config, digits.len()) == Style::ShiftAdd)
            {
                match digits.len() {
                    1 => g.w.figures.shifts += 1,
                    _ => g.w.figures.shift_add_products += 1,
                }
                digit_terms[o].extend(digits.iter().map(|&(shift, negative)| Term {
                    source: i,
                    shift,
                    negative,
                }));
                continue;
            }
            // a product of its own, registered: a multiplier, or rounded into the accumulator
            let p = g.w.product(&format!("p{i}_{o}"), x, c, product_frac);
            let t = convert(&mut g.w.body, &format!("t{i}_{o}"), &p, accum);
            let interval = term_range(l, c, product_frac);
            let zeros = term_zeros(c, product_frac, accum);
            others[o].push(Operand {
                value: g.push(t.name, Some(interval), zeros, levels),
                shift: 0,
                negative: false,
                coef: Some(vec![0; n]),
                interval,
                time: levels,
            });
        }
        let bias = start(o);
        if bias != 0 || (digit_terms[o].is_empty() && others[o].is_empty()) {
            others[o].push(Operand {
                value: g.constant(bias),
                shift: 0,
                negative: false,
                coef: Some(vec![0; n]),
                interval: (bias, bias),
                time: 0,
            });
        }
    }
    // every output's tree gets as many stages as the deepest one needs without sharing (its finish included)
    let fixed: Vec<u128> = others
        .iter()
        .map(|ops| ops.iter().map(|op| 1u128 << op.time).sum())
        .collect();
    let depth = |kraft: u128| 128 - (kraft.max(1) - 1).leading_zeros();
    let stages = (0..m)
        .map(|o| (depth(digit_terms[o].len() as u128 + fixed[o]) + 1).div_ceil(levels))
        .max()
        .unwrap_or(1);
    let budget = 1u128.checked_shl(stages * levels - 1).unwrap_or(u128::MAX);
    let capacity: Vec<u128> = fixed.iter().map(|f| budget.saturating_sub(*f)).collect();
    let sharing = cse::share(n, digit_terms, &capacity);
    for (k, sum) in sharing.sums.iter().enumerate() {
        let (a, b) = (&sources[sum.a], &sources[sum.b]);
        let coef =
            a.1.as_deref()
                .zip(b.1.as_deref())
                .and_then(|(x, y)| combination(x, y, sum.shift, sum.subtract));
        let range = g.range(coef.as_deref(), (0, 0));
        let (va, vb) = (a.0, b.0);
        let v = g.add(
            &format!("c{k}"),
            (va, 0),
            (vb, sum.shift),
            sum.subtract,
            range,
        );
        sources.push((v, coef));
    }
    g.w.figures.shared_sums = sharing.sums.len();
    let mut roots = Vec::new();
    for (o, terms) in sharing.outputs.into_iter().enumerate() {
        let mut ops = std::mem::take(&mut others[o]);
        for t in terms {
            let (value, coef) = &sources[t.source];
            let shift = t.shift + up as u32;
            let coef = coef.as_deref().and_then(|c| {
                c.iter()
                    .map(|&x| shl(x, shift).map(|y| if t.negative { -y } else { y }))
                    .collect()
            });
            ops.push(Operand {
                value: *value,
                shift,
                negative: t.negative,
                coef,
                interval: (0, 0),
                time: g.values[*value].time,
            });
        }
        roots.push(tree(&mut g, o, ops));
    }
    // every output leaves in the stage of the latest one
    let last = roots.iter().map(|r| g.stage(r.time + 1)).max().unwrap_or(0);
    let outputs = roots
        .into_iter()
        .enumerate()
        .map(|(o, root)| {
            let stage = g.stage(root.time + 1);
            let bits = g.bits(root.value, root.shift, accum.width, stage);
            let acc = from_raw(&mut g.w.body, &format!("acc{o}"), &bits, accum);
            let y = g.w.finish(&acc, l);
            let mut y = g.w.reg(&format!("y{o}_r"), &y);
            for _ in stage..last {
                y = g.w.reg(&format!("y{o}_d"), &y);
            }
            y
        })
        .collect();
    (outputs, last as usize + 1)
}

/// Output `o`'s summands added up, earliest first: the summands ready at the same level in pairs of like low
/// zero bits (so each adder spans few bits), an odd one out waiting for the next level. The root is not
/// negative: when every summand was, it is subtracted from zero at the end.
fn tree(g: &mut Graph, o: usize, mut pending: Vec<Operand>) -> Operand {
    let stem = format!("s{o}");
    let zeros = |g: &Graph, op: &Operand| g.values[op.value].zeros.saturating_add(op.shift);
    while pending.len() > 1 {
        let t = pending.iter().map(|op| op.time).min().expect("two left");
        let (mut ready, later): (Vec<Operand>, Vec<Operand>) =
            pending.into_iter().partition(|op| op.time == t);
        pending = later;
        if ready.len() == 1 {
            // alone at its level: joins the earliest of the rest
            let next = (0..pending.len())
                .min_by_key(|&k| pending[k].time)
                .expect("two left");
            let b = pending.swap_remove(next);
            let a = ready.pop().expect("one ready");
            pending.push(combine(g, &stem, a, b));
            continue;
        }
        ready.sort_by_key(|op| Reverse(zeros(g, op)));
        if ready.len() % 2 == 1 {
            pending.push(ready.pop().expect("an odd one"));
        }
        let mut ready = ready.into_iter();
        while let (Some(a), Some(b)) = (ready.next(), ready.next()) {
            pending.push(combine(g, &stem, a, b));
        }
    }
    let root = pending.pop().expect("an output has a summand");
    if !root.negative {
        return root;
    }
    let zero = Operand {
        value: g.constant(0),
        shift: 0,
        negative: false,
        coef: root.coef.as_ref().map(|c| vec![0; c.len()]),
        interval: (0, 0),
        time: 0,
    };
    combine(g, &stem, zero, root)
}

/// `a + b` with their signs: a constant when both are, else one adder or subtractor, whose result is
/// negative only when both summands were.
fn combine(g: &mut Graph, stem: &str, a: Operand, b: Operand) -> Operand {
    let coef = a
        .coef
        .as_deref()
        .zip(b.coef.as_deref())
        .and_then(|(x, y)| combination(x, y, 0, false));
    let interval = (a.interval.0 + b.interval.0, a.interval.1 + b.interval.1);
    let constants = (g.values[a.value].constant, g.values[b.value].constant);
    if let (Some(x), Some(y)) = constants {
        let signed =
            |c: i128, op: &Operand| shl(c, op.shift).map(|v| if op.negative { -v } else { v });
        if let Some(c) = signed(x, &a).zip(signed(y, &b)).map(|(x, y)| x + y) {
            return Operand {
                value: g.constant(c),
                shift: 0,
                negative: false,
                coef,
                interval,
                time: 0,
            };
        }
    }
    // the positive one first
    let (a, b) = if a.negative && !b.negative {
        (b, a)
    } else {
        (a, b)
    };
    let negative = a.negative && b.negative;
    let range = g
        .range(coef.as_deref(), interval)
        .map(|(lo, hi)| if negative { (-hi, -lo) } else { (lo, hi) });
    let v = g.add(
        stem,
        (a.value, a.shift),
        (b.value, b.shift),
        a.negative != b.negative,
        range,
    );
    Operand {
        value: v,
        shift: 0,
        negative,
        coef,
        interval,
        time: g.values[v].time,
    }
}

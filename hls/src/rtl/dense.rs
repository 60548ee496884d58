//! One dense layer as a Verilog module, fully pipelined at II = 1: wrap-around accumulators as one adder graph
//! (`adder_graph`) or saturating ones as a chain of additions in the reference's order over constant-weight
//! products (a multiplier or a shift-add graph), then the result conversion and the activation.

use super::adder_graph::accumulate;
use super::verilog::{
    Body, Sig, code_width, convert, csd_digits, extended, from_raw, literal, signed_bits,
};
use super::{Multipliers, RtlConfig};
use crate::design::{LayerDesign, order_free};
use crate::estimate::adder_level_ns;
use baler_core::Activation;
use baler_core::fixed::FixedFormat;
use baler_core::inference::summation_order;
use serde::Serialize;

/// What a layer's module holds, counted as it is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LayerFigures {
    /// The layer (1-based, as in the HLS project).
    pub layer: usize,
    /// Cycles from input to registered output.
    pub latency: usize,
    /// Cycles per frame: the reuse factor (1: fully pipelined).
    pub reuse_factor: usize,
    /// Adder levels packed into one pipeline stage.
    pub levels_per_stage: usize,
    /// Products written as `*` (DSP candidates).
    pub multipliers: usize,
    /// Products written as shift-add graphs (more than one nonzero digit).
    pub shift_add_products: usize,
    /// Products that are one shift (a power of two, or its negative).
    pub shifts: usize,
    /// Sums of two signed-digit terms computed once and shared by several outputs.
    pub shared_sums: usize,
    /// Two-input adders in the trees, chains and shift-add graphs.
    pub adders: usize,
    /// Flip-flops in the module.
    pub register_bits: usize,
}

/// The module `<name>_layer<k>`.
pub struct LayerModule {
    /// Verilog text.
    pub text: String,
    /// Its figures.
    pub figures: LayerFigures,
}

/// How a constant product is built.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Style {
    Multiplier,
    ShiftAdd,
}

pub(super) fn style(config: &RtlConfig, digits: usize) -> Style {
    match config.multipliers {
        Multipliers::Dsp => Style::Multiplier,
        Multipliers::Lut => Style::ShiftAdd,
        Multipliers::Auto if digits <= 2 => Style::ShiftAdd,
        Multipliers::Auto => Style::Multiplier,
    }
}

/// A layer module being written: its body and figures.
pub(super) struct Writer<'a> {
    /// The design's name: its adder module is `<design>_add`.
    design: &'a str,
    pub(super) body: Body,
    pub(super) figures: LayerFigures,
    pub(super) config: &'a RtlConfig,
}

impl<'a> Writer<'a> {
    /// An empty module body for design `design`.
    pub(super) fn new(design: &'a str, config: &'a RtlConfig, figures: LayerFigures) -> Self {
        Writer {
            design,
            body: Body::default(),
            figures,
            config,
        }
    }

    pub(super) fn reg(&mut self, stem: &str, sig: &Sig) -> Sig {
        self.figures.register_bits += sig.width as usize;
        self.body.register(stem, sig)
    }

    /// The low `width` bits of the signal `name`, registered; returns the register's name.
    pub(super) fn reg_low(&mut self, stem: &str, name: &str, width: u32) -> String {
        self.figures.register_bits += width as usize;
        let reg = self.body.fresh(stem);
        self.body
            .reg(&reg, width, &format!("{name}[{}:0]", width - 1));
        reg
    }

    /// `x · c` exactly, with `frac` fraction bits.
    pub(super) fn product(&mut self, stem: &str, x: &Sig, c: i128, frac: i32) -> Sig {
        let width = x.width + signed_bits(c);
        if c == 0 {
            return self.body.wire_sig(stem, 1, frac, "1'sb0");
        }
        let mut digits = csd_digits(c);
        // x at the product's width, so that every operand below has it
        let x = &self
            .body
            .wire_sig(&format!("{stem}_x"), width, x.frac, &extended(x, width));
        let shifted = |shift: u32| {
            if shift == 0 {
                x.name.clone()
            } else {
                format!("{{{}[{}:0], {shift}'b0}}", x.name, width - 1 - shift)
            }
        };
        let style = style(self.config, digits.len());
        if style == Style::Multiplier && digits.len() > 1 {
            self.figures.multipliers += 1;
            let expr = format!("{} * {}", x.name, literal(c, width));
            return self.body.wire_sig(stem, width, frac, &expr);
        }
        if digits.len() == 1 {
            self.figures.shifts += 1;
        } else {
            self.figures.shift_add_products += 1;
        }
        // a positive digit first, then one adder per further digit, lowest shift first: each adder spans only
        // the bits above the zeros its shifted term ends in
        digits.sort_by_key(|&(shift, negative)| (negative, shift));
        let (first, negative) = digits[0];
        let mut sum = if negative {
            let zero = format!("{width}'d0");
            self.add(stem, width, (&zero, width), (&shifted(first), first), true)
        } else {
            (shifted(first), first)
        };
        digits[1..].sort_by_key(|&(shift, _)| shift);
        for &(shift, negative) in &digits[1..] {
            sum = self.add(
                stem,
                width,
                (&sum.0, sum.1),
                (&shifted(shift), shift),
                negative,
            );
        }
        self.body
            .wire_sig(stem, width, frac, &format!("$signed({})", sum.0))
    }

    /// `a ± b` in `width` bits through the design's adder module, for operands that end in `ta` and `tb` zero
    /// bits. The low bits below the zeros of the subtrahend (or of either addend) are the other operand's, so the
    /// adder spans only the bits above them. Returns the sum's wire and its trailing zeros.
    pub(super) fn add(
        &mut self,
        stem: &str,
        width: u32,
        (a, ta): (&str, u32),
        (b, tb): (&str, u32),
        subtract: bool,
    ) -> (String, u32) {
        self.figures.adders += 1;
        let ((a, ta), (b, tb)) = match !subtract && ta > tb {
            true => ((b, tb), (a, ta)),
            false => ((a, ta), (b, tb)),
        };
        let split = tb.min(width - 1);
        let name = self.body.fresh(stem);
        let adder = |a: &str, b: &str, y: &str, w: u32| {
            format!(
                "{}_add #(.W({w}), .SUB({})) {name}_i (.a({a}), .b({b}), .y({y}));",
                self.design,
                u8::from(subtract)
            )
        };
        if split == 0 {
            let line = adder(a, b, &name, width);
            self.body
                .line(&format!("wire [{}:0] {name};\n  {line}", width - 1));
        } else {
            let a = self.body.wire_sig(&format!("{name}_a"), width, 0, a).name;
            let b = self.body.wire_sig(&format!("{name}_b"), width, 0, b).name;
            let high = |n: &str| format!("{n}[{}:{split}]", width - 1);
            let line = adder(&high(&a), &high(&b), &high(&name), width - split);
            self.body.line(&format!(
                "wire [{}:0] {name};\n  {line}\n  assign {name}[{}:0] = {a}[{}:0];",
                width - 1,
                split - 1,
                split - 1
            ));
        }
        (name, ta.min(tb))
    }

    /// `acc + term` (codes of the accumulator `accum`), fitted to it with its overflow mode: one step of the
    /// reference's `mac`.
    pub(super) fn add_fitted(
        &mut self,
        stem: &str,
        acc: &Sig,
        term: &Sig,
        accum: FixedFormat,
    ) -> Sig {
        self.figures.adders += 1;
        let width = acc.width.max(term.width) + 1;
        let expr = format!("{} + {}", extended(acc, width), extended(term, width));
        let sum = self
            .body
            .wire_sig(&format!("{stem}_sum"), width, acc.frac, &expr);
        convert(&mut self.body, stem, &sum, accum)
    }

    /// `y`, the module's output port: each of `outputs`' low `width` bits in turn.
    pub(super) fn assign_outputs(&mut self, outputs: &[Sig], width: usize) {
        for (o, y) in outputs.iter().enumerate() {
            self.body.line(&format!(
                "assign y[{}:{}] = {}[{}:0];",
                (o + 1) * width - 1,
                o * width,
                y.name,
                width - 1
            ));
        }
    }

    /// The output codes of the accumulators `accs`, finished and registered.
    pub(super) fn finish_all(&mut self, accs: &[Sig], l: &LayerDesign) -> Vec<Sig> {
        accs.iter()
            .enumerate()
            .map(|(o, acc)| {
                let y = self.finish(acc, l);
                self.reg(&format!("y{o}_r"), &y)
            })
            .collect()
    }

    /// The output code of an accumulator code: result conversion, then the activation.
    pub(super) fn finish(&mut self, acc: &Sig, l: &LayerDesign) -> Sig {
        let f = &l.fixed;
        let result = convert(&mut self.body, "res", acc, f.result);
        let Some(out) = f.activation else {
            return result;
        };
        let positive = convert(&mut self.body, "pos", &result, out);
        let negative = match f
            .alpha
            .filter(|_| matches!(l.activation, Activation::LeakyRelu { .. }))
        {
            Some(alpha) => {
                let frac = result.frac + alpha.format.frac_bits();
                let scaled = self.product("leak", &result, alpha.code as i128, frac);
                convert(&mut self.body, "neg", &scaled, out)
            }
            None => Sig {
                name: literal(0, code_width(out)),
                width: code_width(out),
                frac: out.frac_bits(),
            },
        };
        let expr = format!(
            "({} > {}) ? {} : {}",
            result.name,
            literal(0, result.width),
            positive.name,
            negative.name
        );
        self.body
            .wire_sig("act", code_width(out), out.frac_bits(), &expr)
    }
}

/// The module of dense layer `k` (1-based) of design `name`.
pub fn dense_module(
    name: &str,
    k: usize,
    l: &LayerDesign,
    config: &RtlConfig,
    period_ns: f64,
) -> LayerModule {
    let f = &l.fixed;
    let (n, m) = (l.inputs, l.outputs);
    let (wi, wo) = (l.input.width as usize, l.output().width as usize);
    let saturating = !order_free(f.accum);
    let levels_per_stage = config.levels_per_stage.unwrap_or_else(|| {
        // the estimate's delay per adder level, with 40 % of the period left for routing
        ((0.6 * period_ns / adder_level_ns(f.accum.width, saturating)) as usize).max(1)
    });
    let mut w = Writer::new(
        name,
        config,
        LayerFigures {
            layer: k,
            levels_per_stage,
            reuse_factor: 1,
            ..LayerFigures::default()
        },
    );
    let inputs: Vec<Sig> = (0..n)
        .map(|i| {
            let bits = format!("x[{}:{}]", (i + 1) * wi - 1, i * wi);
            from_raw(&mut w.body, &format!("x{i}"), &bits, l.input)
        })
        .collect();
    let product_frac = l.input.frac_bits() + f.weight.frac_bits();
    let start = |o: usize| f.accum.convert(f.bias.exact(f.biases[o] as i128));
    let (outputs, latency) = if saturating {
        chain(&mut w, l, &inputs, product_frac, levels_per_stage, start)
    } else {
        accumulate(&mut w, l, &inputs, product_frac, levels_per_stage, start)
    };
    w.figures.latency = latency;
    w.assign_outputs(&outputs, wo);
    let LayerFigures {
        multipliers,
        shift_add_products,
        shifts,
        shared_sums,
        ..
    } = w.figures;
    let text = format!(
        "// Layer {k}: dense {n}→{m}, {} × {} → accumulator {} → {}{}.\n\
         // Latency {latency} cycles, II 1; {multipliers} multipliers, {shift_add_products} shift-add products, \
         {shifts} shifts, {shared_sums} shared sums; {levels_per_stage} adder levels per stage.\n\
         module {name}_layer{k} (\n  input wire clk,\n  input wire [{}:0] x,\n  output wire [{}:0] y\n);\n{}endmodule\n",
        l.input,
        f.weight,
        f.accum,
        f.result,
        f.activation
            .map(|a| format!(
                ", {} {a}",
                match l.activation {
                    Activation::LeakyRelu { .. } => "LeakyReLU",
                    _ => "ReLU",
                }
            ))
            .unwrap_or_default(),
        n * wi - 1,
        m * wo - 1,
        w.body.finish()
    );
    LayerModule {
        text,
        figures: w.figures,
    }
}

/// The values a product term can take in the accumulator: the product's range over every input code, brought to
/// the accumulator's scale (one more at the top for rounding up), or the accumulator's whole range when that
/// does not fit it.
pub(super) fn term_range(l: &LayerDesign, c: i128, product_frac: i32) -> (i128, i128) {
    let accum = l.fixed.accum;
    let (a, b) = (l.input.min_code() * c, l.input.max_code() * c);
    let (lo, hi) = (a.min(b), a.max(b));
    let drop = product_frac - accum.frac_bits();
    let scaled = if drop > 0 {
        let d = drop.min(127) as u32;
        Some((lo >> d, (hi >> d) + 1))
    } else {
        let factor = 1i128.checked_shl((-drop) as u32).filter(|f| *f > 0);
        factor.and_then(|f| Some((lo.checked_mul(f)?, hi.checked_mul(f)?)))
    };
    match scaled {
        Some((lo, hi)) if lo >= accum.min_code() && hi <= accum.max_code() => (lo, hi),
        _ => (accum.min_code(), accum.max_code()),
    }
}

/// The zero bits a product term by the weight code `c` ends in, in the accumulator: the weight's, moved to the
/// accumulator's scale when the conversion is exact (else none: rounding may set the lowest bit).
pub(super) fn term_zeros(c: i128, product_frac: i32, accum: FixedFormat) -> u32 {
    let up = accum.frac_bits() - product_frac;
    match up >= 0 {
        true => (c.trailing_zeros() as i32 + up).min(127) as u32,
        false => 0,
    }
}

/// Saturating (order-dependent) accumulators: the inputs in the reference's summation order, `levels`
/// additions per stage, each followed by the accumulator's overflow mode; the products of a stage's inputs
/// are registered a stage ahead, from the inputs delayed to meet them.
fn chain(
    w: &mut Writer,
    l: &LayerDesign,
    inputs: &[Sig],
    product_frac: i32,
    levels: usize,
    start: impl Fn(usize) -> i128,
) -> (Vec<Sig>, usize) {
    let accum = l.fixed.accum;
    let order = summation_order(l.inputs, l.order_reuse_factor);
    let groups: Vec<&[usize]> = order.chunks(levels).collect();
    let cw = code_width(accum);
    let mut accs: Vec<Sig> = (0..l.outputs)
        .map(|o| {
            let c = literal(start(o), cw);
            w.body
                .wire_sig(&format!("acc{o}_0"), cw, accum.frac_bits(), &c)
        })
        .collect();
    let mut delayed: Vec<Sig> = inputs.to_vec();
    let mut terms: Vec<Vec<Sig>> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        if g > 0 {
            // inputs still to come move one stage on
            let later: Vec<usize> = groups[g..]
                .iter()
                .flat_map(|grp| grp.iter().copied())
                .collect();
            for &i in &later {
                delayed[i] = w.reg(&format!("x{i}_d{g}"), &delayed[i]);
            }
        }
        // this group's products, registered
        let mut next_terms = Vec::new();
        for o in 0..l.outputs {
            let mut ts = Vec::new();
            for &i in group.iter() {
                let c = l.weight(i, o) as i128;
                if c == 0 {
                    continue;
                }
                let p = w.product(&format!("p{i}_{o}"), &delayed[i], c, product_frac);
                let term = convert(&mut w.body, &format!("t{i}_{o}"), &p, accum);
                ts.push(w.reg(&format!("t{i}_{o}_r"), &term));
            }
            next_terms.push(ts);
        }
        // the previous group's additions, in order, each one fitted
        if g > 0 {
            add_group(w, &mut accs, &terms, accum);
        }
        terms = next_terms;
    }
    add_group(w, &mut accs, &terms, accum);
    (w.finish_all(&accs, l), groups.len() + 2)
}

/// Adds each output's registered terms to its accumulator in order, fitting after every addition, and
/// registers the accumulators.
fn add_group(w: &mut Writer, accs: &mut [Sig], terms: &[Vec<Sig>], accum: FixedFormat) {
    for (o, (acc, ts)) in accs.iter_mut().zip(terms).enumerate() {
        let a = ts.iter().fold(acc.clone(), |a, t| {
            w.add_fitted(&format!("acc{o}"), &a, t, accum)
        });
        *acc = w.reg(&format!("acc{o}_r"), &a);
    }
}

//! One dense layer time-multiplexed by its reuse factor `R` (the resource strategy): `n·m/R` multipliers fed
//! each step from step-indexed input and weight selections, one frame every `R` cycles, each output adding its
//! products in the reference's summation order with the accumulator's overflow after every addition.

use super::RtlConfig;
use super::dense::{LayerFigures, LayerModule, Writer};
use super::top::clog2;
use super::verilog::{Sig, code_width, convert, from_raw, literal};
use crate::design::LayerDesign;
use baler_core::fixed::FixedFormat;
use std::collections::HashMap;

/// The module `<name>_layer<k>` for a layer whose reuse factor is above 1: it starts a frame when `start` is
/// high (its input then valid), and its output is valid `LayerFigures::latency` cycles later.
pub fn reuse_module(name: &str, k: usize, l: &LayerDesign, config: &RtlConfig) -> LayerModule {
    let f = &l.fixed;
    let (n, m, rf) = (l.inputs, l.outputs, l.steps());
    let (wi, wo) = (l.input.width as usize, l.output().width as usize);
    let mut w = Writer::new(
        name,
        config,
        LayerFigures {
            layer: k,
            reuse_factor: rf,
            ..LayerFigures::default()
        },
    );
    let sw = clog2(rf) as u32;
    let step = |r: usize| format!("{sw}'d{r}");
    // the frame, held while its steps run; the step counter
    w.body.line(&format!(
        "reg [{}:0] xr;\n  always @(posedge clk) if (start) xr <= x;\n  reg [{}:0] step;\n  reg busy;\n  \
         always @(posedge clk)\n    if (start) begin\n      step <= {sw}'d0;\n      busy <= 1'b1;\n    \
         end else if (busy) begin\n      step <= step + {sw}'d1;\n      if (step == {}) busy <= 1'b0;\n    end",
        n * wi - 1,
        sw - 1,
        step(rf - 1)
    ));
    w.figures.register_bits += n * wi + sw as usize + 1;
    let inputs: Vec<Sig> = (0..n)
        .map(|i| {
            let bits = format!("xr[{}:{}]", (i + 1) * wi - 1, i * wi);
            from_raw(&mut w.body, &format!("x{i}"), &bits, l.input)
        })
        .collect();
    // the steps' lanes: (input, output) of each multiplier at each step
    let lanes: Vec<Vec<(usize, usize)>> = (0..rf).map(|r| l.step_lanes(r)).collect();
    let count = lanes[0].len();
    let weight_width = code_width(f.weight);
    let input_width = code_width(l.input);
    // step 1: each lane's operands, selected by the step and registered (one input selection per sequence of
    // inputs, shared by the lanes that take it); the step travels along
    let mut chosen: HashMap<Vec<usize>, Sig> = HashMap::new();
    let mut products = Vec::new();
    for lane in 0..count {
        let sequence: Vec<usize> = lanes.iter().map(|step| step[lane].0).collect();
        let a = match chosen.get(&sequence) {
            Some(a) => a.clone(),
            None => {
                let names: Vec<String> = sequence.iter().map(|&i| inputs[i].name.clone()).collect();
                let a = select(
                    &mut w,
                    &format!("a{lane}"),
                    input_width,
                    ("step", sw),
                    &names,
                );
                let a = w.reg(
                    &format!("a{lane}_r"),
                    &Sig {
                        frac: l.input.frac_bits(),
                        ..a
                    },
                );
                chosen.insert(sequence, a.clone());
                a
            }
        };
        let weights: Vec<String> = lanes
            .iter()
            .map(|step| literal(l.weight(step[lane].0, step[lane].1) as i128, weight_width))
            .collect();
        let c = select(
            &mut w,
            &format!("c{lane}"),
            weight_width,
            ("step", sw),
            &weights,
        );
        let c = w.reg(
            &format!("c{lane}_r"),
            &Sig {
                frac: f.weight.frac_bits(),
                ..c
            },
        );
        // step 2: the product, registered (the DSP's product register). Both operands are signed registers, so
        // the product is signed and exact at its width. (As a product of unsigned concatenations, exact only in
        // its low bits, yosys 0.23 packed it with the accumulator's adder into a DSP48E1 whose full product's upper
        // bits are not the sign extension that follows: the gate-level netlist computed other codes.)
        w.figures.multipliers += 1;
        let width = input_width + weight_width;
        let expr = format!("{} * {}", a.name, c.name);
        let p = w
            .body
            .wire_sig(&format!("p{lane}"), width, a.frac + c.frac, &expr);
        products.push(w.reg(&format!("p{lane}_r"), &p));
    }
    // the step at each later stage of the pipeline, valid while `busy` was
    w.body.line(&format!(
        "reg [{s}:0] step_1, step_2;\n  reg busy_1, busy_2;\n  always @(posedge clk) begin\n    \
         step_1 <= step;\n    step_2 <= step_1;\n    busy_1 <= busy;\n    busy_2 <= busy_1;\n  end\n  \
         wire first_2 = busy_2 & ({});",
        (0..rf)
            .step_by(n)
            .map(|r| format!("step_2 == {sw}'d{r}"))
            .collect::<Vec<_>>()
            .join(" | "),
        s = sw - 1
    ));
    w.figures.register_bits += 2 * (sw as usize + 1);
    let accum = f.accum;
    let start = |o: usize| accum.convert(f.bias.exact(f.biases[o] as i128));
    let cw = code_width(accum);
    let (outputs, latency) = if rf <= n {
        // step 3: every output adds its n/R products of the step, in order, to its accumulator
        let accs: Vec<Sig> = (0..m)
            .map(|o| accumulator(&mut w, &format!("acc{o}"), accum))
            .collect();
        for (o, acc) in accs.iter().enumerate() {
            let base = w.body.wire_sig(
                &format!("base{o}"),
                cw,
                accum.frac_bits(),
                &format!("first_2 ? {} : {}", literal(start(o), cw), acc.name),
            );
            let terms: Vec<Sig> = (0..count)
                .filter(|lane| lanes[0][*lane].1 == o)
                .map(|lane| products[lane].clone())
                .collect();
            let next = add_in_order(&mut w, &format!("n{o}"), &base, &terms, accum);
            w.body.line(&format!(
                "reg signed [{}:0] {};\n  always @(posedge clk) {} <= {};",
                cw - 1,
                acc.name,
                acc.name,
                next.name
            ));
        }
        // step 4: the finish of the last step's sums, registered
        (w.finish_all(&accs, l), rf + 4)
    } else {
        // step 3: each lane adds its product to its block's sum, from the bias at the block's first input
        let block = count;
        let sums: Vec<Sig> = (0..block)
            .map(|j| accumulator(&mut w, &format!("sum{j}"), accum))
            .collect();
        for (j, sum) in sums.iter().enumerate() {
            let biases: Vec<String> = (0..rf)
                .map(|r| literal(start((r / n) * block + j), cw))
                .collect();
            let bias = select(&mut w, &format!("bias{j}"), cw, ("step_2", sw), &biases);
            let expr = format!("first_2 ? {} : {}", bias.name, sum.name);
            let base = w
                .body
                .wire_sig(&format!("base{j}"), cw, accum.frac_bits(), &expr);
            let next = add_in_order(
                &mut w,
                &format!("n{j}"),
                &base,
                &[products[j].clone()],
                accum,
            );
            w.body.line(&format!(
                "reg signed [{}:0] {};\n  always @(posedge clk) {} <= {};",
                cw - 1,
                sum.name,
                sum.name,
                next.name
            ));
        }
        // step 4: each block's sums kept once its last input is in, then all finished together
        w.body.line(&format!(
            "reg [{}:0] step_3;\n  reg busy_3;\n  always @(posedge clk) begin\n    step_3 <= step_2;\n    \
             busy_3 <= busy_2;\n  end",
            sw - 1
        ));
        w.figures.register_bits += sw as usize + 1;
        let mut accs = Vec::new();
        for o in 0..m {
            let (b, j) = (o / block, o % block);
            let acc = w.body.fresh(&format!("acc{o}"));
            w.body.line(&format!(
                "reg signed [{}:0] {acc};\n  always @(posedge clk) if (busy_3 & (step_3 == {sw}'d{})) {acc} <= {};",
                cw - 1,
                b * n + n - 1,
                sums[j].name
            ));
            w.figures.register_bits += cw as usize;
            accs.push(Sig {
                name: acc,
                width: cw,
                frac: accum.frac_bits(),
            });
        }
        (w.finish_all(&accs, l), rf + 5)
    };
    w.figures.latency = latency;
    w.assign_outputs(&outputs, wo);
    let text = format!(
        "// Layer {k}: dense {n}→{m}, {} × {} → accumulator {} → {}, reuse factor {rf}: {count} multipliers, one \
         frame every {rf} cycles.\n// Latency {latency} cycles from start.\n\
         module {name}_layer{k} (\n  input wire clk,\n  input wire start,\n  input wire [{}:0] x,\n  \
         output wire [{}:0] y\n);\n{}endmodule\n",
        l.input,
        f.weight,
        f.accum,
        f.result,
        n * wi - 1,
        m * wo - 1,
        w.body.finish()
    );
    LayerModule {
        text,
        figures: w.figures,
    }
}

/// A `width`-bit signal holding the `r`-th of `choices` while `selector` (a `bits`-bit step) is `r`.
fn select(
    w: &mut Writer,
    stem: &str,
    width: u32,
    (selector, bits): (&str, u32),
    choices: &[String],
) -> Sig {
    let name = w.body.fresh(stem);
    let mut cases = String::new();
    for (r, choice) in choices.iter().enumerate() {
        cases.push_str(&format!("      {bits}'d{r}: {name} = {choice};\n"));
    }
    w.body.line(&format!(
        "reg signed [{}:0] {name};\n  always @*\n    case ({selector})\n{cases}      default: {name} = {};\n    endcase",
        width - 1,
        literal(0, width)
    ));
    Sig {
        name,
        width,
        frac: 0,
    }
}

/// `base` plus each of `terms` (products) in order, each product first converted to the accumulator and every
/// sum fitted to it, as the reference's `mac` does.
fn add_in_order(w: &mut Writer, stem: &str, base: &Sig, terms: &[Sig], accum: FixedFormat) -> Sig {
    terms.iter().enumerate().fold(base.clone(), |a, (t, p)| {
        let term = convert(&mut w.body, &format!("{stem}_t{t}"), p, accum);
        w.add_fitted(stem, &a, &term, accum)
    })
}

/// A new accumulator register's name and shape (declared by its caller with its update), counted.
fn accumulator(w: &mut Writer, stem: &str, accum: FixedFormat) -> Sig {
    let width = code_width(accum);
    w.figures.register_bits += width as usize;
    Sig {
        name: w.body.fresh(stem),
        width,
        frac: accum.frac_bits(),
    }
}

//! The layer functions of a generated network: dense layers in the latency strategy (fully unrolled) or the
//! resource strategy (a loop of RF steps), and convolutions (one output position per RF pipelined iterations).

use crate::cpp::{CppWriter, Pragma, int_literal};
use crate::design::{Convolution, LayerDesign, LayerKind, Strategy};
use crate::types::{code_type, container, input_ty, layer_summary, ty};
use baler_core::Activation;

/// The macro that selects `ap_int` ROMs: set in synthesis, and by C simulation's `ap_int_roms`.
pub const AP_INT_ROMS: &str = "BALER_AP_INT_ROMS";

/// `static void layerK(in, out)` for layer `k` (1-based).
pub fn layer_function(w: &mut CppWriter, k: usize, l: &LayerDesign) {
    match (l.kind, l.strategy) {
        (LayerKind::Conv(c), _) => conv_layer(w, k, l, c),
        (LayerKind::Dense, Strategy::Latency) => latency_layer(w, k, l),
        (LayerKind::Dense, Strategy::Resource) => resource_layer(w, k, l),
    }
}

fn layer_head(w: &mut CppWriter, k: usize, l: &LayerDesign) -> String {
    w.comment(layer_summary(k, l));
    format!(
        "static void layer{k}(const {} in[{}], {} out[{}])",
        input_ty(k),
        l.inputs,
        ty(k, ""),
        l.outputs
    )
}

/// The weight and bias ROMs: `ap_int` codes for synthesis (and C simulation with `BALER_AP_INT_ROMS`), the same
/// codes as plain C integers in C simulation, where g++ takes ~15× longer over tens of thousands of `ap_int`
/// initialisers.
fn roms(w: &mut CppWriter, k: usize, l: &LayerDesign, weight_dims: &str) {
    let f = &l.fixed;
    for (array, dims, format, file) in [
        ("w", weight_dims.to_string(), f.weight, "w"),
        ("b", format!("[{}]", f.biases.len()), f.bias, "b"),
    ] {
        w.line(format!("#ifdef {AP_INT_ROMS}"));
        w.line(format!(
            "static const {} {array}{dims} = {{",
            code_type(format)
        ));
        w.line("#else");
        w.line(format!(
            "static const {} {array}{dims} = {{",
            container(format)
        ));
        w.line("#endif");
        w.line(format!("#include \"weights/layer{k}_{file}.h\""));
        w.line("};");
    }
}

/// `target = activation(result_t(acc))`.
fn finish_line(k: usize, l: &LayerDesign, target: &str, acc: &str) -> String {
    let result = format!("{}({acc})", ty(k, "result"));
    match l.activation {
        Activation::Linear => format!("{target} = {result};"),
        Activation::Relu => format!("{target} = baler::relu<{}>({result});", ty(k, "")),
        Activation::LeakyRelu { .. } => {
            let alpha = l.fixed.alpha.expect("validated LeakyReLU has alpha");
            format!(
                "{target} = baler::leaky_relu<{}>({result}, baler::from_code<{}>({}));",
                ty(k, ""),
                ty(k, "alpha"),
                int_literal(alpha.code)
            )
        }
    }
}

fn mac_line(k: usize, acc: &str, input: &str, weight: &str) -> String {
    format!(
        "{acc} += {}({input} * baler::from_code<{}>({weight}));",
        ty(k, "accum"),
        ty(k, "weight")
    )
}

fn latency_layer(w: &mut CppWriter, k: usize, l: &LayerDesign) {
    let head = layer_head(w, k, l);
    let (n, m, order) = (l.inputs, l.outputs, l.order_reuse_factor);
    w.block(head, |w| {
        w.pragma(Pragma::InlineOff);
        w.pragma(Pragma::Pipeline { ii: 1 });
        roms(w, k, l, &format!("[{}]", n * m));
        w.block(format!("for (int o = 0; o < {m}; o++)"), |w| {
            w.pragma(Pragma::Unroll);
            w.line(format!(
                "{} acc = baler::from_code<{}>(b[o]);",
                ty(k, "accum"),
                ty(k, "bias")
            ));
            let mac = mac_line(k, "acc", "in[i]", &format!("w[i * {m} + o]"));
            if order <= 1 || order >= n {
                w.block(format!("for (int i = 0; i < {n}; i++)"), |w| {
                    w.pragma(Pragma::Unroll);
                    w.line(&mac);
                });
            } else {
                w.comment(format!(
                    "inputs in stride-{order} groups, as the quantised model adds them"
                ));
                w.block(format!("for (int r = 0; r < {order}; r++)"), |w| {
                    w.pragma(Pragma::Unroll);
                    w.block(format!("for (int i = r; i < {n}; i += {order})"), |w| {
                        w.pragma(Pragma::Unroll);
                        w.line(&mac);
                    });
                });
            }
            w.line(finish_line(k, l, "out[o]", "acc"));
        });
    });
}

fn resource_layer(w: &mut CppWriter, k: usize, l: &LayerDesign) {
    let head = layer_head(w, k, l);
    let (n, m, rf, lanes) = (l.inputs, l.outputs, l.reuse_factor, l.lanes());
    w.block(head, |w| {
        w.pragma(Pragma::InlineOff);
        roms(w, k, l, &format!("[{rf}][{lanes}]"));
        if rf > 1 {
            w.pragma(Pragma::RomInBram("w".into()));
        }
        w.pragma(Pragma::Reshape {
            variable: "w".into(),
            dim: 2,
        });
        w.line(format!("{} acc[{m}];", ty(k, "accum")));
        w.pragma(Pragma::Partition("acc".into()));
        w.block(format!("for (int o = 0; o < {m}; o++)"), |w| {
            w.pragma(Pragma::Unroll);
            w.line(format!(
                "acc[o] = baler::from_code<{}>(b[o]);",
                ty(k, "bias")
            ));
        });
        w.block(format!("reuse: for (int r = 0; r < {rf}; r++)"), |w| {
            w.pragma(Pragma::Pipeline { ii: 1 });
            if rf <= n {
                w.comment(format!("inputs r, r+{rf}, … times every weight column"));
                w.block(format!("for (int j = 0; j < {}; j++)", n / rf), |w| {
                    w.pragma(Pragma::Unroll);
                    w.block(format!("for (int o = 0; o < {m}; o++)"), |w| {
                        w.pragma(Pragma::Unroll);
                        w.line(mac_line(
                            k,
                            "acc[o]",
                            &format!("in[r + j * {rf}]"),
                            &format!("w[r][j * {m} + o]"),
                        ));
                    });
                });
            } else {
                w.comment(format!(
                    "input r % {n} times the r / {n}-th block of {lanes} outputs"
                ));
                w.block(format!("for (int j = 0; j < {lanes}; j++)"), |w| {
                    w.pragma(Pragma::Unroll);
                    w.line(mac_line(
                        k,
                        &format!("acc[(r / {n}) * {lanes} + j]"),
                        &format!("in[r % {n}]"),
                        "w[r][j]",
                    ));
                });
            }
        });
        w.block(format!("for (int o = 0; o < {m}; o++)"), |w| {
            w.pragma(Pragma::Unroll);
            w.line(finish_line(k, l, "out[o]", "acc[o]"));
        });
    });
}

/// A convolution: for every output position, `RF` pipelined iterations each computing `channels / RF` output
/// values with all their taps unrolled, adding in the reference's (input channel, ky, kx) order and skipping
/// taps outside the input. The input and output are banked by channel (the caller partitions them); one ROM word
/// holds the weights of the channels an iteration computes.
fn conv_layer(w: &mut CppWriter, k: usize, l: &LayerDesign, c: Convolution) {
    let head = layer_head(w, k, l);
    let ([ic_n, h, wd], [oc_n, oh, ow], kk) = (c.input, c.output, c.kernel);
    let (rf, taps) = (l.reuse_factor, c.taps());
    let block = oc_n / rf;
    let (s, p) = (c.stride, c.padding);
    let value = |w: &mut CppWriter| {
        w.line(format!(
            "{} acc = baler::from_code<{}>(b[oc]);",
            ty(k, "accum"),
            ty(k, "bias")
        ));
        w.block(format!("for (int ic = 0; ic < {ic_n}; ic++)"), |w| {
            w.pragma(Pragma::Unroll);
            w.block(format!("for (int ky = 0; ky < {kk}; ky++)"), |w| {
                w.pragma(Pragma::Unroll);
                source_lines(w, c.transposed, "y", s, p, h);
                w.block(format!("for (int kx = 0; kx < {kk}; kx++)"), |w| {
                    w.pragma(Pragma::Unroll);
                    source_lines(w, c.transposed, "x", s, p, wd);
                    w.line(mac_line(
                        k,
                        "acc",
                        &format!("in[(ic * {h} + iy) * {wd} + ix]"),
                        &format!("w[((oc * {ic_n} + ic) * {kk} + ky) * {kk} + kx]"),
                    ));
                });
            });
        });
        w.line(finish_line(
            k,
            l,
            &format!("out[(oc * {oh} + oy) * {ow} + ox]"),
            "acc",
        ));
    };
    w.block(head, |w| {
        w.pragma(Pragma::InlineOff);
        roms(w, k, l, &format!("[{}]", oc_n * taps));
        if rf > 1 {
            w.pragma(Pragma::RomInBram("w".into()));
        }
        w.pragma(Pragma::ReshapeCyclic {
            variable: "w".into(),
            factor: taps * block,
        });
        w.block(format!("for (int oy = 0; oy < {oh}; oy++)"), |w| {
            w.block(format!("for (int ox = 0; ox < {ow}; ox++)"), |w| {
                if rf == 1 {
                    w.pragma(Pragma::Pipeline {
                        ii: c.cycles_per_iteration(),
                    });
                    w.block(format!("for (int oc = 0; oc < {oc_n}; oc++)"), |w| {
                        w.pragma(Pragma::Unroll);
                        value(w);
                    });
                } else {
                    w.block(format!("for (int r = 0; r < {rf}; r++)"), |w| {
                        w.pragma(Pragma::Pipeline {
                            ii: c.cycles_per_iteration(),
                        });
                        w.block(format!("for (int j = 0; j < {block}; j++)"), |w| {
                            w.pragma(Pragma::Unroll);
                            w.line(format!("int oc = r * {block} + j;"));
                            value(w);
                        });
                    });
                }
            });
        });
    });
}

/// `int iy = …; if (outside) continue;` for axis `y` or `x`: the input position a tap reads.
fn source_lines(w: &mut CppWriter, transposed: bool, axis: &str, s: usize, p: usize, size: usize) {
    if transposed {
        w.line(format!("int t{axis} = o{axis} + {p} - k{axis};"));
        w.line(format!(
            "if (t{axis} < 0 || t{axis} % {s} != 0 || t{axis} / {s} >= {size}) continue;"
        ));
        w.line(format!("int i{axis} = t{axis} / {s};"));
    } else {
        w.line(format!("int i{axis} = o{axis} * {s} + k{axis} - {p};"));
        w.line(format!("if (i{axis} < 0 || i{axis} >= {size}) continue;"));
    }
}

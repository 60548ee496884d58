//! Whole quantised networks (dense, convolutional, ReLU/LeakyReLU/linear, wrapping and saturating
//! accumulators, reuse-factor summation orders) run by the Rust reference and by C++ with the real
//! `ap_fixed` types on random frames: the output codes must agree bit for bit.

mod common;

use baler_core::fixed::{FixedFormat, Overflow, Quantization};
use baler_core::quantized::{FixedConstant, FixedLayer, QuantizedLayer, QuantizedNetwork};
use baler_core::{Activation, LayerSpec, NetworkSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write;

const FRAMES: usize = 1500;

/// The formats of one configuration; `None` draws random ones per layer.
#[derive(Clone, Copy)]
struct Formats {
    weight: &'static str,
    accum: &'static str,
    result: &'static str,
    activation: &'static str,
    reuse_factor: usize,
}

const HLS4ML_DEFAULT: Formats = Formats {
    weight: "ap_fixed<16,6>",
    accum: "ap_fixed<16,6>",
    result: "ap_fixed<16,6>",
    activation: "ap_fixed<16,6>",
    reuse_factor: 1,
};
const SATURATING: Formats = Formats {
    weight: "ap_fixed<8,1,AP_RND_CONV>",
    accum: "ap_fixed<12,3,AP_RND,AP_SAT>",
    result: "ap_fixed<10,3,AP_RND_INF,AP_SAT_SYM>",
    activation: "ap_ufixed<9,3,AP_RND,AP_SAT>",
    reuse_factor: 1,
};
const SATURATING_RF3: Formats = Formats {
    reuse_factor: 3,
    ..SATURATING
};
const ODD_WIDTHS: Formats = Formats {
    weight: "ap_fixed<18,8,AP_RND_ZERO>",
    accum: "ap_fixed<31,9,AP_TRN_ZERO,AP_WRAP,2>",
    result: "ap_fixed<13,5,AP_RND_MIN_INF,AP_SAT_ZERO>",
    activation: "ap_fixed<11,4,AP_RND_CONV,AP_SAT>",
    reuse_factor: 2,
};

fn parse(s: &str) -> FixedFormat {
    s.parse().unwrap()
}

fn random_format(
    rng: &mut StdRng,
    width: std::ops::RangeInclusive<u32>,
    signed: bool,
) -> FixedFormat {
    let width = rng.random_range(width);
    FixedFormat {
        signed,
        width,
        int_bits: rng.random_range(1..=6.min(width as i32)),
        quantization: Quantization::ALL[rng.random_range(0..7)],
        overflow: Overflow::ALL[rng.random_range(0..4)],
        saturation_bits: 0,
    }
}

fn fixed_layer(rng: &mut StdRng, spec: &LayerSpec, formats: Option<Formats>) -> FixedLayer {
    let (weight_shape, biases) = spec.param_shapes().unwrap();
    let (weight, bias, accum, result, activation, reuse_factor) = match formats {
        Some(f) => (
            parse(f.weight),
            parse(f.weight),
            parse(f.accum),
            parse(f.result),
            parse(f.activation),
            f.reuse_factor,
        ),
        None => {
            let unsigned_activation = rng.random_bool(0.5);
            (
                random_format(rng, 4..=18, true),
                random_format(rng, 4..=18, true),
                random_format(rng, 8..=40, true),
                random_format(rng, 6..=20, true),
                random_format(rng, 6..=20, !unsigned_activation),
                rng.random_range(1..=4),
            )
        }
    };
    let code =
        |rng: &mut StdRng, f: FixedFormat| rng.random_range(f.min_code()..=f.max_code()) as i64;
    let activation_kind = spec.activation();
    FixedLayer {
        weight,
        bias,
        accum,
        result,
        activation: (activation_kind != Activation::Linear).then_some(activation),
        alpha: match activation_kind {
            Activation::LeakyRelu { alpha } => {
                let format = parse("ap_ufixed<8,-5,AP_RND>");
                Some(FixedConstant {
                    format,
                    code: format.from_f64(alpha as f64) as i64,
                })
            }
            _ => None,
        },
        reuse_factor,
        weights: (0..weight_shape.iter().product::<usize>())
            .map(|_| code(rng, weight))
            .collect(),
        biases: (0..biases).map(|_| code(rng, bias)).collect(),
    }
}

fn quantize(
    rng: &mut StdRng,
    spec: &NetworkSpec,
    formats: Option<Formats>,
    input: &str,
) -> QuantizedNetwork {
    QuantizedNetwork {
        input_shape: spec.input_shape.clone(),
        input: parse(input),
        layers: spec
            .layers
            .iter()
            .map(|l| QuantizedLayer {
                spec: *l,
                fixed: l.param_shapes().map(|_| fixed_layer(rng, l, formats)),
            })
            .collect(),
    }
}

fn dense(inputs: usize, outputs: usize, activation: Activation) -> LayerSpec {
    LayerSpec::Dense {
        inputs,
        outputs,
        activation,
    }
}

/// The default jet autoencoder's encoder shape, a small FPGA encoder and a convolutional field model.
fn networks() -> Vec<(&'static str, NetworkSpec)> {
    let leaky = Activation::LeakyRelu { alpha: 0.01 };
    vec![
        (
            "jet encoder 9-200-100-50-5 LeakyReLU",
            NetworkSpec {
                input_shape: vec![9],
                layers: vec![
                    dense(9, 200, leaky),
                    dense(200, 100, leaky),
                    dense(100, 50, leaky),
                    dense(50, 5, Activation::Linear),
                ],
            },
        ),
        (
            "fpga-small autoencoder 9-32-16-4-16-32-9 ReLU",
            NetworkSpec {
                input_shape: vec![9],
                layers: vec![
                    dense(9, 32, Activation::Relu),
                    dense(32, 16, Activation::Relu),
                    dense(16, 4, Activation::Linear),
                    dense(4, 16, Activation::Relu),
                    dense(16, 32, Activation::Relu),
                    dense(32, 9, Activation::Linear),
                ],
            },
        ),
        (
            "conv autoencoder 1x9x9",
            NetworkSpec {
                input_shape: vec![1, 9, 9],
                layers: vec![
                    LayerSpec::Conv2d {
                        in_channels: 1,
                        out_channels: 3,
                        kernel: 3,
                        stride: 1,
                        padding: 1,
                        activation: Activation::Relu,
                    },
                    LayerSpec::Conv2d {
                        in_channels: 3,
                        out_channels: 2,
                        kernel: 3,
                        stride: 2,
                        padding: 1,
                        activation: leaky,
                    },
                    LayerSpec::Flatten,
                    dense(50, 6, Activation::Linear),
                    dense(6, 50, Activation::Relu),
                    LayerSpec::Unflatten {
                        channels: 2,
                        height: 5,
                        width: 5,
                    },
                    LayerSpec::ConvTranspose2d {
                        in_channels: 2,
                        out_channels: 1,
                        kernel: 3,
                        stride: 2,
                        padding: 1,
                        output_padding: [0, 0],
                        activation: Activation::Linear,
                    },
                ],
            },
        ),
    ]
}

fn codes_array(name: &str, t: &str, codes: &[i64]) -> String {
    let list: Vec<String> = codes.iter().map(|c| format!("{c}LL")).collect();
    format!(
        "  static {t} {name}[{n}]; {{ static const long long c[] = {{{}}}; for (int i = 0; i < {n}; ++i) {name}[i] = from_code<{t}>(c[i]); }}\n",
        list.join(","),
        n = codes.len()
    )
}

/// A C++ function `run_<index>(const double* in, unsigned long long* out)` for the network.
fn cpp_network(index: usize, net: &QuantizedNetwork) -> String {
    let shapes = net.spec().shapes().unwrap();
    let mut s = format!("void run_{index}(const double* in, unsigned long long* out) {{\n");
    let size = |shape: &Vec<usize>| shape.iter().product::<usize>();
    writeln!(s, "  typedef {} t_in;", net.input).unwrap();
    writeln!(
        s,
        "  t_in a0[{n}]; for (int i = 0; i < {n}; ++i) a0[i] = in[i];",
        n = size(&shapes[0])
    )
    .unwrap();
    let mut current = ("a0".to_string(), "t_in".to_string());
    for (l, layer) in net.layers.iter().enumerate() {
        let out_n = size(&shapes[l + 1]);
        let Some(f) = &layer.fixed else {
            continue; // reshapes keep the same flat array
        };
        let (input_shape, (x, _)) = (&shapes[l], &current);
        for (name, format) in [
            ("w", f.weight),
            ("b", f.bias),
            ("acc", f.accum),
            ("res", f.result),
        ] {
            writeln!(s, "  typedef {format} t_{name}{l};").unwrap();
        }
        s += &codes_array(&format!("w{l}"), &format!("t_w{l}"), &f.weights);
        s += &codes_array(&format!("b{l}"), &format!("t_b{l}"), &f.biases);
        writeln!(s, "  static t_res{l} r{l}[{out_n}];").unwrap();
        let types = format!("<{}, t_w{l}, t_b{l}, t_acc{l}, t_res{l}>", current.1);
        match layer.spec {
            LayerSpec::Dense {
                inputs, outputs, ..
            } => writeln!(
                s,
                "  dense{types}({x}, w{l}, b{l}, r{l}, {inputs}, {outputs}, {});",
                f.reuse_factor
            ),
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                padding,
                ..
            } => writeln!(
                s,
                "  conv2d{types}({x}, w{l}, b{l}, r{l}, {in_channels}, {out_channels}, {}, {}, {kernel}, {stride}, {padding});",
                input_shape[1], input_shape[2]
            ),
            LayerSpec::ConvTranspose2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                padding,
                output_padding,
                ..
            } => writeln!(
                s,
                "  conv_transpose2d{types}({x}, w{l}, b{l}, r{l}, {in_channels}, {out_channels}, {}, {}, {kernel}, {stride}, {padding}, {}, {});",
                input_shape[1], input_shape[2], output_padding[0], output_padding[1]
            ),
            _ => unreachable!(),
        }
        .unwrap();
        current = (format!("r{l}"), format!("t_res{l}"));
        if let Some(act) = f.activation {
            writeln!(
                s,
                "  typedef {act} t_act{l}; static t_act{l} y{l}[{out_n}];"
            )
            .unwrap();
            match f.alpha {
                Some(alpha) => writeln!(
                    s,
                    "  leaky_relu(r{l}, y{l}, {out_n}, from_code<{}>({}LL));",
                    alpha.format, alpha.code
                ),
                None => writeln!(s, "  relu(r{l}, y{l}, {out_n});"),
            }
            .unwrap();
            current = (format!("y{l}"), format!("t_act{l}"));
        }
    }
    let out_n = size(shapes.last().unwrap());
    writeln!(
        s,
        "  for (int i = 0; i < {out_n}; ++i) out[i] = bits_of({}[i]);\n}}",
        current.0
    )
    .unwrap();
    s
}

#[test]
fn quantized_networks_match_ap_fixed_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(0xba1e_0003);
    let mut models = Vec::new();
    for (name, spec) in networks() {
        let configurations: [(&str, Option<Formats>); 6] = [
            ("hls4ml default ap_fixed<16,6>", Some(HLS4ML_DEFAULT)),
            ("saturating, rf 1", Some(SATURATING)),
            ("saturating, rf 3", Some(SATURATING_RF3)),
            ("odd widths, rf 2", Some(ODD_WIDTHS)),
            ("random formats", None),
            ("random formats", None),
        ];
        for (config, formats) in configurations {
            let input = if formats.is_some() {
                "ap_fixed<12,3,AP_RND,AP_SAT>"
            } else {
                "ap_fixed<10,2>"
            };
            let net = quantize(&mut rng, &spec, formats, input);
            net.validate()
                .unwrap_or_else(|e| panic!("{name}, {config}: {e}"));
            models.push((format!("{name}, {config}"), net));
        }
    }

    let mut source = format!(
        "#include \"{}\"\n#include <cstdio>\n#include <cstring>\n",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cxx/reference_layers.hpp"
        )
    );
    let mut input = String::new();
    let mut expected = Vec::new();
    for (index, (_, net)) in models.iter().enumerate() {
        source += &cpp_network(index, net);
        let n_in: usize = net.input_shape.iter().product();
        for _ in 0..FRAMES {
            let frame: Vec<f64> = (0..n_in).map(|_| rng.random_range(-2.5..2.5)).collect();
            let bits: Vec<String> = frame.iter().map(|v| format!("{:x}", v.to_bits())).collect();
            writeln!(input, "{index} {}", bits.join(" ")).unwrap();
            let output = net.output();
            expected.push(
                net.run(&frame)
                    .iter()
                    .map(|&c| output.to_bits(c) as u64)
                    .collect::<Vec<_>>(),
            );
        }
    }
    source += "int main() {\n  unsigned idx; static double in[4096]; static unsigned long long out[4096];\n  while (scanf(\"%u\", &idx) == 1) {\n    int n_in = 0, n_out = 0;\n    switch (idx) {\n";
    for (index, (_, net)) in models.iter().enumerate() {
        let n_in: usize = net.input_shape.iter().product();
        let n_out: usize = net.spec().output_shape().unwrap().iter().product();
        writeln!(
            source,
            "      case {index}: n_in = {n_in}; n_out = {n_out}; break;"
        )
        .unwrap();
    }
    source += "    }\n    for (int i = 0; i < n_in; ++i) { unsigned long long b; scanf(\"%llx\", &b); std::memcpy(&in[i], &b, 8); }\n    switch (idx) {\n";
    for index in 0..models.len() {
        writeln!(source, "      case {index}: run_{index}(in, out); break;").unwrap();
    }
    source += "    }\n    for (int i = 0; i < n_out; ++i) printf(\"%llx \", out[i]);\n    printf(\"\\n\");\n  }\n  return 0;\n}\n";

    let output = common::compile_and_run("quantized_models", &source, &input);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(
        lines.len(),
        expected.len(),
        "the C++ run printed {} of {} frames",
        lines.len(),
        expected.len()
    );
    let mut mismatches = Vec::new();
    for (frame, (line, want)) in lines.iter().zip(&expected).enumerate() {
        let got: Vec<u64> = line
            .split_whitespace()
            .map(|h| u64::from_str_radix(h, 16).unwrap())
            .collect();
        if &got != want {
            mismatches.push(format!(
                "{} frame {}: ap_fixed {got:x?}, baler {want:x?}",
                models[frame / FRAMES].0,
                frame % FRAMES
            ));
        }
    }
    println!(
        "{} networks × {FRAMES} frames = {} frames compared with ap_fixed, {} mismatches",
        models.len(),
        expected.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} frames differ:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
}

//! A network quantised to fixed point (hls4ml's four formats per layer — weight, bias, accumulator, result —
//! plus the activation's) and its bit-exact reference inference, computing what the FPGA computes.

use crate::fixed::{FixedFormat, LayerFormats, integer_sum};
use crate::inference::{Arithmetic, run_layer, summation_order};
use crate::model::{Activation, LayerSpec, NetworkError, NetworkSpec, ShapeError};
use crate::model_id::{DataLayout, ModelId, put_data, put_layer, put_usizes};
use crate::normalization::Normalization;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A constant in a fixed-point format (the LeakyReLU slope).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixedConstant {
    /// Its format.
    pub format: FixedFormat,
    /// Its code.
    pub code: i64,
}

/// The fixed-point arithmetic of a layer with parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixedLayer {
    /// Format of the weights.
    pub weight: FixedFormat,
    /// Format of the biases.
    pub bias: FixedFormat,
    /// Format of the accumulator: each product is converted to it, then added with its overflow mode.
    pub accum: FixedFormat,
    /// Format of the layer's result (before the activation).
    pub result: FixedFormat,
    /// Output format of the ReLU/LeakyReLU (absent for a linear layer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<FixedFormat>,
    /// The LeakyReLU slope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<FixedConstant>,
    /// Dense layers: the hardware reuse factor, which fixes the summation order (see
    /// [`summation_order`]).
    #[serde(default = "one")]
    pub reuse_factor: usize,
    /// Weight codes in the float layout (dense `[inputs, outputs]`, convolutions `[out, in, k, k]` or
    /// `[in, out, k, k]`).
    pub weights: Vec<i64>,
    /// Bias codes, one per output channel.
    pub biases: Vec<i64>,
}

fn one() -> usize {
    1
}

impl FixedLayer {
    /// The format of the layer's output: the activation's, else the result's.
    pub fn output(&self) -> FixedFormat {
        self.activation.unwrap_or(self.result)
    }
}

/// One layer of a quantised network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantizedLayer {
    /// The layer.
    pub spec: LayerSpec,
    /// Its fixed-point arithmetic; absent for reshapes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<FixedLayer>,
}

/// A network in fixed point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantizedNetwork {
    /// Shape of one input sample.
    pub input_shape: Vec<usize>,
    /// Format the (normalised) input is converted to.
    pub input: FixedFormat,
    /// The layers.
    pub layers: Vec<QuantizedLayer>,
}

/// A quantised network that is inconsistent.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedError {
    /// The layer at fault, if one is.
    pub layer: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for QuantizedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.layer {
            Some(layer) => write!(f, "layer {layer}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<ShapeError> for QuantizedError {
    fn from(e: ShapeError) -> Self {
        QuantizedError {
            layer: Some(e.layer),
            message: format!("{e}"),
        }
    }
}

impl From<NetworkError> for QuantizedError {
    fn from(e: NetworkError) -> Self {
        let layer = match &e {
            NetworkError::Shape(s) => Some(s.layer),
            NetworkError::Layer { layer, .. } => Some(*layer),
            NetworkError::InputShape(_) | NetworkError::NoParameters => None,
        };
        QuantizedError {
            layer,
            message: format!("{e}"),
        }
    }
}

impl QuantizedNetwork {
    /// The float description of the network.
    pub fn spec(&self) -> NetworkSpec {
        NetworkSpec {
            input_shape: self.input_shape.clone(),
            layers: self.layers.iter().map(|l| l.spec).collect(),
        }
    }

    /// Format of the network's output.
    pub fn output(&self) -> FixedFormat {
        self.layers
            .iter()
            .rev()
            .find_map(|l| l.fixed.as_ref().map(FixedLayer::output))
            .unwrap_or(self.input)
    }

    /// Checks shapes (as [`NetworkSpec::validate`]), formats, parameter counts and codes, and that every
    /// product fits the arithmetic.
    pub fn validate(&self) -> Result<(), QuantizedError> {
        self.spec().validate()?;
        let fail = |layer, message: String| Err(QuantizedError { layer, message });
        if let Err(e) = self.input.validate() {
            return fail(None, format!("input format {e}"));
        }
        let mut incoming = self.input;
        for (index, layer) in self.layers.iter().enumerate() {
            let at = Some(index);
            let Some((weight_shape, bias_count)) = layer.spec.param_shapes() else {
                if layer.fixed.is_some() {
                    return fail(at, "a reshape has no fixed-point arithmetic".into());
                }
                continue;
            };
            let Some(fixed) = &layer.fixed else {
                return fail(at, "fixed-point formats and codes are missing".into());
            };
            let named = [
                ("weight", Some(fixed.weight)),
                ("bias", Some(fixed.bias)),
                ("accumulator", Some(fixed.accum)),
                ("result", Some(fixed.result)),
                ("activation", fixed.activation),
                ("alpha", fixed.alpha.map(|a| a.format)),
            ];
            for (name, format) in named {
                if let Some(Err(e)) = format.map(|f| f.validate()) {
                    return fail(at, format!("{name} format {e}"));
                }
                if let Some(f) = format
                    && matches!(name, "weight" | "bias" | "alpha")
                    && f.max_code() > i64::MAX as i128
                {
                    return fail(
                        at,
                        format!("{name} format {f}: codes must fit in 64-bit integers"),
                    );
                }
            }
            let activation = layer.spec.activation();
            if (activation == Activation::Linear) != fixed.activation.is_none() {
                return fail(
                    at,
                    "an activation format is needed exactly when the layer has a ReLU or LeakyReLU"
                        .into(),
                );
            }
            if matches!(activation, Activation::LeakyRelu { .. }) != fixed.alpha.is_some() {
                return fail(
                    at,
                    "a LeakyReLU needs its slope `alpha` as a fixed-point constant".into(),
                );
            }
            let weights: usize = weight_shape.iter().product();
            if fixed.weights.len() != weights || fixed.biases.len() != bias_count {
                return fail(
                    at,
                    format!(
                        "{} weights and {} biases, the layer needs {weights} and {bias_count}",
                        fixed.weights.len(),
                        fixed.biases.len()
                    ),
                );
            }
            for (name, format, codes) in [
                ("weight", fixed.weight, &fixed.weights),
                ("bias", fixed.bias, &fixed.biases),
            ] {
                if let Some(i) = codes
                    .iter()
                    .position(|&c| (c as i128) < format.min_code() || c as i128 > format.max_code())
                {
                    return fail(
                        at,
                        format!("{name} code {} at index {i} is outside {format}", codes[i]),
                    );
                }
            }
            if fixed.reuse_factor == 0 {
                return fail(at, "the reuse factor must be at least 1".into());
            }
            let extreme =
                |f: FixedFormat| f.exact(if f.signed { f.min_code() } else { f.max_code() });
            if extreme(incoming)
                .checked_mul(extreme(fixed.weight))
                .is_none()
                || extreme(fixed.accum)
                    .checked_add(extreme(fixed.accum))
                    .is_none()
            {
                return fail(
                    at,
                    "input × weight or accumulator sums need more than 127 bits".into(),
                );
            }
            incoming = fixed.output();
        }
        Ok(())
    }

    /// The network prepared for running samples, with its own copy of the layers: shapes, summation orders,
    /// accumulator starts and integer weights computed once. The network must have passed [`Self::validate`].
    pub fn runner(&self) -> FixedRunner {
        let shapes = self.spec().shapes().expect("validated network");
        let mut format = self.input;
        let mut layers = Vec::new();
        for (layer, shape) in self.layers.iter().zip(shapes) {
            // reshapes leave the flat values as they are
            let Some(fixed) = &layer.fixed else { continue };
            let order = match layer.spec {
                LayerSpec::Dense { inputs, .. } => summation_order(inputs, fixed.reuse_factor),
                _ => Vec::new(),
            };
            let arithmetic = FixedArithmetic::new(fixed, format, layer.spec.activation());
            let integer = IntegerDense::new(&layer.spec, &arithmetic);
            let integer_loops = match integer {
                Some(_) => None,
                None => IntegerArithmetic::new(&arithmetic),
            };
            layers.push(PreparedLayer {
                spec: layer.spec,
                input_shape: shape,
                order,
                integer,
                integer_loops,
                arithmetic,
            });
            format = fixed.output();
        }
        FixedRunner {
            input: self.input,
            layers,
        }
    }

    /// Runs one sample (see [`FixedRunner::run`]); to run many, take a [`Self::runner`] once.
    pub fn run(&self, input: &[f64]) -> Vec<i128> {
        self.runner().run(input)
    }

    /// Total bits of all weight and bias codes.
    pub fn weight_bits(&self) -> u64 {
        self.layers
            .iter()
            .filter_map(|l| l.fixed.as_ref())
            .map(|f| {
                f.weights.len() as u64 * f.weight.width as u64
                    + f.biases.len() as u64 * f.bias.width as u64
            })
            .sum()
    }
}

/// A quantised network ready to run samples.
pub struct FixedRunner {
    input: FixedFormat,
    layers: Vec<PreparedLayer>,
}

struct PreparedLayer {
    spec: LayerSpec,
    input_shape: Vec<usize>,
    order: Vec<usize>,
    arithmetic: FixedArithmetic,
    /// Dense layers that truncate and wrap.
    integer: Option<IntegerDense>,
    /// The other layers that truncate and wrap.
    integer_loops: Option<IntegerArithmetic>,
}

/// A dense layer whose accumulator truncates and wraps, computed in `i64` (see [`integer_sum`]).
struct IntegerDense {
    inputs: usize,
    /// Weight codes, output-major (`[outputs][inputs]`).
    weights: Vec<i64>,
    starts: Vec<i64>,
    /// Right shift of a product to the accumulator's scale (negative: left shift).
    shift: i32,
}

impl IntegerDense {
    fn new(spec: &LayerSpec, a: &FixedArithmetic) -> Option<Self> {
        let LayerSpec::Dense {
            inputs, outputs, ..
        } = *spec
        else {
            return None;
        };
        Some(IntegerDense {
            inputs,
            weights: (0..outputs)
                .flat_map(|o| (0..inputs).map(move |i| a.layer.weights[i * outputs + o]))
                .collect(),
            starts: a.starts.iter().map(|&s| s as i64).collect(),
            shift: a.formats.integer_shift()?,
        })
    }

    fn run(&self, a: &FixedArithmetic, input: &[i128], output: &mut Vec<i128>) {
        let x: Vec<i64> = input.iter().map(|&v| v as i64).collect();
        output.clear();
        for (row, &start) in self.weights.chunks_exact(self.inputs).zip(&self.starts) {
            let sum = integer_sum(start, x.iter().zip(row).map(|(x, w)| x * w), self.shift);
            output.push(a.finish(a.formats.wrap_accum(sum)));
        }
    }
}

/// The arithmetic of a layer whose accumulator truncates and wraps, in `i64` (see [`integer_sum`]), for the
/// common layer loops: convolutions (dense layers have [`IntegerDense`]).
struct IntegerArithmetic {
    formats: LayerFormats,
    weights: Vec<i64>,
    starts: Vec<i64>,
    /// Right shift of a product to the accumulator's scale (negative: left shift).
    shift: i32,
}

impl IntegerArithmetic {
    fn new(a: &FixedArithmetic) -> Option<Self> {
        Some(IntegerArithmetic {
            formats: a.formats,
            weights: a.layer.weights.clone(),
            starts: a.starts.iter().map(|&s| s as i64).collect(),
            shift: a.formats.integer_shift()?,
        })
    }
}

impl Arithmetic for IntegerArithmetic {
    type Value = i128;
    type Acc = i64;

    fn start(&self, channel: usize) -> i64 {
        self.starts[channel]
    }

    fn mac(&self, acc: i64, x: i128, weight: usize) -> i64 {
        let product = x as i64 * self.weights[weight];
        let term = if self.shift >= 0 {
            product >> self.shift
        } else {
            product << -self.shift
        };
        acc.wrapping_add(term)
    }

    fn finish(&self, acc: i64) -> i128 {
        self.formats.finish(self.formats.wrap_accum(acc))
    }
}

impl FixedRunner {
    /// Runs one sample of normalised values; returns the output codes (in [`QuantizedNetwork::output`]).
    pub fn run(&self, input: &[f64]) -> Vec<i128> {
        let mut current: Vec<i128> = input.iter().map(|&v| self.input.from_f64(v)).collect();
        let mut next = Vec::new();
        for l in &self.layers {
            if let Some(integer) = &l.integer {
                integer.run(&l.arithmetic, &current, &mut next);
                core::mem::swap(&mut current, &mut next);
                continue;
            }
            if let Some(integer) = &l.integer_loops {
                let (spec, shape, order) = (&l.spec, &l.input_shape, &l.order);
                run_layer(spec, shape, order, integer, &current, &mut next);
                core::mem::swap(&mut current, &mut next);
                continue;
            }
            run_layer(
                &l.spec,
                &l.input_shape,
                &l.order,
                &l.arithmetic,
                &current,
                &mut next,
            );
            core::mem::swap(&mut current, &mut next);
        }
        current
    }
}

/// The `ap_fixed` semantics of a layer ([`LayerFormats`]) with its codes: the biases converted to the
/// accumulator once.
struct FixedArithmetic {
    layer: FixedLayer,
    formats: LayerFormats,
    starts: Vec<i128>,
}

impl FixedArithmetic {
    fn new(layer: &FixedLayer, input: FixedFormat, activation: Activation) -> Self {
        let starts = layer
            .biases
            .iter()
            .map(|&b| layer.accum.convert(layer.bias.exact(b as i128)))
            .collect();
        let leaky = matches!(activation, Activation::LeakyRelu { .. });
        FixedArithmetic {
            layer: layer.clone(),
            formats: LayerFormats {
                input,
                weight: layer.weight,
                accum: layer.accum,
                result: layer.result,
                activation: layer.activation,
                alpha: layer.alpha.filter(|_| leaky).map(|a| (a.format, a.code)),
            },
            starts,
        }
    }
}

impl Arithmetic for FixedArithmetic {
    type Value = i128;
    type Acc = i128;

    fn start(&self, channel: usize) -> i128 {
        self.starts[channel]
    }

    fn mac(&self, acc: i128, x: i128, weight: usize) -> i128 {
        self.formats.mac(acc, x, self.layer.weights[weight])
    }

    fn finish(&self, acc: i128) -> i128 {
        self.formats.finish(acc)
    }
}

/// The id of a quantised decoder with its normalisation and data layout: what compressed files written with
/// a quantised model carry.
pub fn quantized_model_id(
    decoder: &QuantizedNetwork,
    normalization: &Normalization,
    data: &DataLayout,
) -> ModelId {
    let mut h = Sha256::new();
    h.update(b"baler-quantized-model-id-v2");
    put_usizes(&mut h, &decoder.input_shape);
    let put_format = |h: &mut Sha256, f: FixedFormat| {
        let text = format!("{f};");
        h.update(text.as_bytes());
    };
    put_format(&mut h, decoder.input);
    for layer in &decoder.layers {
        put_layer(&mut h, &layer.spec);
        if let Some(f) = &layer.fixed {
            for format in [
                Some(f.weight),
                Some(f.bias),
                Some(f.accum),
                Some(f.result),
                f.activation,
            ]
            .into_iter()
            .flatten()
            {
                put_format(&mut h, format);
            }
            if let Some(a) = f.alpha {
                put_format(&mut h, a.format);
                h.update(a.code.to_le_bytes());
            }
            h.update((f.reuse_factor as u64).to_le_bytes());
            for c in f.weights.iter().chain(&f.biases) {
                h.update(c.to_le_bytes());
            }
        }
    }
    crate::model_id::put_normalization(&mut h, normalization);
    put_data(&mut h, data);
    ModelId::from_hasher(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn dense(weights: Vec<i64>, biases: Vec<i64>, accum: &str, relu: bool) -> QuantizedLayer {
        let outputs = biases.len();
        QuantizedLayer {
            spec: LayerSpec::Dense {
                inputs: weights.len() / outputs,
                outputs,
                activation: if relu {
                    Activation::Relu
                } else {
                    Activation::Linear
                },
            },
            fixed: Some(FixedLayer {
                weight: "ap_fixed<8,2>".parse().unwrap(),
                bias: "ap_fixed<8,2>".parse().unwrap(),
                accum: accum.parse().unwrap(),
                result: "ap_fixed<8,4,AP_RND,AP_SAT>".parse().unwrap(),
                activation: relu.then(|| "ap_ufixed<7,3>".parse().unwrap()),
                alpha: None,
                reuse_factor: 1,
                weights,
                biases,
            }),
        }
    }

    /// Inputs ap_fixed<8,4>; weights (codes ×64) 0.25, 0.5 to out0 and -0.25, 0.125 to out1; ReLU.
    fn two_inputs_two_outputs() -> QuantizedNetwork {
        QuantizedNetwork {
            input_shape: vec![2],
            input: "ap_fixed<8,4>".parse().unwrap(),
            layers: vec![dense(
                vec![16, -16, 32, 8],
                vec![0, 16],
                "ap_fixed<16,6>",
                true,
            )],
        }
    }

    #[test]
    fn dense_relu_in_fixed_point() {
        // inputs 1.5 and -0.25
        let net = two_inputs_two_outputs();
        net.validate().unwrap();
        // out0 = 0.375 - 0.125 = 0.25 → code 4 (×16); out1 = -0.375 - 0.03125 + 0.25 < 0 → ReLU 0
        assert_eq!(net.run(&[1.5, -0.25]), vec![4, 0]);
    }

    #[test]
    fn saturating_accumulator_depends_on_the_order() {
        // accumulator ap_fixed<4,3,AP_TRN,AP_SAT>: range [-4, 3.5]; inputs 2, weights 1.5, 1.5, -1.5
        let layer = |rf| {
            let mut l = dense(
                vec![96, 96, -96],
                vec![0],
                "ap_fixed<4,3,AP_TRN,AP_SAT>",
                false,
            );
            l.fixed.as_mut().unwrap().reuse_factor = rf;
            l
        };
        let run = |rf| {
            let net = QuantizedNetwork {
                input_shape: vec![3],
                input: "ap_fixed<8,4>".parse().unwrap(),
                layers: vec![layer(rf)],
            };
            net.validate().unwrap();
            net.run(&[2.0, 2.0, 2.0])[0]
        };
        // in order: 3 → 3.5 (saturated) → 0.5; with rf 2 the order is 0, 2, 1: 3 → 0 → 3 (codes ×16)
        assert_eq!(run(1), 8);
        assert_eq!(run(2), 48);
    }

    #[test]
    fn convolutions_in_i64_compute_what_the_exact_arithmetic_computes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        // accumulators that truncate and wrap, with products shifted right (ap_fixed<10,3>), not shifted, and
        // shifted left (more fraction bits than the product's 10), some narrow enough to wrap often
        let accums = [
            "ap_fixed<10,3>",
            "ap_fixed<12,2>",
            "ap_fixed<20,4>",
            "ap_fixed<9,-1>",
        ];
        let (input, weight) = ("ap_fixed<8,3>", "ap_fixed<6,1>");
        for (case, accum) in accums.iter().enumerate() {
            let transposed = case % 2 == 1;
            let (inc, outc, k) = (2, 3, 3);
            let spec = if transposed {
                LayerSpec::ConvTranspose2d {
                    in_channels: inc,
                    out_channels: outc,
                    kernel: k,
                    stride: 2,
                    padding: 1,
                    output_padding: [1, 1],
                    activation: Activation::Relu,
                }
            } else {
                LayerSpec::Conv2d {
                    in_channels: inc,
                    out_channels: outc,
                    kernel: k,
                    stride: 1,
                    padding: 1,
                    activation: Activation::Relu,
                }
            };
            let weight_format: FixedFormat = weight.parse().unwrap();
            let layer = FixedLayer {
                weight: weight_format,
                bias: "ap_fixed<8,2>".parse().unwrap(),
                accum: accum.parse().unwrap(),
                result: "ap_fixed<8,3,AP_RND,AP_SAT>".parse().unwrap(),
                activation: Some("ap_ufixed<7,2>".parse().unwrap()),
                alpha: None,
                reuse_factor: 1,
                weights: (0..inc * outc * k * k)
                    .map(|_| {
                        rng.random_range(weight_format.min_code()..=weight_format.max_code()) as i64
                    })
                    .collect(),
                biases: (0..outc).map(|_| rng.random_range(-128..128)).collect(),
            };
            let input_format: FixedFormat = input.parse().unwrap();
            let exact = FixedArithmetic::new(&layer, input_format, spec.activation());
            let integer = IntegerArithmetic::new(&exact).expect("wraps and truncates");
            let shape = [inc, 5, 6];
            for _ in 0..20 {
                let x: Vec<i128> = (0..shape.iter().product())
                    .map(|_| rng.random_range(input_format.min_code()..=input_format.max_code()))
                    .collect();
                let (mut a, mut b) = (Vec::new(), Vec::new());
                run_layer(&spec, &shape, &[], &exact, &x, &mut a);
                run_layer(&spec, &shape, &[], &integer, &x, &mut b);
                assert_eq!(a, b, "{accum}, {spec:?}");
            }
        }
    }

    #[test]
    fn validation_names_the_layer() {
        let mut net = two_inputs_two_outputs();
        net.layers[0].fixed.as_mut().unwrap().weights[2] = 500;
        let e = net.validate().unwrap_err();
        assert_eq!(e.layer, Some(0));
        assert!(e.message.contains("weight code 500 at index 2"), "{e}");
    }
}

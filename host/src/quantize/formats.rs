//! Formats from ranges: integer bits from the measured bounds, fractional bits from the search's knobs, and the
//! quantised encoder and decoder they make (accumulators sized by interval bounds, so they cannot overflow).

use super::profile::LayerFacts;
use super::search::Knobs;
use baler_core::fixed::{FixedFormat, Overflow, Quantization};
use baler_core::quantized::{FixedConstant, FixedLayer, QuantizedLayer, QuantizedNetwork};
use baler_core::{Activation, LayerSpec, NetworkSpec};

/// Smallest signed integer-bit count whose range holds ±`bound`.
pub(super) fn signed_int_bits(bound: f64) -> i32 {
    if bound <= 0.0 {
        1
    } else {
        bound.log2().floor() as i32 + 2
    }
}

fn fixed_format(
    signed: bool,
    int_bits: i32,
    frac_bits: i32,
    q: Quantization,
    o: Overflow,
) -> FixedFormat {
    let width = (int_bits + frac_bits).clamp(2, 64) as u32;
    FixedFormat {
        signed,
        width,
        int_bits: width as i32 - frac_bits,
        quantization: q,
        overflow: o,
        saturation_bits: 0,
    }
}

/// Formats and codes of one layer from its facts, its input format and its two knobs; also the interval
/// bound of its accumulators.
fn quantize_layer(
    facts: &LayerFacts,
    input: FixedFormat,
    weight_frac: i32,
    result_frac: i32,
) -> (FixedLayer, f64) {
    let (rnd, sat) = (Quantization::Rnd, Overflow::Sat);
    let max_abs = |v: &[f32]| v.iter().fold(0f64, |m, &x| m.max((x as f64).abs()));
    let weight = fixed_format(
        true,
        signed_int_bits(max_abs(&facts.params.weight.values)),
        weight_frac,
        rnd,
        sat,
    );
    let bias = fixed_format(
        true,
        signed_int_bits(max_abs(&facts.params.bias.values)),
        weight_frac,
        rnd,
        sat,
    );
    let weights: Vec<i64> = facts
        .params
        .weight
        .values
        .iter()
        .map(|&w| weight.from_f64(w as f64) as i64)
        .collect();
    let biases: Vec<i64> = facts
        .params
        .bias
        .values
        .iter()
        .map(|&b| bias.from_f64(b as f64) as i64)
        .collect();

    // interval bound of every accumulator: |bias| + Σ |w| · max|x| over the weights feeding its channel
    let input_abs = input.min_value().abs().max(input.max_value());
    let channels = biases.len();
    let mut weight_sums = vec![0f64; channels];
    let per_channel = |i: usize| match facts.spec {
        LayerSpec::Dense { outputs, .. } => i % outputs,
        LayerSpec::Conv2d { .. } => i / (weights.len() / channels),
        LayerSpec::ConvTranspose2d { kernel, .. } => (i / (kernel * kernel)) % channels,
        LayerSpec::Flatten | LayerSpec::Unflatten { .. } => {
            unreachable!("reshapes have no weights")
        }
    };
    for (i, &w) in weights.iter().enumerate() {
        weight_sums[per_channel(i)] += weight.value_of(w as i128).abs();
    }
    let accum_bound = (0..channels)
        .map(|c| bias.value_of(biases[c] as i128).abs() + weight_sums[c] * input_abs)
        .fold(0f64, f64::max);
    let accum_int = signed_int_bits(accum_bound);
    let accum_frac = (input.frac_bits() + weight.frac_bits()).min(64 - accum_int);
    let accum = fixed_format(
        true,
        accum_int,
        accum_frac,
        Quantization::Trn,
        Overflow::Wrap,
    );

    // one bit of headroom over the largest value seen
    let result = fixed_format(
        true,
        signed_int_bits(facts.result_bound * 2.0),
        result_frac,
        rnd,
        sat,
    );
    let (activation, alpha) = match facts.spec.activation() {
        Activation::Linear => (None, None),
        Activation::Relu => {
            let unsigned = FixedFormat {
                signed: false,
                width: result.width - 1,
                int_bits: result.int_bits - 1,
                ..result
            };
            (Some(unsigned), None)
        }
        Activation::LeakyRelu { alpha } => {
            let alpha_format = fixed_format(
                false,
                (alpha as f64).log2().floor() as i32 + 1,
                8 - ((alpha as f64).log2().floor() as i32 + 1),
                rnd,
                sat,
            );
            let code = alpha_format.from_f64(alpha as f64) as i64;
            (
                Some(result),
                Some(FixedConstant {
                    format: alpha_format,
                    code,
                }),
            )
        }
    };
    let layer = FixedLayer {
        weight,
        bias,
        accum,
        result,
        activation,
        alpha,
        reuse_factor: 1,
        weights,
        biases,
    };
    (layer, accum_bound)
}

/// Builds both networks from the knobs (the decoder's input format is the encoder's output format); also
/// the accumulator bound of every layer with parameters.
pub(super) fn build(
    encoder: &NetworkSpec,
    decoder: &NetworkSpec,
    facts: &[LayerFacts],
    input_int_bits: i32,
    knobs: &Knobs,
) -> ([QuantizedNetwork; 2], Vec<f64>) {
    let mut input = fixed_format(
        true,
        input_int_bits,
        knobs.input,
        Quantization::Rnd,
        Overflow::Sat,
    );
    let mut next_fact = 0;
    let mut networks = Vec::new();
    let mut bounds = Vec::new();
    for spec in [encoder, decoder] {
        let network_input = input;
        let layers = spec
            .layers
            .iter()
            .map(|l| {
                let fixed = l.param_shapes().map(|_| {
                    let f = &facts[next_fact];
                    let (layer, bound) =
                        quantize_layer(f, input, knobs.weight[next_fact], knobs.result[next_fact]);
                    bounds.push(bound);
                    next_fact += 1;
                    input = layer.output();
                    layer
                });
                QuantizedLayer { spec: *l, fixed }
            })
            .collect();
        networks.push(QuantizedNetwork {
            input_shape: spec.input_shape.clone(),
            input: network_input,
            layers,
        });
    }
    let decoder = networks.pop().expect("two networks");
    ([networks.pop().expect("two networks"), decoder], bounds)
}

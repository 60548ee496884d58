//! Precision selection: per-layer `ap_fixed` formats from the weights' ranges and the activations measured on
//! the training data (accumulators sized by interval bounds, so they cannot overflow), then the narrowest
//! fractional widths that keep the reconstruction error within a target above the float model's.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model_store::Model;
use crate::quantized::{QuantizedDecoder, QuantizedModel, run_rows};
use baler_core::fixed::{FixedFormat, Overflow, Quantization};
use baler_core::inference::{FloatNetwork, FloatStorage};
use baler_core::quantized::{FixedConstant, FixedLayer, QuantizedLayer, QuantizedNetwork};
use baler_core::{Activation, LayerParams, LayerSpec, NetworkSpec};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write;

/// What precision selection aims for.
#[derive(Clone, Debug)]
pub struct PrecisionOptions {
    /// Allowed relative increase of every variable's reconstruction MSE over the float model's (0.05 = 5 %).
    pub tolerance: f64,
    /// Samples used for the search (evenly spread over the data).
    pub rows: usize,
    /// Widest weight, result and activation format considered.
    pub max_width: u32,
}

impl Default for PrecisionOptions {
    fn default() -> Self {
        PrecisionOptions {
            tolerance: 0.05,
            rows: 2000,
            max_width: 32,
        }
    }
}

/// The formats chosen for one layer and what they cost.
#[derive(Clone, Debug, Serialize)]
pub struct LayerChoice {
    /// `encoder` or `decoder`.
    pub network: &'static str,
    /// Layer index in its network.
    pub layer: usize,
    /// `dense 9→200 leaky_relu`, …
    pub description: String,
    /// Weight format.
    pub weight: FixedFormat,
    /// Bias format.
    pub bias: FixedFormat,
    /// Accumulator format.
    pub accum: FixedFormat,
    /// Result format.
    pub result: FixedFormat,
    /// Activation output format.
    pub activation: Option<FixedFormat>,
    /// Bits of all weight and bias codes.
    pub weight_bits: u64,
    /// log2(accumulator range / interval bound): ≥ 0, the accumulator cannot overflow.
    pub accum_margin_bits: f64,
    /// log2(result range / largest value seen on the data): headroom before saturation.
    pub result_margin_bits: f64,
    /// Change of the worst variable's MSE ratio (fixed / f32) when this layer's widths were narrowed.
    pub error_added: f64,
}

/// The outcome of precision selection.
#[derive(Clone, Debug, Serialize)]
pub struct PrecisionReport {
    /// Samples the errors are measured on.
    pub rows: usize,
    /// Format of the normalised input.
    pub input: FixedFormat,
    /// Reconstruction MSE (normalised units, all variables) of the float model in f32.
    pub float_mse: f64,
    /// … with weights and activations stored in f16.
    pub f16_mse: f64,
    /// … stored in bf16.
    pub bf16_mse: f64,
    /// … of the fixed-point model.
    pub fixed_mse: f64,
    /// Largest ratio over the variables of the f16 model's MSE to the f32 model's.
    pub f16_worst_ratio: f64,
    /// … of the bf16 model's.
    pub bf16_worst_ratio: f64,
    /// … of the fixed-point model's.
    pub fixed_worst_ratio: f64,
    /// The target: every variable's ratio at most `1 + tolerance`.
    pub tolerance: f64,
    /// Whether the fixed-point model meets the target.
    pub target_met: bool,
    /// Per layer, encoder then decoder.
    pub layers: Vec<LayerChoice>,
    /// Bits of all fixed-point weights and biases.
    pub fixed_weight_bits: u64,
    /// Bits of the same parameters in f32.
    pub float_weight_bits: u64,
}

/// Measured facts about one layer with parameters.
struct LayerFacts {
    spec: LayerSpec,
    params: LayerParams,
    /// Largest |value| before the activation seen on the data.
    result_bound: f64,
}

/// The search variables: fractional bits of the input, and per layer of the weights and of the result.
#[derive(Clone, Debug)]
struct Knobs {
    input: i32,
    weight: Vec<i32>,
    result: Vec<i32>,
}

/// Smallest signed integer-bit count whose range holds ±`bound`.
fn signed_int_bits(bound: f64) -> i32 {
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
fn build(
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

/// Reconstruction errors: over all values, and per normalisation variable.
#[derive(Clone, Debug)]
struct Errors {
    mse: f64,
    per_variable: Vec<f64>,
}

impl Errors {
    fn of(original: &[f64], reconstructed: &[f64], variables: usize) -> Self {
        let mut sums = vec![0f64; variables];
        for (i, (x, y)) in original.iter().zip(reconstructed).enumerate() {
            sums[i % variables] += (x - y) * (x - y);
        }
        let per_variable = sums
            .iter()
            .map(|s| s * variables as f64 / original.len() as f64)
            .collect();
        Errors {
            mse: sums.iter().sum::<f64>() / original.len() as f64,
            per_variable,
        }
    }

    /// Largest ratio over the variables of this MSE to `reference`'s.
    fn worst_ratio(&self, reference: &Errors) -> f64 {
        let floor = reference.mse * 1e-9 + f64::MIN_POSITIVE;
        self.per_variable
            .iter()
            .zip(&reference.per_variable)
            .map(|(e, r)| e / r.max(floor))
            .fold(0.0, f64::max)
    }
}

/// Reconstruction errors of the float model with weights and activations stored in `storage`.
fn float_errors(
    model: &Model,
    sample: &[f64],
    features: usize,
    storage: FloatStorage,
) -> Result<Errors> {
    let net = |spec, params| {
        FloatNetwork::new(spec, params, storage).map_err(|e| Error::Mismatch(format!("model: {e}")))
    };
    let encoder = net(&model.encoder, &model.encoder_params)?;
    let decoder = net(&model.decoder.network, &model.decoder.params)?;
    let out: Vec<f64> = sample
        .par_chunks(features)
        .flat_map_iter(|row| {
            let x: Vec<f32> = row.iter().map(|&v| v as f32).collect();
            decoder.run(&encoder.run(&x)).into_iter().map(f64::from)
        })
        .collect();
    Ok(Errors::of(
        sample,
        &out,
        model.decoder.normalization.variables(),
    ))
}

/// Chooses formats for `model` on `data` (the training data, or data like it) and quantises the model.
/// `progress` hears one line per step.
pub fn select_precision(
    model: &Model,
    data: &Dataset,
    options: &PrecisionOptions,
    mut progress: impl FnMut(&str),
) -> Result<(QuantizedModel, PrecisionReport)> {
    model
        .decoder
        .data
        .check(data, std::path::Path::new("the data"))?;
    let features = data.features();
    let stride = data.rows.div_ceil(options.rows.max(1)).max(1);
    let mut sample = Vec::new();
    for row in (0..data.rows).step_by(stride) {
        sample.extend_from_slice(&data.values[row * features..(row + 1) * features]);
    }
    model.decoder.normalization.apply(&mut sample);
    let rows = sample.len() / features;

    // largest |pre-activation| of every layer, measured with the float model
    let float_err = |e: baler_core::ShapeError| Error::Mismatch(format!("model: {e}"));
    let encoder = FloatNetwork::new(&model.encoder, &model.encoder_params, FloatStorage::F32)
        .map_err(float_err)?;
    let decoder = FloatNetwork::new(
        &model.decoder.network,
        &model.decoder.params,
        FloatStorage::F32,
    )
    .map_err(float_err)?;
    let mut bounds = [
        vec![0f64; encoder.layers.len()],
        vec![0f64; decoder.layers.len()],
    ];
    let mut input_bound = 0f64;
    for row in sample.chunks(features) {
        let x: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        input_bound = x.iter().fold(input_bound, |m, v| m.max(v.abs() as f64));
        let latent = encoder.run_observed(&x, |l, out| {
            observe(&mut bounds[0][l], &encoder.layers[l].spec, out)
        });
        decoder.run_observed(&latent, |l, out| {
            observe(&mut bounds[1][l], &decoder.layers[l].spec, out)
        });
    }
    let mut facts = Vec::new();
    for (spec, params, bounds) in [
        (&model.encoder, &model.encoder_params, &bounds[0]),
        (&model.decoder.network, &model.decoder.params, &bounds[1]),
    ] {
        let mut params = params.iter();
        for (layer, bound) in spec.layers.iter().zip(bounds) {
            if layer.param_shapes().is_some() {
                facts.push(LayerFacts {
                    spec: *layer,
                    params: params.next().expect("one parameter set per layer").clone(),
                    result_bound: *bound,
                });
            }
        }
    }

    let variables = model.decoder.normalization.variables();
    let float = float_errors(model, &sample, features, FloatStorage::F32)?;
    let f16 = float_errors(model, &sample, features, FloatStorage::F16)?;
    let bf16 = float_errors(model, &sample, features, FloatStorage::Bf16)?;
    let target = 1.0 + options.tolerance;
    progress(&format!(
        "{rows} samples: float MSE {:.4e}; worst variable vs f32: f16 ×{:.4}, bf16 ×{:.4}; target ×{target:.4}",
        float.mse,
        f16.worst_ratio(&float),
        bf16.worst_ratio(&float)
    ));

    // the input format holds the largest normalised input seen (beyond it, it saturates)
    let input_int = signed_int_bits(input_bound);
    let evaluate_errors = |knobs: &Knobs| -> Errors {
        let ([enc, dec], _) = build(
            &model.encoder,
            &model.decoder.network,
            &facts,
            input_int,
            knobs,
        );
        let latent = run_rows(&enc, &sample, features);
        let out = run_rows(&dec, &latent, dec.input_shape.iter().product());
        Errors::of(&sample, &out, variables)
    };
    let evaluate = |knobs: &Knobs| evaluate_errors(knobs).worst_ratio(&float);
    // widest fractional parts the width limits allow; the latent stays ≤ 24 bits so f32 stores it exactly
    let max_frac = options.max_width as i32 - 8;
    let n = facts.len();
    let encoder_layers = model
        .encoder
        .layers
        .iter()
        .filter(|l| l.param_shapes().is_some())
        .count();
    let mut knobs = Knobs {
        input: max_frac.min(options.max_width as i32 - input_int),
        weight: vec![max_frac; n],
        result: vec![max_frac; n],
    };
    let latent_int = signed_int_bits(facts[encoder_layers - 1].result_bound * 2.0);
    knobs.result[encoder_layers - 1] = knobs.result[encoder_layers - 1].min(24 - latent_int);
    let mut current = evaluate(&knobs);
    progress(&format!("widest formats: worst variable ×{current:.4}"));

    // narrow one knob at a time to the smallest value that keeps its share of the error budget
    // (bisection): the k-th of K knobs may bring the MSE up to float + budget · k / K
    let knob_count = 1 + 2 * n;
    let allowed = |k: usize| 1.0 + options.tolerance * (k + 1) as f64 / knob_count as f64;
    let narrow = |knobs: &mut Knobs,
                  pick: &dyn Fn(&mut Knobs) -> &mut i32,
                  limit: f64,
                  current: &mut f64| {
        let (mut lo, mut hi) = (0, *pick(knobs));
        while lo < hi {
            let mid = (lo + hi) / 2;
            let mut trial = knobs.clone();
            *pick(&mut trial) = mid;
            let err = evaluate(&trial);
            if err <= limit {
                hi = mid;
                *current = err; // the error at the narrowest width that passed so far
            } else {
                lo = mid + 1;
            }
        }
        *pick(knobs) = hi;
    };
    if current <= target {
        narrow(&mut knobs, &|k| &mut k.input, allowed(0), &mut current);
    }
    let mut added = Vec::with_capacity(n);
    for l in 0..n {
        let before = current;
        if current <= target {
            narrow(
                &mut knobs,
                &|k| &mut k.weight[l],
                allowed(1 + 2 * l),
                &mut current,
            );
            narrow(
                &mut knobs,
                &|k| &mut k.result[l],
                allowed(2 + 2 * l),
                &mut current,
            );
        }
        added.push(current - before);
        progress(&format!(
            "layer {}/{n}: weights F={}, results F={}, worst variable ×{current:.4}",
            l + 1,
            knobs.weight[l],
            knobs.result[l]
        ));
    }

    let ([enc, dec], accum_bounds) = build(
        &model.encoder,
        &model.decoder.network,
        &facts,
        input_int,
        &knobs,
    );
    let fixed = evaluate_errors(&knobs);
    let mut layers = Vec::new();
    let mut fact = 0;
    for (name, net) in [("encoder", &enc), ("decoder", &dec)] {
        for (index, layer) in net.layers.iter().enumerate() {
            let Some(f) = &layer.fixed else { continue };
            layers.push(LayerChoice {
                network: name,
                layer: index,
                description: describe(&layer.spec),
                weight: f.weight,
                bias: f.bias,
                accum: f.accum,
                result: f.result,
                activation: f.activation,
                weight_bits: f.weights.len() as u64 * f.weight.width as u64
                    + f.biases.len() as u64 * f.bias.width as u64,
                accum_margin_bits: (f.accum.max_value()
                    / accum_bounds[fact].max(f64::MIN_POSITIVE))
                .log2(),
                result_margin_bits: (f.result.max_value()
                    / facts[fact].result_bound.max(f64::MIN_POSITIVE))
                .log2(),
                error_added: added[fact],
            });
            fact += 1;
        }
    }
    let parameters: u64 = facts
        .iter()
        .map(|f| (f.params.weight.values.len() + f.params.bias.values.len()) as u64)
        .sum();
    let report = PrecisionReport {
        rows,
        input: enc.input,
        float_mse: float.mse,
        f16_mse: f16.mse,
        bf16_mse: bf16.mse,
        fixed_mse: fixed.mse,
        f16_worst_ratio: f16.worst_ratio(&float),
        bf16_worst_ratio: bf16.worst_ratio(&float),
        fixed_worst_ratio: fixed.worst_ratio(&float),
        tolerance: options.tolerance,
        target_met: fixed.worst_ratio(&float) <= target,
        fixed_weight_bits: enc.weight_bits() + dec.weight_bits(),
        float_weight_bits: parameters * 32,
        layers,
    };
    let decoder = QuantizedDecoder::new(
        dec,
        model.decoder.normalization.clone(),
        model.decoder.data.clone(),
        model.decoder.id,
    );
    Ok((
        QuantizedModel {
            encoder: enc,
            decoder,
        },
        report,
    ))
}

/// Records the largest |pre-activation| of a layer from its output.
fn observe(bound: &mut f64, spec: &LayerSpec, out: &[f32]) {
    for &v in out {
        let pre = match spec.activation() {
            Activation::LeakyRelu { alpha } if v < 0.0 => v / alpha,
            _ => v,
        };
        *bound = bound.max(pre.abs() as f64);
    }
}

fn describe(spec: &LayerSpec) -> String {
    let act = match spec.activation() {
        Activation::Linear => "linear".to_string(),
        Activation::Relu => "relu".to_string(),
        Activation::LeakyRelu { alpha } => format!("leaky_relu({alpha})"),
    };
    match *spec {
        LayerSpec::Dense {
            inputs, outputs, ..
        } => format!("dense {inputs}→{outputs} {act}"),
        LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel,
            stride,
            ..
        } => {
            format!("conv {in_channels}→{out_channels} {kernel}×{kernel}/{stride} {act}")
        }
        LayerSpec::ConvTranspose2d {
            in_channels,
            out_channels,
            kernel,
            stride,
            ..
        } => {
            format!("conv_t {in_channels}→{out_channels} {kernel}×{kernel}/{stride} {act}")
        }
        LayerSpec::Flatten | LayerSpec::Unflatten { .. } => "reshape".to_string(),
    }
}

impl PrecisionReport {
    /// The per-layer table and the totals, for the terminal.
    pub fn table(&self) -> String {
        let mut s = String::new();
        writeln!(s, "input {}", self.input).unwrap();
        writeln!(
            s,
            "{:<8} {:>2} {:<32} {:<28} {:<28} {:<30} {:<30} {:<30} {:>9} {:>7} {:>7} {:>10}",
            "network",
            "#",
            "layer",
            "weight",
            "bias",
            "accumulator",
            "result",
            "activation",
            "bits",
            "acc.mrg",
            "res.mrg",
            "ratio +"
        )
        .unwrap();
        for l in &self.layers {
            writeln!(
                s,
                "{:<8} {:>2} {:<32} {:<28} {:<28} {:<30} {:<30} {:<30} {:>9} {:>7.1} {:>7.1} {:>+10.2e}",
                l.network,
                l.layer,
                l.description,
                l.weight.to_string(),
                l.bias.to_string(),
                l.accum.to_string(),
                l.result.to_string(),
                l.activation.map_or("-".to_string(), |a| a.to_string()),
                l.weight_bits,
                l.accum_margin_bits,
                l.result_margin_bits,
                l.error_added
            )
            .unwrap();
        }
        writeln!(
            s,
            "reconstruction MSE on {} samples (normalised): f32 {:.4e}, f16 {:.4e}, bf16 {:.4e}, fixed {:.4e}",
            self.rows, self.float_mse, self.f16_mse, self.bf16_mse, self.fixed_mse
        )
        .unwrap();
        writeln!(
            s,
            "worst variable's MSE vs f32: f16 ×{:.4}, bf16 ×{:.4}, fixed ×{:.4}; target ×{:.4} {}",
            self.f16_worst_ratio,
            self.bf16_worst_ratio,
            self.fixed_worst_ratio,
            1.0 + self.tolerance,
            if self.target_met { "met" } else { "NOT met" }
        )
        .unwrap();
        writeln!(
            s,
            "weights and biases: {} bits fixed point vs {} bits f32 ({:.1}× smaller)",
            self.fixed_weight_bits,
            self.float_weight_bits,
            self.float_weight_bits as f64 / self.fixed_weight_bits as f64
        )
        .unwrap();
        s
    }
}

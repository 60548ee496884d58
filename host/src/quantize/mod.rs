//! `baler quantize`: per-layer `ap_fixed` formats for a trained model, in three phases — the ranges measured on
//! the data (`profile`), the narrowest fractional widths that keep every variable's reconstruction error within a
//! target above the float model's (`search`, over the formats of `formats`), and what was chosen (`report`).

mod formats;
mod profile;
mod report;
mod search;

pub use report::{LayerChoice, PrecisionReport};

use crate::data::Dataset;
use crate::error::Result;
use crate::model::Model;
use crate::model::{QuantizedDecoder, QuantizedModel};
use crate::runtime::run_rows;
use baler_core::inference::FloatStorage;
use formats::{build, signed_int_bits};
use profile::{Errors, float_errors};
use search::Knobs;

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

/// Chooses formats for `model` on `data` (the training data, or data like it) and quantises the model.
/// `progress` hears one line per step.
pub fn select_precision(
    model: &Model,
    data: &Dataset,
    options: &PrecisionOptions,
    mut progress: impl FnMut(&str),
) -> Result<(QuantizedModel, PrecisionReport)> {
    let profile::Profile {
        sample,
        features,
        rows,
        input_bound,
        facts,
    } = profile::profile(model, data, options.rows)?;
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
    let current = evaluate(&knobs);
    progress(&format!("widest formats: worst variable ×{current:.4}"));

    let (knobs, added, _) =
        search::narrow(knobs, current, options.tolerance, &evaluate, &mut progress);

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
                description: report::describe(&layer.spec),
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

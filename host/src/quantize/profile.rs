//! The first phase of quantisation: an even sample of the data, normalised, and the largest value each layer
//! produces on it with the float model (the ranges the formats must hold); the float models' errors as reference.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Model;
use baler_core::inference::{FloatNetwork, FloatStorage};
use baler_core::{Activation, LayerParams, LayerSpec};
use rayon::prelude::*;

/// Measured facts about one layer with parameters.
pub(super) struct LayerFacts {
    pub spec: LayerSpec,
    pub params: LayerParams,
    /// Largest |value| before the activation seen on the data.
    pub result_bound: f64,
}

/// The sample and the ranges measured on it.
pub(super) struct Profile {
    /// Normalised values, sample after sample.
    pub sample: Vec<f64>,
    /// Values per sample.
    pub features: usize,
    /// Samples.
    pub rows: usize,
    /// Largest |normalised input|.
    pub input_bound: f64,
    /// The layers with parameters, encoder then decoder.
    pub facts: Vec<LayerFacts>,
}

/// Takes `rows` samples evenly spread over `data` and measures every layer's range on them.
pub(super) fn profile(model: &Model, data: &Dataset, rows: usize) -> Result<Profile> {
    model
        .decoder
        .data
        .check(data, std::path::Path::new("the data"))?;
    let features = data.features();
    let stride = data.rows.div_ceil(rows.max(1)).max(1);
    let sample = data.normalized_rows(&model.decoder.normalization, (0..data.rows).step_by(stride));
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

    Ok(Profile {
        sample,
        features,
        rows,
        input_bound,
        facts,
    })
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

/// Reconstruction errors: over all values, and per normalisation variable.
#[derive(Clone, Debug)]
pub(super) struct Errors {
    pub mse: f64,
    pub per_variable: Vec<f64>,
}

impl Errors {
    pub fn of(original: &[f64], reconstructed: &[f64], variables: usize) -> Self {
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
    pub fn worst_ratio(&self, reference: &Errors) -> f64 {
        let floor = reference.mse * 1e-9 + f64::MIN_POSITIVE;
        self.per_variable
            .iter()
            .zip(&reference.per_variable)
            .map(|(e, r)| e / r.max(floor))
            .fold(0.0, f64::max)
    }
}

/// Reconstruction errors of the float model with weights and activations stored in `storage`.
pub(super) fn float_errors(
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

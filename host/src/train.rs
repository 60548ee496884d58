//! Training with burn: loss (1−β)·MSE + β·mean|w|, Adam, reduce-on-plateau, early stopping on a
//! held-out validation split, seeded shuffling, and the best (not the last) checkpoint kept.

use crate::architecture::{self, AutoencoderSpec};
use crate::config::{AsinhRule, AsinhSetting, ModelConfig, TrainingConfig};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::model::{DataSignature, Decoder, Model};
use crate::network::{Autoencoder, Network};
use baler_core::{
    LayerParams, LayerSpec, NetworkSpec, Normalization, ParamTensor, heavy_tail_scale,
};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Figures of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Mean training objective (1−β)·MSE + β·mean|w| over the epoch's batches.
    pub train_loss: f64,
    /// Mean squared error on the training batches (normalised units, weighted by `training.weights`).
    pub train_mse: f64,
    /// Mean squared error on the validation split, weighted likewise (the training MSE when there is none).
    pub validation_mse: f64,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
    /// Whether this epoch is the best so far (its weights are kept).
    pub best: bool,
}

/// The outcome of a training run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainReport {
    /// Every epoch run.
    pub history: Vec<EpochStats>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Validation MSE of the kept weights.
    pub best_validation_mse: f64,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Training / validation samples.
    pub train_rows: usize,
    /// Held-out samples.
    pub validation_rows: usize,
    /// Trainable values of encoder and decoder.
    pub parameters: usize,
    /// The variables normalised through asinh(x / median).
    #[serde(default)]
    pub asinh_variables: Vec<String>,
}

impl TrainReport {
    /// Advice when the run ended while the model was still improving: its best epoch among the last 5 % of
    /// `training.epochs`, with no early stop.
    pub fn advice(&self) -> Option<String> {
        let last = self.history.last()?;
        let still_improving = !self.stopped_early
            && last.epoch == last.epochs
            && self.best_epoch + last.epochs / 20 >= last.epochs;
        still_improving.then(|| {
            format!(
                "the best epoch ({}) is among the last of the {} allowed: the model was still improving. Raise \
                 training.epochs in baler.toml and train again (early stopping ends the run once it stops improving)",
                self.best_epoch, last.epochs
            )
        })
    }
}

/// Fits the normalisation that compression will use (one map per table variable, one for all field values), with
/// the asinh transform on the variables `training.asinh` names or finds heavy-tailed; an unknown name is an error.
pub fn fit_normalization(data: &Dataset, config: &TrainingConfig) -> Result<Normalization> {
    let variables = match data.kind {
        DataKind::Table => data.names.len(),
        DataKind::Fields { .. } => 1,
    };
    let column = |v: usize| -> Vec<f64> {
        data.values
            .iter()
            .skip(v)
            .step_by(variables)
            .copied()
            .collect()
    };
    let median = |v: usize| {
        let mut c = column(v);
        let mid = c.len() / 2;
        c.select_nth_unstable_by(mid, f64::total_cmp).1.abs()
    };
    let asinh_scale: Vec<f64> = match &config.asinh {
        AsinhSetting::Rule(AsinhRule::None) => Vec::new(),
        AsinhSetting::Rule(AsinhRule::Auto) => (0..variables)
            .map(|v| heavy_tail_scale(&mut column(v)).unwrap_or(0.0))
            .collect(),
        AsinhSetting::Rule(AsinhRule::All) => (0..variables).map(|v| nonzero(median(v))).collect(),
        AsinhSetting::Variables(names) => {
            if let Some(unknown) = names.iter().find(|n| !data.names.contains(n)) {
                return Err(Error::Mismatch(format!(
                    "training.asinh names '{unknown}', which is not a variable of the data ({})",
                    data.names.join(", ")
                )));
            }
            (0..variables)
                .map(|v| match names.contains(&data.names[v]) {
                    true => nonzero(median(v)),
                    false => 0.0,
                })
                .collect()
        }
    };
    let asinh_scale = match asinh_scale.iter().any(|&s| s > 0.0) {
        true => asinh_scale,
        false => Vec::new(),
    };
    Ok(Normalization::fit_with_asinh(
        config.normalization,
        &data.values,
        variables,
        asinh_scale,
    ))
}

/// The asinh scale of a variable whose median |x| is 0: 1.
fn nonzero(median: f64) -> f64 {
    if median > 0.0 && median.is_finite() {
        median
    } else {
        1.0
    }
}

/// The variables a normalisation passes through asinh, by name (`all values` for fields).
pub fn asinh_variables(data: &Dataset, normalization: &Normalization) -> Vec<String> {
    normalization
        .asinh_scale
        .iter()
        .enumerate()
        .filter(|(_, s)| **s > 0.0)
        .map(|(v, _)| {
            data.names
                .get(v)
                .cloned()
                .unwrap_or_else(|| "all values".into())
        })
        .collect()
}

/// Normalised samples as f32, row-major.
pub fn normalized(data: &Dataset, normalization: &Normalization) -> Vec<f32> {
    let values = data.normalized(normalization);
    values.into_iter().map(|v| v as f32).collect()
}

fn batch_tensor(values: &[f32], features: usize, rows: &[usize], device: &Device) -> Tensor<2> {
    let mut batch = Vec::with_capacity(rows.len() * features);
    for &r in rows {
        batch.extend_from_slice(&values[r * features..(r + 1) * features]);
    }
    Tensor::from_data(TensorData::new(batch, [rows.len(), features]), device)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

/// Trains an autoencoder on `data` on `device` (autodiff is enabled on it here). `progress` sees every epoch.
pub fn train(
    data: &Dataset,
    model_config: &ModelConfig,
    config: &TrainingConfig,
    device: &Device,
    progress: &mut dyn FnMut(&EpochStats),
) -> Result<(Model, TrainReport)> {
    if data.rows == 0 || data.features() == 0 || data.values.len() != data.rows * data.features() {
        return Err(Error::Mismatch(format!(
            "cannot train on data of shape {:?}",
            data.shape()
        )));
    }
    let spec: AutoencoderSpec = architecture::build(model_config, data.kind, data.features())?;
    let weights = loss_weights(data, config)?;
    let normalization = fit_normalization(data, config)?;
    let asinh_variables = asinh_variables(data, &normalization);
    let values = normalized(data, &normalization);
    let features = data.features();

    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..data.rows).collect();
    order.shuffle(&mut rng);
    let n_val = crate::plan::validation_samples(data.rows, config.validation_fraction);
    let (val_rows, train_rows) = order.split_at(n_val);
    let (val_rows, mut train_rows) = (val_rows.to_vec(), train_rows.to_vec());

    let plain = device.clone().without_autodiff();
    let device = &device.clone().autodiff();
    // √w per variable, so that mean((√w·(x̂−x))²) is the weighted MSE
    let sqrt_w = |d: &Device| -> Tensor<2> {
        let root: Vec<f32> = weights.iter().map(|w| w.sqrt() as f32).collect();
        Tensor::from_data(TensorData::new(root, [1, features]), d)
    };
    let (sqrt_w_train, sqrt_w_plain) = (sqrt_w(device), sqrt_w(&plain));
    let mut model = Autoencoder {
        encoder: Network::from_params(
            &spec.encoder,
            &initial_params(&spec.encoder, &mut rng),
            device,
        )?,
        decoder: Network::from_params(
            &spec.decoder,
            &initial_params(&spec.decoder, &mut rng),
            device,
        )?,
    };
    let parameters = spec.encoder.parameter_count() + spec.decoder.parameter_count();
    let mut optimizer = AdamConfig::new().init();
    let beta = config.l1_beta;
    let mut lr = config.learning_rate;
    let mut best: Option<(Autoencoder, f64, usize)> = None;
    let (mut plateau, mut stale) = (0usize, 0usize);
    let mut plateau_best = f64::INFINITY;
    let mut history = Vec::new();
    let mut stopped_early = false;

    for epoch in 1..=config.epochs {
        let start = Instant::now();
        train_rows.shuffle(&mut rng);
        let (mut loss_sum, mut mse_sum) = (0.0, 0.0);
        for rows in train_rows.chunks(config.batch_size) {
            let x = batch_tensor(&values, features, rows, device);
            let reconstruction = model.forward(x.clone());
            let mse = ((reconstruction - x) * sqrt_w_train.clone())
                .square()
                .mean();
            let loss = if beta > 0.0 {
                let (l1_enc, n_enc) = model.encoder.weight_l1();
                let (l1_dec, n_dec) = model.decoder.weight_l1();
                let l1 = (l1_enc + l1_dec) / (n_enc + n_dec) as f64;
                mse.clone() * (1.0 - beta) + l1 * beta
            } else {
                mse.clone()
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            loss_sum += scalar(loss) * rows.len() as f64;
            mse_sum += scalar(mse) * rows.len() as f64;
        }
        let train_loss = loss_sum / train_rows.len() as f64;
        let train_mse = mse_sum / train_rows.len() as f64;
        if !train_loss.is_finite() {
            return Err(Error::Training(format!(
                "the loss became {train_loss} in epoch {epoch}; lower training.learning_rate or check the data's range"
            )));
        }
        let validation_mse = if val_rows.is_empty() {
            train_mse
        } else {
            mse_of(&model.valid(), &values, &sqrt_w_plain, &val_rows, &plain)
        };

        let is_best = best.as_ref().is_none_or(|(_, b, _)| validation_mse < *b);
        if is_best {
            best = Some((model.valid(), validation_mse, epoch));
        }
        if validation_mse < plateau_best * (1.0 - 1e-4) {
            plateau_best = validation_mse;
            plateau = 0;
            stale = 0;
        } else {
            plateau += 1;
            stale += 1;
        }
        let stats = EpochStats {
            epoch,
            epochs: config.epochs,
            train_loss,
            train_mse,
            validation_mse,
            learning_rate: lr,
            seconds: start.elapsed().as_secs_f64(),
            best: is_best,
        };
        progress(&stats);
        history.push(stats);
        if plateau >= config.lr_patience && lr > config.min_lr {
            lr = (lr * config.lr_factor).max(config.min_lr);
            plateau = 0;
        }
        if config.early_stopping_patience > 0 && stale >= config.early_stopping_patience {
            stopped_early = true;
            break;
        }
    }

    let (best_model, best_validation_mse, best_epoch) = best.expect("at least one epoch ran");
    let decoder = Decoder::new(
        spec.decoder.clone(),
        best_model.decoder.params(),
        normalization,
        DataSignature::of(data),
    );
    let model = Model {
        encoder: spec.encoder.clone(),
        encoder_params: best_model.encoder.params(),
        decoder,
    };
    let report = TrainReport {
        history,
        best_epoch,
        best_validation_mse,
        stopped_early,
        train_rows: train_rows.len(),
        validation_rows: val_rows.len(),
        parameters,
        asinh_variables,
    };
    Ok((model, report))
}

/// Per-feature loss weights, normalised to mean 1; unknown variable names are an error.
fn loss_weights(data: &Dataset, config: &TrainingConfig) -> Result<Vec<f64>> {
    let mut weights = vec![1.0; data.features()];
    for (name, &w) in &config.weights {
        let Some(v) = data.names.iter().position(|n| n == name) else {
            return Err(Error::Mismatch(format!(
                "training.weights names '{name}', which is not a variable of the data ({})",
                if data.names.is_empty() {
                    "fields have no named variables".into()
                } else {
                    data.names.join(", ")
                }
            )));
        };
        weights[v] = w;
    }
    let mean = weights.iter().sum::<f64>() / weights.len() as f64;
    Ok(weights.into_iter().map(|w| w / mean).collect())
}

/// PyTorch's default initialisation, drawn from our own seeded generator (so that runs in parallel
/// threads stay reproducible): weights and biases uniform in ±1/√fan_in.
fn initial_params(spec: &NetworkSpec, rng: &mut StdRng) -> Vec<LayerParams> {
    spec.layers
        .iter()
        .filter_map(|layer| {
            let (w_shape, b_len) = layer.param_shapes()?;
            // dense weights are [inputs, outputs]; (transposed) convolutions [_, fan_in channels, k, k]
            let fan_in = match layer {
                LayerSpec::Dense { inputs, .. } => *inputs,
                _ => w_shape[1..].iter().product(),
            };
            let bound = 1.0 / (fan_in as f32).sqrt();
            let mut draw = |n: usize| {
                (0..n)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect::<Vec<f32>>()
            };
            let weight = ParamTensor {
                values: draw(w_shape.iter().product()),
                shape: w_shape,
            };
            let bias = ParamTensor {
                values: draw(b_len),
                shape: vec![b_len],
            };
            Some(LayerParams { weight, bias })
        })
        .collect()
}

/// Mean squared reconstruction error over `rows`, in batches, without gradients.
fn mse_of(
    model: &Autoencoder,
    values: &[f32],
    sqrt_w: &Tensor<2>,
    rows: &[usize],
    device: &Device,
) -> f64 {
    let features = sqrt_w.dims()[1];
    let mut sum = 0.0;
    for chunk in rows.chunks(4096) {
        let x = batch_tensor(values, features, chunk, device);
        let err = ((model.forward(x.clone()) - x) * sqrt_w.clone())
            .square()
            .sum();
        sum += scalar(err);
    }
    sum / (rows.len() * features) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::FloatType;
    use crate::network::run_network;

    #[test]
    fn advice_is_given_when_the_last_epochs_were_still_the_best() {
        let report = |best_epoch, stopped_early| TrainReport {
            history: (1..=500)
                .map(|epoch| EpochStats {
                    epoch,
                    epochs: 500,
                    train_loss: 1.0,
                    train_mse: 1.0,
                    validation_mse: 1.0,
                    learning_rate: 1e-3,
                    seconds: 0.1,
                    best: epoch == best_epoch,
                })
                .collect(),
            best_epoch,
            best_validation_mse: 1.0,
            stopped_early,
            train_rows: 10,
            validation_rows: 2,
            parameters: 100,
            asinh_variables: vec![],
        };
        let advice = report(496, false).advice().unwrap();
        assert!(
            advice.contains("best epoch (496) is among the last of the 500"),
            "{advice}"
        );
        assert!(advice.contains("Raise training.epochs"), "{advice}");
        assert_eq!(report(300, false).advice(), None);
        assert_eq!(report(500, true).advice(), None);
    }

    fn data() -> Dataset {
        let values = (0..300)
            .flat_map(|i| {
                let t = i as f64 / 300.0;
                [t, 2.0 * t + 1.0, (6.0 * t).sin(), t * t]
            })
            .collect();
        Dataset {
            kind: DataKind::Table,
            names: ["a", "b", "c", "d"].map(String::from).to_vec(),
            dtype: FloatType::F64,
            rows: 300,
            values,
        }
    }

    fn run(seed: u64, epochs: usize) -> (Model, TrainReport) {
        let model = ModelConfig {
            hidden: Some(vec![8]),
            latent: Some(2),
            ..Default::default()
        };
        let config = TrainingConfig {
            epochs,
            batch_size: 32,
            seed,
            ..Default::default()
        };
        train(&data(), &model, &config, &Device::flex(), &mut |_| {}).unwrap()
    }

    #[test]
    fn same_seed_gives_the_same_model_and_another_seed_does_not() {
        let (a, _) = run(7, 3);
        let (b, _) = run(7, 3);
        let (c, _) = run(8, 3);
        assert_eq!(a, b);
        assert_ne!(a.decoder.id, c.decoder.id);
    }

    #[test]
    fn the_best_checkpoint_is_kept_and_reproduces_its_validation_error() {
        let (model, report) = run(3, 25);
        let best = report
            .history
            .iter()
            .map(|s| s.validation_mse)
            .fold(f64::INFINITY, f64::min);
        assert_eq!(report.best_validation_mse, best);
        assert!(report.history[report.best_epoch - 1].best);
        assert!(report.history.last().unwrap().train_loss < report.history[0].train_loss);
        // the stored weights reconstruct the normalised data about as well as the best epoch did
        let device = Device::flex();
        let input = normalized(&data(), &model.decoder.normalization);
        let enc = Network::from_params(&model.encoder, &model.encoder_params, &device).unwrap();
        let dec =
            Network::from_params(&model.decoder.network, &model.decoder.params, &device).unwrap();
        let out = run_network(&dec, &run_network(&enc, &input, 4, &device), 2, &device);
        let mse = out
            .iter()
            .zip(&input)
            .map(|(y, x)| ((y - x) as f64).powi(2))
            .sum::<f64>()
            / input.len() as f64;
        assert!(
            mse < 3.0 * best,
            "whole-data MSE {mse} vs best validation MSE {best}"
        );
    }
}

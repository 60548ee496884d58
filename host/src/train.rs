//! Training with burn: loss (1−β)·MSE + β·mean|w|, Adam, reduce-on-plateau, early stopping on a
//! held-out validation split, seeded shuffling, and the best (not the last) checkpoint kept.

use crate::architecture::{self, AutoencoderSpec};
use crate::config::{ModelConfig, TrainingConfig};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::model_store::{DataSignature, Decoder, Model};
use crate::network::{Autoencoder, Network};
use baler_core::Normalization;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
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
    /// Mean squared error on the training batches (normalised units).
    pub train_mse: f64,
    /// Mean squared error on the validation split (the training MSE when there is none).
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
}

/// Fits the normalisation that compression will use (one map per table variable, one for all field values).
pub fn fit_normalization(data: &Dataset, config: &TrainingConfig) -> Normalization {
    let variables = match data.kind {
        DataKind::Table => data.names.len(),
        DataKind::Fields { .. } => 1,
    };
    Normalization::fit(config.normalization, &data.values, variables)
}

/// Normalised samples as f32, row-major.
pub fn normalized(data: &Dataset, normalization: &Normalization) -> Vec<f32> {
    let mut values = data.values.clone();
    normalization.apply(&mut values);
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

/// Trains an autoencoder on `data`. `device` must have autodiff enabled. `progress` sees every epoch.
pub fn train(
    data: &Dataset,
    model_config: &ModelConfig,
    config: &TrainingConfig,
    device: &Device,
    progress: &mut dyn FnMut(&EpochStats),
) -> Result<(Model, TrainReport)> {
    let spec: AutoencoderSpec = architecture::build(model_config, data.kind, data.features())?;
    let normalization = fit_normalization(data, config);
    let values = normalized(data, &normalization);
    let features = data.features();

    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..data.rows).collect();
    order.shuffle(&mut rng);
    let n_val = ((data.rows as f64 * config.validation_fraction).round() as usize).min(data.rows - 1);
    let (val_rows, train_rows) = order.split_at(n_val);
    let (val_rows, mut train_rows) = (val_rows.to_vec(), train_rows.to_vec());

    device.seed(config.seed);
    let plain = device.clone().without_autodiff();
    let mut model = Autoencoder {
        encoder: Network::init(&spec.encoder, device)?,
        decoder: Network::init(&spec.decoder, device)?,
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
            let mse = (reconstruction - x).square().mean();
            let (l1_enc, n_enc) = model.encoder.weight_l1();
            let (l1_dec, n_dec) = model.decoder.weight_l1();
            let l1 = (l1_enc + l1_dec) / (n_enc + n_dec) as f64;
            let loss = mse.clone() * (1.0 - beta) + l1 * beta;
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
        let validation_mse =
            if val_rows.is_empty() { train_mse } else { mse_of(&model.valid(), &values, features, &val_rows, &plain) };

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
    let model = Model { encoder: spec.encoder.clone(), encoder_params: best_model.encoder.params(), decoder };
    let report = TrainReport {
        history,
        best_epoch,
        best_validation_mse,
        stopped_early,
        train_rows: train_rows.len(),
        validation_rows: val_rows.len(),
        parameters,
    };
    Ok((model, report))
}

/// Mean squared reconstruction error over `rows`, in batches, without gradients.
fn mse_of(model: &Autoencoder, values: &[f32], features: usize, rows: &[usize], device: &Device) -> f64 {
    let mut sum = 0.0;
    for chunk in rows.chunks(4096) {
        let x = batch_tensor(values, features, chunk, device);
        let err = (model.forward(x.clone()) - x).square().sum();
        sum += scalar(err);
    }
    sum / (rows.len() * features) as f64
}

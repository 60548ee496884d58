//! What a model will cost before it is trained: parameters, decoder bytes and training memory (an estimate)
//! against the data it learns from; the warnings a user should read first, and the refusal of a model too large.

use crate::architecture::AutoencoderSpec;
use crate::config::{ModelConfig, TrainingConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Fewest training samples before a warning that the model learns the samples rather than their kind.
const FEW_SAMPLES: usize = 100;
/// Bytes per parameter while training: the weight, its gradient and Adam's two moments, all f32.
const TRAINING_BYTES_PER_PARAMETER: u64 = 16;
/// Bytes per activation value while training: forward output, its gradient and autodiff's saved copy, f32.
const TRAINING_BYTES_PER_ACTIVATION: u64 = 12;

/// The size of a model for a dataset, known before training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelPlan {
    /// Trainable values of the encoder.
    pub encoder_parameters: usize,
    /// Trainable values of the decoder.
    pub decoder_parameters: usize,
    /// The decoder's weights as f32: what a compressed file needs beside it to be restored.
    pub decoder_bytes: u64,
    /// Training memory, an estimate: parameters × 16 B (weight, gradient, Adam's moments) plus a batch's
    /// activations × 12 B; burn's allocator and the data come on top.
    pub training_memory_estimate: u64,
    /// Samples (rows or fields) in the data.
    pub samples: usize,
    /// Samples trained on.
    pub train_samples: usize,
    /// Samples held out for validation (0: validation measures the training samples).
    pub validation_samples: usize,
    /// The data's size as stored.
    pub data_bytes: u64,
    /// Values in the training samples.
    pub train_values: u64,
}

/// Samples held out for validation: `fraction` of them, rounded, leaving at least one to train on.
pub fn validation_samples(samples: usize, fraction: f64) -> usize {
    ((samples as f64 * fraction).round() as usize).min(samples.saturating_sub(1))
}

impl ModelPlan {
    /// The plan of `spec` trained on `data` as `training` says.
    pub fn of(spec: &AutoencoderSpec, data: &Dataset, training: &TrainingConfig) -> Self {
        let (encoder_parameters, decoder_parameters) = (
            spec.encoder.parameter_count(),
            spec.decoder.parameter_count(),
        );
        let activations: u64 = [&spec.encoder, &spec.decoder]
            .iter()
            .filter_map(|n| n.shapes().ok())
            .flatten()
            .map(|s| s.iter().product::<usize>() as u64)
            .sum();
        let validation = validation_samples(data.rows, training.validation_fraction);
        let train_samples = data.rows - validation;
        let batch = training.batch_size.min(train_samples).max(1) as u64;
        let parameters = (encoder_parameters + decoder_parameters) as u64;
        ModelPlan {
            encoder_parameters,
            decoder_parameters,
            decoder_bytes: decoder_parameters as u64 * 4,
            training_memory_estimate: parameters * TRAINING_BYTES_PER_PARAMETER
                + batch * activations * TRAINING_BYTES_PER_ACTIVATION,
            samples: data.rows,
            train_samples,
            validation_samples: validation,
            data_bytes: data.raw_bytes() as u64,
            train_values: (train_samples * data.features()) as u64,
        }
    }

    /// Encoder and decoder parameters together.
    pub fn parameters(&self) -> usize {
        self.encoder_parameters + self.decoder_parameters
    }

    /// Refuses a model over `model.max_parameters`, saying what to change.
    pub fn check(&self, model: &ModelConfig) -> Result<()> {
        if self.parameters() <= model.max_parameters {
            return Ok(());
        }
        Err(Error::Mismatch(format!(
            "the model would have {} parameters ({} to train, an estimate), over model.max_parameters = {}: raise \
             model.ratio, lower model.hidden or model.conv_max_flattened, or raise model.max_parameters in baler.toml",
            count(self.parameters()),
            bytes(self.training_memory_estimate),
            count(model.max_parameters)
        )))
    }

    /// One line: parameters, decoder bytes, training memory and the data.
    pub fn summary(&self) -> String {
        format!(
            "model: encoder {} parameters, decoder {} ({} as f32); training memory about {} (estimate); data {} in {} \
             ({} to train on, {} held out)",
            count(self.encoder_parameters),
            count(self.decoder_parameters),
            bytes(self.decoder_bytes),
            bytes(self.training_memory_estimate),
            bytes(self.data_bytes),
            samples(self.samples),
            self.train_samples,
            self.validation_samples
        )
    }

    /// What a user should know before spending the training time: a decoder outweighing the data, too few
    /// samples, more parameters than training values, no held-out samples.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.decoder_bytes > self.data_bytes {
            warnings.push(format!(
                "the decoder ({}) is {:.1}× the data ({}): a file restored with it compresses this data below \
                 1:1 counting the decoder (R_actual); it pays only when reused on much more data of this kind",
                bytes(self.decoder_bytes),
                self.decoder_bytes as f64 / self.data_bytes as f64,
                bytes(self.data_bytes)
            ));
        }
        if self.train_samples < FEW_SAMPLES {
            warnings.push(format!(
                "only {} to train on (fewer than {FEW_SAMPLES}): the model learns these samples rather than \
                 data of their kind",
                samples(self.train_samples)
            ));
        }
        if self.parameters() as u64 > self.train_values {
            warnings.push(format!(
                "{} parameters for {} training values: the model can memorise its training data",
                count(self.parameters()),
                count(self.train_values as usize)
            ));
        }
        if self.validation_samples == 0 {
            warnings.push(
                "no sample is held out: the validation error is measured on the training samples"
                    .into(),
            );
        }
        warnings
    }
}

/// "1 sample", "12 samples".
fn samples(n: usize) -> String {
    format!("{n} sample{}", if n == 1 { "" } else { "s" })
}

/// 1234567 → "1.2 M".
pub fn count(n: usize) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1} k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} M", n as f64 / 1e6),
        _ => format!("{:.1} G", n as f64 / 1e9),
    }
}

/// 1234567 → "1.2 MB" (SI units).
pub fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.1} GB", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::architecture;
    use crate::data::{DataKind, FloatType};

    fn image(height: usize, width: usize, frames: usize) -> Dataset {
        Dataset {
            kind: DataKind::Fields { height, width },
            names: vec![],
            dtype: FloatType::F32,
            rows: frames,
            values: vec![0.5; frames * height * width],
        }
    }

    #[test]
    fn one_large_image_gets_a_bounded_model_and_every_warning() {
        let data = image(344, 403, 1);
        let config = ModelConfig::default();
        let spec = architecture::build(&config, data.kind, data.features()).unwrap();
        let plan = ModelPlan::of(&spec, &data, &TrainingConfig::default());
        // the automatic depth keeps the dense layer to the latent small: 96 M parameters per half before
        assert!(plan.decoder_parameters < 2_000_000, "{plan:?}");
        plan.check(&config).unwrap();
        let warnings = plan.warnings().join("\n");
        for needle in [
            "the decoder (",
            "only 1 sample to train on",
            "memorise",
            "no sample is held out",
        ] {
            assert!(warnings.contains(needle), "{needle}: {warnings}");
        }
        let tight = ModelConfig {
            max_parameters: 1000,
            ..config
        };
        let err = plan.check(&tight).unwrap_err().to_string();
        assert!(err.contains("over model.max_parameters = 1.0 k"), "{err}");
    }

    #[test]
    fn a_large_table_draws_no_warning() {
        let data = Dataset {
            kind: DataKind::Table,
            names: (0..24).map(|i| format!("v{i}")).collect(),
            dtype: FloatType::F32,
            rows: 100_000,
            values: vec![1.0; 2_400_000],
        };
        let spec = architecture::build(&ModelConfig::default(), data.kind, 24).unwrap();
        let plan = ModelPlan::of(&spec, &data, &TrainingConfig::default());
        assert_eq!(plan.validation_samples, 15_000);
        assert_eq!(plan.warnings(), Vec::<String>::new());
        assert_eq!(
            (count(1_234_567), bytes(555_000)),
            ("1.2 M".into(), "555.0 kB".into())
        );
    }
}

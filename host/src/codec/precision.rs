//! The latent precision chosen by measurement: each candidate (f32, f16, and the quantised decoder's input codes)
//! stores a sample's latent, is decoded, and the smallest file whose error stays within a tolerance of f32's wins.

use super::{decompress, with_latent};
use crate::container::LatentPrecision;
use crate::data::Dataset;
use crate::error::Result;
use crate::model::DecoderFacts;
use crate::runtime::DeviceStream;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Samples the choice is measured on: at most this many, spread over the data.
pub const PRECISION_SAMPLES: usize = 2048;
/// A candidate may reconstruct the sample with at most this much more squared error than f32 latents.
pub const PRECISION_TOLERANCE: f64 = 0.01;

/// One candidate's figures on the sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionTrial {
    /// The precision tried.
    pub precision: LatentPrecision,
    /// Mean squared error of the sample's reconstruction, in normalised units.
    pub mse: f64,
    /// Bytes of the sample's compressed file.
    pub bytes: u64,
}

/// The precision chosen and the figures that chose it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionChoice {
    /// The smallest file within [`PRECISION_TOLERANCE`] of f32's error.
    pub chosen: LatentPrecision,
    /// Samples measured.
    pub samples: usize,
    /// Every candidate that could store the latent, f32 first.
    pub trials: Vec<PrecisionTrial>,
}

impl PrecisionChoice {
    /// "f16, measured on 2048 samples: MSE 1.0002× f32's, file 0.52× (codes: …)".
    pub fn sentence(&self) -> String {
        let f32_trial = &self.trials[0];
        let figures: Vec<String> = self
            .trials
            .iter()
            .map(|t| {
                format!(
                    "{} MSE {:.4}×, size {:.2}×",
                    t.precision.name(),
                    t.mse / f32_trial.mse.max(f64::MIN_POSITIVE),
                    t.bytes as f64 / f32_trial.bytes as f64
                )
            })
            .collect();
        format!(
            "{} (measured on {} samples against f32 latents: {}; the smallest within {} % of f32's error)",
            self.chosen.name(),
            self.samples,
            figures.join("; "),
            100.0 * PRECISION_TOLERANCE
        )
    }
}

/// Chooses the latent precision of `data`, whose encoder gave `latent`, by storing a sample of at most
/// [`PRECISION_SAMPLES`] samples in each precision, restoring it with the decoder behind `decoder_device`, and
/// taking the smallest file (at `zstd_level`) whose mean squared error is within [`PRECISION_TOLERANCE`] of f32's.
/// Codes are tried where the decoder is the quantised one; f16 where every latent value fits its range.
pub fn choose_precision(
    decoder: &dyn DecoderFacts,
    data: &Dataset,
    latent: &[f64],
    zstd_level: i32,
    decoder_device: &mut DeviceStream,
) -> Result<PrecisionChoice> {
    let (sample, sample_latent) = spread_sample(data, latent, decoder.latent());
    let original = sample.normalized(decoder.normalization());
    let mut candidates = vec![LatentPrecision::F32, LatentPrecision::F16];
    if decoder.latent_format().is_some() {
        candidates.push(LatentPrecision::Codes);
    }
    let mut trials = Vec::new();
    for precision in candidates {
        let file = match with_latent(decoder, &sample, &sample_latent, precision) {
            Ok(file) => file,
            Err(e) if precision == LatentPrecision::F32 => return Err(e),
            // f16 cannot hold a latent beyond its range, nor codes one beyond the decoder's format: they drop out
            Err(_) => continue,
        };
        let bytes = file.encode(zstd_level).bytes.len() as u64;
        let restored = decompress(decoder, &file, Path::new("sample"), decoder_device)?;
        let restored = restored.normalized(decoder.normalization());
        let mse = original
            .iter()
            .zip(&restored)
            .map(|(x, y)| (y - x) * (y - x))
            .sum::<f64>()
            / original.len() as f64;
        trials.push(PrecisionTrial {
            precision,
            mse,
            bytes,
        });
    }
    let limit = trials[0].mse * (1.0 + PRECISION_TOLERANCE);
    let chosen = trials
        .iter()
        .filter(|t| t.mse <= limit)
        .min_by_key(|t| t.bytes)
        .map_or(LatentPrecision::F32, |t| t.precision);
    Ok(PrecisionChoice {
        chosen,
        samples: sample.rows,
        trials,
    })
}

/// Every ⌈rows / PRECISION_SAMPLES⌉-th sample of `data` and its latent (`latent_size` values each).
fn spread_sample(data: &Dataset, latent: &[f64], latent_size: usize) -> (Dataset, Vec<f64>) {
    let stride = data.rows.div_ceil(PRECISION_SAMPLES).max(1);
    let latent = latent
        .chunks(latent_size)
        .step_by(stride)
        .flatten()
        .copied()
        .collect();
    let rows = super::SampleRows {
        start: 0,
        end: data.rows,
        stride,
    };
    (super::sample(data, 0, rows), latent)
}

//! Turns the `[model]` configuration and the data's shape into encoder and decoder layer lists:
//! the dense Baler model, the small FPGA preset, and a convolutional model whose latent size follows
//! the requested ratio.

use crate::config::{ActivationName, ModelConfig, Preset};
use crate::data::DataKind;
use crate::error::{Error, Result};
use baler_core::{Activation, LayerSpec, NetworkSpec};

/// Encoder and decoder descriptions of one autoencoder.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoencoderSpec {
    /// Data → latent.
    pub encoder: NetworkSpec,
    /// Latent → data.
    pub decoder: NetworkSpec,
}

impl AutoencoderSpec {
    /// Latent values per sample.
    pub fn latent(&self) -> usize {
        self.decoder.input_shape[0]
    }
}

/// Latent size: `latent` if given, else values per sample / ratio (rounded, at least 1).
pub fn latent_size(config: &ModelConfig, kind: DataKind, features: usize) -> usize {
    config.latent.unwrap_or_else(|| {
        let ratio = config.ratio.unwrap_or(match kind {
            DataKind::Table => 1.6,
            DataKind::Fields { .. } => 100.0,
        });
        ((features as f64 / ratio).round() as usize).max(1)
    })
}

/// Builds the autoencoder for data of this kind with `features` values per sample.
pub fn build(config: &ModelConfig, kind: DataKind, features: usize) -> Result<AutoencoderSpec> {
    let latent = latent_size(config, kind, features);
    if latent > features {
        return Err(Error::Mismatch(format!(
            "latent size {latent} is larger than the {features} values per sample: nothing would be compressed"
        )));
    }
    let hidden_act = match config.activation {
        ActivationName::LeakyRelu => Activation::LeakyRelu {
            alpha: config.leaky_slope,
        },
        ActivationName::Relu => Activation::Relu,
    };
    let preset = match (config.preset, kind) {
        (Preset::Auto, DataKind::Table) => Preset::Baler,
        (Preset::Auto, DataKind::Fields { .. }) => Preset::Conv,
        (p, _) => p,
    };
    match (preset, kind) {
        (Preset::Conv, DataKind::Fields { height, width }) => {
            let channels = conv_stages(
                &config.conv_channels,
                height,
                width,
                config.conv_max_flattened,
            );
            conv(&channels, height, width, latent, hidden_act)
        }
        (Preset::Conv, DataKind::Table) => Err(Error::Mismatch(
            "the conv preset needs 2-D fields (a 3-D array), not a table".into(),
        )),
        (Preset::FpgaSmall, _) => {
            let hidden = config.hidden.clone().unwrap_or(vec![32, 16]);
            Ok(dense(features, &hidden, latent, hidden_act))
        }
        _ => {
            let hidden = config.hidden.clone().unwrap_or(vec![200, 100, 50]);
            Ok(dense(features, &hidden, latent, hidden_act))
        }
    }
}

fn dense_chain(sizes: &[usize], act: Activation) -> Vec<LayerSpec> {
    let last = sizes.len() - 2;
    sizes
        .windows(2)
        .enumerate()
        .map(|(i, w)| LayerSpec::Dense {
            inputs: w[0],
            outputs: w[1],
            activation: if i == last { Activation::Linear } else { act },
        })
        .collect()
}

/// `features → hidden… → latent` and the mirror, linear latent and output.
pub fn dense(features: usize, hidden: &[usize], latent: usize, act: Activation) -> AutoencoderSpec {
    let sizes: Vec<usize> = std::iter::once(features)
        .chain(hidden.iter().copied())
        .chain([latent])
        .collect();
    let mirrored: Vec<usize> = sizes.iter().rev().copied().collect();
    AutoencoderSpec {
        encoder: NetworkSpec {
            input_shape: vec![features],
            layers: dense_chain(&sizes, act),
        },
        decoder: NetworkSpec {
            input_shape: vec![latent],
            layers: dense_chain(&mirrored, act),
        },
    }
}

/// The channel count of each stride-2 stage: `channels`, then the last count repeated while the flattened field
/// is larger than `max_flattened` and both sides can still halve.
fn conv_stages(
    channels: &[usize],
    height: usize,
    width: usize,
    max_flattened: usize,
) -> Vec<usize> {
    let mut stages = channels.to_vec();
    let last = *channels
        .last()
        .expect("checked: at least one channel count");
    let (mut h, mut w) = (height, width);
    for _ in channels {
        (h, w) = (h.div_ceil(2), w.div_ceil(2));
    }
    while last * h * w > max_flattened && h >= 2 && w >= 2 {
        stages.push(last);
        (h, w) = (h.div_ceil(2), w.div_ceil(2));
    }
    stages
}

/// Convolutional autoencoder: a 3×3 convolution, then one stride-2 convolution per channel count,
/// flatten, one dense layer to the latent; the decoder mirrors it with transposed convolutions whose
/// output padding restores the exact field size.
fn conv(
    channels: &[usize],
    height: usize,
    width: usize,
    latent: usize,
    act: Activation,
) -> Result<AutoencoderSpec> {
    let conv = |i, o, stride, activation| LayerSpec::Conv2d {
        in_channels: i,
        out_channels: o,
        kernel: 3,
        stride,
        padding: 1,
        activation,
    };
    let mut sizes = vec![(height, width)];
    for _ in channels {
        let (h, w) = *sizes.last().unwrap();
        if h < 2 || w < 2 {
            return Err(Error::Mismatch(format!(
                "fields of {height}×{width} are too small for {} stride-2 convolutions; use fewer conv_channels",
                channels.len()
            )));
        }
        sizes.push((h.div_ceil(2), w.div_ceil(2)));
    }
    let (h_end, w_end) = *sizes.last().unwrap();
    let c_end = *channels.last().unwrap();
    let flat = c_end * h_end * w_end;

    let mut enc = vec![conv(1, channels[0], 1, act)];
    let mut prev = channels[0];
    for &c in channels {
        enc.push(conv(prev, c, 2, act));
        prev = c;
    }
    enc.push(LayerSpec::Flatten);
    enc.push(LayerSpec::Dense {
        inputs: flat,
        outputs: latent,
        activation: Activation::Linear,
    });

    let mut dec = vec![
        LayerSpec::Dense {
            inputs: latent,
            outputs: flat,
            activation: act,
        },
        LayerSpec::Unflatten {
            channels: c_end,
            height: h_end,
            width: w_end,
        },
    ];
    for (i, &c) in channels.iter().enumerate().rev() {
        let out = if i == 0 { channels[0] } else { channels[i - 1] };
        let (h_in, w_in) = sizes[i + 1];
        let (h_out, w_out) = sizes[i];
        // (in-1)*2 - 2 + 3 + pad_out = out  →  pad_out = out - 2*in + 1 (0 or 1)
        dec.push(LayerSpec::ConvTranspose2d {
            in_channels: c,
            out_channels: out,
            kernel: 3,
            stride: 2,
            padding: 1,
            output_padding: [h_out + 1 - 2 * h_in, w_out + 1 - 2 * w_in],
            activation: act,
        });
    }
    dec.push(conv(channels[0], 1, 1, Activation::Linear));
    let spec = AutoencoderSpec {
        encoder: NetworkSpec {
            input_shape: vec![1, height, width],
            layers: enc,
        },
        decoder: NetworkSpec {
            input_shape: vec![latent],
            layers: dec,
        },
    };
    debug_assert_eq!(
        spec.decoder.output_shape().ok(),
        Some(vec![1, height, width])
    );
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baler_model_is_the_paper_shape() {
        let config = ModelConfig {
            latent: Some(5),
            ..Default::default()
        };
        let ae = build(&config, DataKind::Table, 9).unwrap();
        assert_eq!(ae.encoder.output_shape().unwrap(), vec![5]);
        assert_eq!(ae.decoder.output_shape().unwrap(), vec![9]);
        assert_eq!(ae.encoder.layers.len(), 4);
        assert_eq!(
            ae.encoder.parameter_count(),
            9 * 200 + 200 + 200 * 100 + 100 + 100 * 50 + 50 + 50 * 5 + 5
        );
    }

    #[test]
    fn conv_latent_follows_ratio_and_restores_odd_sizes() {
        for (h, w) in [(50, 50), (61, 120), (7, 9)] {
            let config = ModelConfig {
                ratio: Some(10.0),
                ..Default::default()
            };
            let ae = build(
                &config,
                DataKind::Fields {
                    height: h,
                    width: w,
                },
                h * w,
            )
            .unwrap();
            assert_eq!(ae.latent(), ((h * w) as f64 / 10.0).round() as usize);
            assert_eq!(ae.encoder.output_shape().unwrap(), vec![ae.latent()]);
            assert_eq!(ae.decoder.output_shape().unwrap(), vec![1, h, w], "{h}×{w}");
        }
    }

    #[test]
    fn conv_depth_follows_the_field_size() {
        let fields = |height, width| DataKind::Fields { height, width };
        let config = ModelConfig::default();
        // the shipped CFD fields keep the two configured stages: 8 × 13 × 13 = 1352 values flattened
        let cfd = build(&config, fields(50, 50), 2500).unwrap();
        assert_eq!(cfd.encoder.layers.len(), 5, "{:?}", cfd.encoder.layers);
        // a 344 × 403 image: three more stages, 8 × 11 × 13 = 1144 values flattened
        let terrain = build(&config, fields(344, 403), 344 * 403).unwrap();
        assert_eq!(terrain.encoder.layers.len(), 8);
        let flat = &terrain.encoder.shapes().unwrap()[7];
        assert_eq!(flat, &vec![1144]);
        assert_eq!(terrain.decoder.output_shape().unwrap(), vec![1, 344, 403]);
    }

    #[test]
    fn the_fpga_small_preset_builds_the_activation_its_configuration_names() {
        let hidden = |config: &ModelConfig| {
            let ae = build(config, DataKind::Table, 9).unwrap();
            match ae.encoder.layers[0] {
                LayerSpec::Dense { activation, .. } => activation,
                ref other => panic!("{other:?}"),
            }
        };
        let preset = ModelConfig::for_preset(Preset::FpgaSmall);
        assert_eq!(preset.activation, ActivationName::Relu);
        assert_eq!(hidden(&preset), Activation::Relu);
        // the setting written into baler.toml is the one built, whatever the preset
        let leaky = ModelConfig {
            activation: ActivationName::LeakyRelu,
            ..preset
        };
        assert_eq!(hidden(&leaky), Activation::LeakyRelu { alpha: 0.01 });
    }

    #[test]
    fn latent_larger_than_input_is_refused() {
        let config = ModelConfig {
            latent: Some(12),
            ..Default::default()
        };
        assert!(build(&config, DataKind::Table, 9).is_err());
    }
}

//! The model id: a hash of everything needed to decompress (decoder layers, decoder parameters and the
//! normalisation). It travels in every compressed file, manifest and handshake; a mismatch is refused.

use crate::model::{Activation, LayerParams, LayerSpec, NetworkSpec};
use crate::normalization::{Normalization, NormalizationMethod};
use core::fmt;
use sha2::{Digest, Sha256};

/// First 16 bytes of a SHA-256 over the canonical encoding of decoder and normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelId(pub [u8; 16]);

impl ModelId {
    /// Hashes the decoder description, its parameters (in layer order) and the normalisation.
    pub fn of(
        decoder: &NetworkSpec,
        params: &[LayerParams],
        normalization: &Normalization,
    ) -> Self {
        let mut h = Sha256::new();
        h.update(b"baler-model-id-v1");
        put_usizes(&mut h, &decoder.input_shape);
        for layer in &decoder.layers {
            put_layer(&mut h, layer);
        }
        for p in params {
            for t in [&p.weight, &p.bias] {
                put_usizes(&mut h, &t.shape);
                for v in &t.values {
                    h.update(v.to_le_bytes());
                }
            }
        }
        put_normalization(&mut h, normalization);
        ModelId::from_hasher(h)
    }

    /// The id made of the first 16 bytes of a finished hash.
    pub(crate) fn from_hasher(h: Sha256) -> Self {
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        ModelId(id)
    }

    /// Parses the 32-digit lower-case hex form written by `Display`.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 32 {
            return None;
        }
        let mut id = [0u8; 16];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            id[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(ModelId(id))
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

pub(crate) fn put_normalization(h: &mut Sha256, normalization: &Normalization) {
    h.update([match normalization.method {
        NormalizationMethod::MinMax => 0u8,
        NormalizationMethod::Standard => 1,
    }]);
    for v in normalization.offset.iter().chain(&normalization.scale) {
        h.update(v.to_le_bytes());
    }
}

fn put_usizes(h: &mut Sha256, values: &[usize]) {
    h.update((values.len() as u64).to_le_bytes());
    for v in values {
        h.update((*v as u64).to_le_bytes());
    }
}

fn put_activation(h: &mut Sha256, a: Activation) {
    match a {
        Activation::Linear => h.update([0u8]),
        Activation::Relu => h.update([1u8]),
        Activation::LeakyRelu { alpha } => {
            h.update([2u8]);
            h.update(alpha.to_le_bytes());
        }
    }
}

pub(crate) fn put_layer(h: &mut Sha256, layer: &LayerSpec) {
    match *layer {
        LayerSpec::Dense {
            inputs,
            outputs,
            activation,
        } => {
            h.update([0u8]);
            put_usizes(h, &[inputs, outputs]);
            put_activation(h, activation);
        }
        LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            activation,
        } => {
            h.update([1u8]);
            put_usizes(h, &[in_channels, out_channels, kernel, stride, padding]);
            put_activation(h, activation);
        }
        LayerSpec::ConvTranspose2d {
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            output_padding,
            activation,
        } => {
            h.update([2u8]);
            put_usizes(
                h,
                &[
                    in_channels,
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    output_padding[0],
                    output_padding[1],
                ],
            );
            put_activation(h, activation);
        }
        LayerSpec::Flatten => h.update([3u8]),
        LayerSpec::Unflatten {
            channels,
            height,
            width,
        } => {
            h.update([4u8]);
            put_usizes(h, &[channels, height, width]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParamTensor;
    use alloc::{string::ToString, vec};

    fn decoder() -> (NetworkSpec, vec::Vec<LayerParams>, Normalization) {
        let spec = NetworkSpec {
            input_shape: vec![1],
            layers: vec![LayerSpec::Dense {
                inputs: 1,
                outputs: 2,
                activation: Activation::Linear,
            }],
        };
        let params = vec![LayerParams {
            weight: ParamTensor {
                shape: vec![1, 2],
                values: vec![0.5, -1.0],
            },
            bias: ParamTensor {
                shape: vec![2],
                values: vec![0.0, 0.25],
            },
        }];
        let norm = Normalization {
            method: NormalizationMethod::MinMax,
            offset: vec![0.0, 1.0],
            scale: vec![1.0, 2.0],
        };
        (spec, params, norm)
    }

    #[test]
    fn id_changes_with_any_weight_and_round_trips_as_hex() {
        let (spec, mut params, norm) = decoder();
        let id = ModelId::of(&spec, &params, &norm);
        assert_eq!(ModelId::parse(&id.to_string()), Some(id));
        params[0].weight.values[1] = -1.0000001;
        assert_ne!(ModelId::of(&spec, &params, &norm), id);
        assert_eq!(ModelId::parse("not hex"), None);
    }
}

//! The model id: a hash of everything needed to decompress (decoder layers, decoder parameters, the
//! normalisation and the data's layout). It travels in every compressed file, manifest and handshake.

#[cfg(feature = "alloc")]
use crate::model::{Activation, LayerParams, LayerSpec, NetworkSpec};
#[cfg(feature = "alloc")]
use crate::normalization::{Normalization, NormalizationMethod};
#[cfg(feature = "alloc")]
use alloc::string::String;
use core::fmt;
#[cfg(feature = "alloc")]
use sha2::{Digest, Sha256};

/// The layout of one sample of the data a model restores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleKind {
    /// A row of named variables.
    Table,
    /// A 2-D field of `height × width` values.
    Fields {
        /// Rows of the field.
        height: usize,
        /// Columns of the field.
        width: usize,
    },
}

#[cfg(feature = "alloc")]
/// What a model records of its training data and uses to restore it (the host's data signature as plain
/// data): the sample layout, the variable names and which variables are rounded to integers. The model id
/// covers it, so an edited name or flag is caught like an edited weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataLayout<'a> {
    /// Table or fields.
    pub kind: SampleKind,
    /// Variable names of a table (empty for fields).
    pub names: &'a [String],
    /// Per table variable: restored by rounding.
    pub integer: &'a [bool],
}

/// First 16 bytes of a SHA-256 over the canonical encoding of decoder and normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelId(pub [u8; 16]);

impl ModelId {
    /// Hashes the decoder description, its parameters (in layer order), the normalisation and the data
    /// layout.
    #[cfg(feature = "alloc")]
    pub fn of(
        decoder: &NetworkSpec,
        params: &[LayerParams],
        normalization: &Normalization,
        data: &DataLayout,
    ) -> Self {
        let mut h = Sha256::new();
        h.update(b"baler-model-id-v2");
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
        put_data(&mut h, data);
        ModelId::from_hasher(h)
    }

    /// The id made of the first 16 bytes of a finished hash.
    #[cfg(feature = "alloc")]
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

#[cfg(feature = "alloc")]
pub(crate) fn put_normalization(h: &mut Sha256, normalization: &Normalization) {
    h.update([match normalization.method {
        NormalizationMethod::MinMax => 0u8,
        NormalizationMethod::Standard => 1,
    }]);
    for v in normalization.offset.iter().chain(&normalization.scale) {
        h.update(v.to_le_bytes());
    }
    // only where some variable has one, so that the ids of models without the transform stay as they were
    if normalization.asinh_scale.iter().any(|&s| s != 0.0) {
        h.update(b"asinh");
        for v in &normalization.asinh_scale {
            h.update(v.to_le_bytes());
        }
    }
}

#[cfg(feature = "alloc")]
/// The data layout: kind (0 table, 1 fields with height and width), the names (count, then each as its
/// byte length and UTF-8 bytes) and the integer flags (count, then one byte each).
pub(crate) fn put_data(h: &mut Sha256, data: &DataLayout) {
    match data.kind {
        SampleKind::Table => h.update([0u8]),
        SampleKind::Fields { height, width } => {
            h.update([1u8]);
            put_usizes(h, &[height, width]);
        }
    }
    h.update((data.names.len() as u64).to_le_bytes());
    for name in data.names {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
    }
    h.update((data.integer.len() as u64).to_le_bytes());
    for &flag in data.integer {
        h.update([flag as u8]);
    }
}

#[cfg(feature = "alloc")]
pub(crate) fn put_usizes(h: &mut Sha256, values: &[usize]) {
    h.update((values.len() as u64).to_le_bytes());
    for v in values {
        h.update((*v as u64).to_le_bytes());
    }
}

#[cfg(feature = "alloc")]
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

#[cfg(feature = "alloc")]
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

    const TABLE: DataLayout = DataLayout {
        kind: SampleKind::Table,
        names: &[],
        integer: &[],
    };

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
            asinh_scale: vec![],
        };
        (spec, params, norm)
    }

    #[test]
    fn id_changes_with_any_weight_and_round_trips_as_hex() {
        let (spec, mut params, norm) = decoder();
        let id = ModelId::of(&spec, &params, &norm, &TABLE);
        assert_eq!(ModelId::parse(&id.to_string()), Some(id));
        params[0].weight.values[1] = -1.0000001;
        assert_ne!(ModelId::of(&spec, &params, &norm, &TABLE), id);
        assert_eq!(ModelId::parse("not hex"), None);
    }

    #[test]
    fn id_covers_kind_names_and_integer_flags() {
        let (spec, params, norm) = decoder();
        let names = ["a".to_string(), "b".to_string()];
        let renamed = ["a".to_string(), "c".to_string()];
        // the split between names must count: ["ab", ""] is not ["a", "b"]
        let joined = ["ab".to_string(), String::new()];
        let table = |names, integer| DataLayout {
            kind: SampleKind::Table,
            names,
            integer,
        };
        let ids = [
            table(&names, &[false, true]),
            table(&renamed, &[false, true]),
            table(&joined, &[false, true]),
            table(&names, &[false, false]),
            DataLayout {
                kind: SampleKind::Fields {
                    height: 1,
                    width: 2,
                },
                names: &[],
                integer: &[],
            },
            TABLE,
        ]
        .map(|data| ModelId::of(&spec, &params, &norm, &data));
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}

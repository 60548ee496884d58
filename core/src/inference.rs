//! One set of layer loops (dense, convolution, transposed convolution, reshapes) for every number system:
//! an [`Arithmetic`] says how to start, multiply-accumulate and finish; float and fixed point plug in.

use crate::model::{Activation, LayerParams, LayerSpec, NetworkSpec, ShapeError};
use alloc::vec::Vec;
use half::{bf16, f16};

/// The number system a layer computes in: what an accumulator starts at (the bias), how one product is added
/// and how the accumulator becomes an output (result format and activation).
pub trait Arithmetic {
    /// An activation value.
    type Value: Copy + Default;
    /// An accumulator.
    type Acc: Copy;
    /// The accumulator of output channel `channel`, holding its bias.
    fn start(&self, channel: usize) -> Self::Acc;
    /// `acc + x · weights[weight]`.
    fn mac(&self, acc: Self::Acc, x: Self::Value, weight: usize) -> Self::Acc;
    /// The output value: result conversion, then the activation.
    fn finish(&self, acc: Self::Acc) -> Self::Value;
}

/// The order in which a dense layer adds its inputs: `0..n` for a reuse factor of 1, otherwise stride-`rf`
/// groups `r, r+rf, r+2rf, …` for `r` in `0..rf` (the resource strategy's order; it matters only for
/// saturating accumulators).
pub fn summation_order(inputs: usize, reuse_factor: usize) -> Vec<usize> {
    let rf = reuse_factor.max(1);
    (0..rf.min(inputs))
        .flat_map(|r| (r..inputs).step_by(rf))
        .collect()
}

/// Runs one layer on one sample. `input_shape` is the layer's input shape (checked by the caller through
/// [`crate::NetworkSpec::shapes`]); `order` is the dense summation order (see [`summation_order`]).
/// Layouts: dense weights `[inputs, outputs]`, convolution `[out, in, k, k]`, transposed `[in, out, k, k]`,
/// images `[channels, height, width]`, all row-major.
pub fn run_layer<A: Arithmetic>(
    layer: &LayerSpec,
    input_shape: &[usize],
    order: &[usize],
    arithmetic: &A,
    input: &[A::Value],
    output: &mut Vec<A::Value>,
) {
    output.clear();
    match *layer {
        LayerSpec::Dense { outputs, .. } => {
            for o in 0..outputs {
                let mut acc = arithmetic.start(o);
                for &i in order {
                    acc = arithmetic.mac(acc, input[i], i * outputs + o);
                }
                output.push(arithmetic.finish(acc));
            }
        }
        LayerSpec::Conv2d {
            in_channels,
            kernel,
            stride,
            padding,
            ..
        } => {
            // the input position under output `o` at kernel tap `k`, if inside the input
            let source = |o: usize, k: usize, size: usize| {
                (o * stride + k).checked_sub(padding).filter(|&i| i < size)
            };
            let block = |oc: usize, ic: usize| oc * in_channels + ic;
            convolve(
                layer,
                input_shape,
                kernel,
                source,
                block,
                arithmetic,
                input,
                output,
            );
        }
        LayerSpec::ConvTranspose2d {
            out_channels,
            kernel,
            stride,
            padding,
            ..
        } => {
            // the input position that reaches output `o` through kernel tap `k`, if any
            let source = |o: usize, k: usize, size: usize| {
                (o + padding)
                    .checked_sub(k)
                    .filter(|t| t % stride == 0 && t / stride < size)
                    .map(|t| t / stride)
            };
            let block = |oc: usize, ic: usize| ic * out_channels + oc;
            convolve(
                layer,
                input_shape,
                kernel,
                source,
                block,
                arithmetic,
                input,
                output,
            );
        }
        LayerSpec::Flatten | LayerSpec::Unflatten { .. } => output.extend_from_slice(input),
    }
}

/// The loop both convolutions share: for every output position, the bias, then the products with the input
/// positions that `source(output, tap, input size)` names, in (input channel, ky, kx) order; the weights of
/// the pair (output channel, input channel) are the `k×k` block number `block(oc, ic)`.
#[allow(clippy::too_many_arguments)]
fn convolve<A: Arithmetic>(
    layer: &LayerSpec,
    input_shape: &[usize],
    kernel: usize,
    source: impl Fn(usize, usize, usize) -> Option<usize>,
    block: impl Fn(usize, usize) -> usize,
    arithmetic: &A,
    input: &[A::Value],
    output: &mut Vec<A::Value>,
) {
    let [in_channels, h, w] = input_shape[..] else {
        unreachable!("convolutions take [channels, height, width]")
    };
    let out_shape = layer
        .output_shape(input_shape)
        .expect("shapes checked by the caller");
    let [out_channels, oh, ow] = out_shape[..] else {
        unreachable!("convolutions give [channels, height, width]")
    };
    // the (tap, input position) pairs under each output row and each output column, in tap order, found once
    let pairs = |outputs: usize, size: usize| -> Vec<Vec<(usize, usize)>> {
        (0..outputs)
            .map(|o| {
                (0..kernel)
                    .filter_map(|k| source(o, k, size).map(|i| (k, i)))
                    .collect()
            })
            .collect()
    };
    let (rows, columns) = (pairs(oh, h), pairs(ow, w));
    for oc in 0..out_channels {
        for row in &rows {
            for column in &columns {
                let mut acc = arithmetic.start(oc);
                for ic in 0..in_channels {
                    let taps = block(oc, ic) * kernel * kernel;
                    for &(ky, iy) in row {
                        let (x_row, w_row) = ((ic * h + iy) * w, taps + ky * kernel);
                        for &(kx, ix) in column {
                            acc = arithmetic.mac(acc, input[x_row + ix], w_row + kx);
                        }
                    }
                }
                output.push(arithmetic.finish(acc));
            }
        }
    }
}

/// How a float network stores weights and activations. Products are accumulated in `f32` in every case, as
/// GPUs do with half-precision storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatStorage {
    /// IEEE single precision.
    F32,
    /// IEEE half precision (`half::f16`), rounded to nearest even.
    F16,
    /// bfloat16 (`half::bf16`), rounded to nearest even.
    Bf16,
}

impl FloatStorage {
    /// `value` rounded to this storage and back.
    pub fn round(self, value: f32) -> f32 {
        match self {
            FloatStorage::F32 => value,
            FloatStorage::F16 => f16::from_f32(value).to_f32(),
            FloatStorage::Bf16 => bf16::from_f32(value).to_f32(),
        }
    }
}

/// One layer of a float network: weights and biases already rounded to the storage.
#[derive(Clone, Debug)]
pub struct FloatLayer {
    /// The layer.
    pub spec: LayerSpec,
    weights: Vec<f32>,
    biases: Vec<f32>,
    storage: FloatStorage,
    /// Dense summation order.
    order: Vec<usize>,
}

impl FloatLayer {
    /// A layer with its parameters (empty for reshapes) stored in `storage`.
    pub fn new(spec: LayerSpec, params: Option<&LayerParams>, storage: FloatStorage) -> Self {
        let round = |values: &[f32]| values.iter().map(|&v| storage.round(v)).collect();
        FloatLayer {
            spec,
            weights: params.map_or_else(Vec::new, |p| round(&p.weight.values)),
            biases: params.map_or_else(Vec::new, |p| round(&p.bias.values)),
            storage,
            order: match spec {
                LayerSpec::Dense { inputs, .. } => summation_order(inputs, 1),
                _ => Vec::new(),
            },
        }
    }

    /// The value before the activation, rounded to the storage (what `finish` activates).
    pub fn pre_activation(&self, acc: f32) -> f32 {
        self.storage.round(acc)
    }
}

impl Arithmetic for FloatLayer {
    type Value = f32;
    type Acc = f32;

    fn start(&self, channel: usize) -> f32 {
        self.biases[channel]
    }

    fn mac(&self, acc: f32, x: f32, weight: usize) -> f32 {
        acc + x * self.weights[weight]
    }

    fn finish(&self, acc: f32) -> f32 {
        let x = self.pre_activation(acc);
        let y = match self.spec.activation() {
            Activation::Linear => x,
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
        };
        self.storage.round(y)
    }
}

/// A whole float network, ready to run sample by sample.
#[derive(Clone, Debug)]
pub struct FloatNetwork {
    /// Input shape of every layer, then the output shape.
    pub shapes: Vec<Vec<usize>>,
    /// The layers.
    pub layers: Vec<FloatLayer>,
    storage: FloatStorage,
}

impl FloatNetwork {
    /// The network with its parameters (one entry per layer with parameters, in order) in `storage`.
    pub fn new(
        spec: &NetworkSpec,
        params: &[LayerParams],
        storage: FloatStorage,
    ) -> Result<Self, ShapeError> {
        let shapes = spec.shapes()?;
        let mut params = params.iter();
        let layers = spec
            .layers
            .iter()
            .map(|l| FloatLayer::new(*l, l.param_shapes().and_then(|_| params.next()), storage))
            .collect();
        Ok(FloatNetwork {
            shapes,
            layers,
            storage,
        })
    }

    /// Runs one sample; `each_layer(index, output)` sees every layer's output.
    pub fn run_observed(
        &self,
        input: &[f32],
        mut each_layer: impl FnMut(usize, &[f32]),
    ) -> Vec<f32> {
        let mut current: Vec<f32> = input.iter().map(|&v| self.storage.round(v)).collect();
        let mut next = Vec::new();
        for (index, layer) in self.layers.iter().enumerate() {
            run_layer(
                &layer.spec,
                &self.shapes[index],
                &layer.order,
                layer,
                &current,
                &mut next,
            );
            each_layer(index, &next);
            core::mem::swap(&mut current, &mut next);
        }
        current
    }

    /// Runs one sample.
    pub fn run(&self, input: &[f32]) -> Vec<f32> {
        self.run_observed(input, |_, _| {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParamTensor;
    use alloc::vec;

    fn params(weight_shape: Vec<usize>, weights: Vec<f32>, biases: Vec<f32>) -> LayerParams {
        LayerParams {
            weight: ParamTensor {
                shape: weight_shape,
                values: weights,
            },
            bias: ParamTensor {
                shape: vec![biases.len()],
                values: biases,
            },
        }
    }

    #[test]
    fn summation_orders() {
        assert_eq!(summation_order(5, 1), vec![0, 1, 2, 3, 4]);
        assert_eq!(summation_order(5, 2), vec![0, 2, 4, 1, 3]);
        assert_eq!(summation_order(3, 4), vec![0, 1, 2]);
    }

    #[test]
    fn dense_layer() {
        let spec = LayerSpec::Dense {
            inputs: 2,
            outputs: 2,
            activation: Activation::Relu,
        };
        let p = params(vec![2, 2], vec![1.0, -1.0, 2.0, 0.5], vec![0.5, 0.0]);
        let layer = FloatLayer::new(spec, Some(&p), FloatStorage::F32);
        let mut out = Vec::new();
        run_layer(
            &spec,
            &[2],
            &summation_order(2, 1),
            &layer,
            &[1.0, 2.0],
            &mut out,
        );
        assert_eq!(out, vec![5.5, 0.0]);
    }

    #[test]
    fn transposed_convolution_inverts_the_strided_shape() {
        // 1 channel 2×2 → stride 2, kernel 2: every input value spreads over its own 2×2 block
        let spec = LayerSpec::ConvTranspose2d {
            in_channels: 1,
            out_channels: 1,
            kernel: 2,
            stride: 2,
            padding: 0,
            output_padding: [0, 0],
            activation: Activation::Linear,
        };
        let p = params(vec![1, 1, 2, 2], vec![1.0, 2.0, 3.0, 4.0], vec![0.0]);
        let layer = FloatLayer::new(spec, Some(&p), FloatStorage::F32);
        let mut out = Vec::new();
        run_layer(
            &spec,
            &[1, 2, 2],
            &[],
            &layer,
            &[1.0, 10.0, 100.0, 1000.0],
            &mut out,
        );
        assert_eq!(out[..4], [1.0, 2.0, 10.0, 20.0]);
        assert_eq!(out[4..8], [3.0, 4.0, 30.0, 40.0]);
        assert_eq!(out[8..10], [100.0, 200.0]);
    }

    #[test]
    fn half_storage_rounds() {
        assert_eq!(FloatStorage::F16.round(1.0 + 1e-4), 1.0);
        assert_eq!(FloatStorage::Bf16.round(1.0 + 1e-3), 1.0);
        assert_eq!(FloatStorage::F32.round(1.0 + 1e-4), 1.0 + 1e-4);
    }
}

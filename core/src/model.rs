//! Description of a network as an ordered list of layers (dense, convolutional, reshapes), their
//! shapes and their parameters: the one description the float, fixed-point and hardware paths all read.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// The nonlinearity applied after a layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Activation {
    /// No activation.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, else `alpha * x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
}

/// One layer of a network. Shapes are per sample: `[features]` for dense data, `[channels, height, width]`
/// for images.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LayerSpec {
    /// Fully connected layer `y = act(x W + b)`, `W` of shape `[inputs, outputs]`.
    Dense {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
        /// Activation after the layer.
        activation: Activation,
    },
    /// 2-D convolution with a square kernel, weight shape `[out_channels, in_channels, k, k]`.
    Conv2d {
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel side.
        kernel: usize,
        /// Stride in both directions.
        stride: usize,
        /// Zero padding on every side.
        padding: usize,
        /// Activation after the layer.
        activation: Activation,
    },
    /// 2-D transposed convolution, weight shape `[in_channels, out_channels, k, k]`.
    ConvTranspose2d {
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Kernel side.
        kernel: usize,
        /// Stride in both directions.
        stride: usize,
        /// Padding removed from every side.
        padding: usize,
        /// Extra rows/columns added at the bottom/right to reach an exact output size.
        output_padding: [usize; 2],
        /// Activation after the layer.
        activation: Activation,
    },
    /// `[c, h, w]` → `[c*h*w]`.
    Flatten,
    /// `[c*h*w]` → `[c, h, w]`.
    Unflatten {
        /// Channels.
        channels: usize,
        /// Height.
        height: usize,
        /// Width.
        width: usize,
    },
}

/// A shape that a layer cannot accept.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeError {
    /// Index of the offending layer.
    pub layer: usize,
    /// Shape that reached it.
    pub input: Vec<usize>,
    /// What the layer expected.
    pub expected: &'static str,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layer {} cannot take input shape {:?}: expected {}",
            self.layer, self.input, self.expected
        )
    }
}

fn conv_out(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    (size + 2 * padding)
        .checked_sub(kernel)
        .map(|s| s / stride + 1)
}

impl LayerSpec {
    /// Output shape for `input`, or `None` when the layer does not accept it.
    pub fn output_shape(&self, input: &[usize]) -> Option<Vec<usize>> {
        match (*self, input) {
            (
                LayerSpec::Dense {
                    inputs, outputs, ..
                },
                [n],
            ) if *n == inputs => Some(vec![outputs]),
            (
                LayerSpec::Conv2d {
                    in_channels,
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    ..
                },
                [c, h, w],
            ) if *c == in_channels && stride > 0 => Some(vec![
                out_channels,
                conv_out(*h, kernel, stride, padding)?,
                conv_out(*w, kernel, stride, padding)?,
            ]),
            (
                LayerSpec::ConvTranspose2d {
                    in_channels,
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    output_padding,
                    ..
                },
                [c, h, w],
            ) if *c == in_channels && *h > 0 && *w > 0 => {
                let size = |s: usize, extra: usize| {
                    ((s - 1) * stride + kernel + extra).checked_sub(2 * padding)
                };
                Some(vec![
                    out_channels,
                    size(*h, output_padding[0])?,
                    size(*w, output_padding[1])?,
                ])
            }
            (LayerSpec::Flatten, [c, h, w]) => Some(vec![c * h * w]),
            (
                LayerSpec::Unflatten {
                    channels,
                    height,
                    width,
                },
                [n],
            ) if *n == channels * height * width => Some(vec![channels, height, width]),
            _ => None,
        }
    }

    fn expected(&self) -> &'static str {
        match self {
            LayerSpec::Dense { .. } => "[inputs] with the layer's input count",
            LayerSpec::Conv2d { .. } | LayerSpec::ConvTranspose2d { .. } => {
                "[channels, height, width] with the layer's input channels, large enough for the kernel"
            }
            LayerSpec::Flatten => "[channels, height, width]",
            LayerSpec::Unflatten { .. } => "[channels*height*width]",
        }
    }

    /// Shapes of the weight and bias tensors, or `None` for a layer without parameters.
    pub fn param_shapes(&self) -> Option<(Vec<usize>, usize)> {
        match *self {
            LayerSpec::Dense {
                inputs, outputs, ..
            } => Some((vec![inputs, outputs], outputs)),
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel,
                ..
            } => Some((
                vec![out_channels, in_channels, kernel, kernel],
                out_channels,
            )),
            LayerSpec::ConvTranspose2d {
                in_channels,
                out_channels,
                kernel,
                ..
            } => Some((
                vec![in_channels, out_channels, kernel, kernel],
                out_channels,
            )),
            LayerSpec::Flatten | LayerSpec::Unflatten { .. } => None,
        }
    }

    /// The activation after the layer (`Linear` for reshapes).
    pub fn activation(&self) -> Activation {
        match *self {
            LayerSpec::Dense { activation, .. }
            | LayerSpec::Conv2d { activation, .. }
            | LayerSpec::ConvTranspose2d { activation, .. } => activation,
            LayerSpec::Flatten | LayerSpec::Unflatten { .. } => Activation::Linear,
        }
    }
}

/// A network: the per-sample input shape and the ordered layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Shape of one input sample.
    pub input_shape: Vec<usize>,
    /// Layers in order.
    pub layers: Vec<LayerSpec>,
}

impl NetworkSpec {
    /// Shapes after every layer (the first entry is the input shape).
    pub fn shapes(&self) -> Result<Vec<Vec<usize>>, ShapeError> {
        let mut shapes = vec![self.input_shape.clone()];
        for (index, layer) in self.layers.iter().enumerate() {
            let input = shapes.last().expect("starts non-empty");
            let output = layer.output_shape(input).ok_or_else(|| ShapeError {
                layer: index,
                input: input.clone(),
                expected: layer.expected(),
            })?;
            shapes.push(output);
        }
        Ok(shapes)
    }

    /// Shape of one output sample.
    pub fn output_shape(&self) -> Result<Vec<usize>, ShapeError> {
        Ok(self.shapes()?.pop().expect("never empty"))
    }

    /// Multiply-adds per sample: each weight once per output position it is applied at (dense layers once,
    /// convolutions at every output position, padding included). `None` if the shapes do not fit.
    pub fn multiply_adds(&self) -> Option<usize> {
        let shapes = self.shapes().ok()?;
        let mut total = 0;
        for (layer, shape) in self.layers.iter().zip(&shapes) {
            let Some((weights, _)) = layer.param_shapes() else {
                continue;
            };
            let weights: usize = weights.iter().product();
            let output = layer.output_shape(shape)?;
            total += match layer {
                LayerSpec::Dense { .. } => weights,
                LayerSpec::Conv2d { .. } => weights * output[1] * output[2],
                // each input position meets every tap once
                _ => weights * shape[1] * shape[2],
            };
        }
        Some(total)
    }

    /// Number of trainable values (weights and biases).
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .filter_map(LayerSpec::param_shapes)
            .map(|(w, b)| w.iter().product::<usize>() + b)
            .sum()
    }
}

/// A dense tensor of `f32` values in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamTensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values, `shape.iter().product()` of them.
    pub values: Vec<f32>,
}

/// The parameters of one layer that has them.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerParams {
    /// Weight tensor (shape given by [`LayerSpec::param_shapes`]).
    pub weight: ParamTensor,
    /// Bias vector.
    pub bias: ParamTensor,
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAKY: Activation = Activation::LeakyRelu { alpha: 0.01 };

    #[test]
    fn dense_shapes_chain_and_count_parameters() {
        let net = NetworkSpec {
            input_shape: vec![9],
            layers: vec![
                LayerSpec::Dense {
                    inputs: 9,
                    outputs: 4,
                    activation: LEAKY,
                },
                LayerSpec::Dense {
                    inputs: 4,
                    outputs: 2,
                    activation: Activation::Linear,
                },
            ],
        };
        assert_eq!(net.output_shape().unwrap(), vec![2]);
        assert_eq!(net.parameter_count(), 9 * 4 + 4 + 4 * 2 + 2);
    }

    #[test]
    fn conv_and_transposed_conv_restore_the_size() {
        let net = NetworkSpec {
            input_shape: vec![1, 50, 50],
            layers: vec![
                LayerSpec::Conv2d {
                    in_channels: 1,
                    out_channels: 8,
                    kernel: 3,
                    stride: 2,
                    padding: 1,
                    activation: LEAKY,
                },
                LayerSpec::ConvTranspose2d {
                    in_channels: 8,
                    out_channels: 1,
                    kernel: 3,
                    stride: 2,
                    padding: 1,
                    output_padding: [1, 1],
                    activation: Activation::Linear,
                },
            ],
        };
        let shapes = net.shapes().unwrap();
        assert_eq!(shapes[1], vec![8, 25, 25]);
        assert_eq!(shapes[2], vec![1, 50, 50]);
    }

    #[test]
    fn mismatched_layer_is_named() {
        let net = NetworkSpec {
            input_shape: vec![9],
            layers: vec![
                LayerSpec::Dense {
                    inputs: 9,
                    outputs: 4,
                    activation: LEAKY,
                },
                LayerSpec::Dense {
                    inputs: 5,
                    outputs: 2,
                    activation: LEAKY,
                },
            ],
        };
        let err = net.shapes().unwrap_err();
        assert_eq!(err.layer, 1);
        assert_eq!(err.input, vec![4]);
    }

    #[test]
    fn multiply_adds_count_every_weight_at_every_position() {
        let dense = |inputs, outputs| LayerSpec::Dense {
            inputs,
            outputs,
            activation: Activation::Linear,
        };
        let jets = NetworkSpec {
            input_shape: vec![9],
            layers: vec![dense(9, 200), dense(200, 100), dense(100, 50), dense(50, 5)],
        };
        assert_eq!(jets.multiply_adds(), Some(27_050));
        // 3×3 conv 1→2 on 4×4, stride 2 → 2×2 outputs; transposed back to 4×4 from 2×2 inputs
        let conv = NetworkSpec {
            input_shape: vec![1, 4, 4],
            layers: vec![
                LayerSpec::Conv2d {
                    in_channels: 1,
                    out_channels: 2,
                    kernel: 3,
                    stride: 2,
                    padding: 1,
                    activation: Activation::Linear,
                },
                LayerSpec::ConvTranspose2d {
                    in_channels: 2,
                    out_channels: 1,
                    kernel: 3,
                    stride: 2,
                    padding: 1,
                    output_padding: [1, 1],
                    activation: Activation::Linear,
                },
            ],
        };
        assert_eq!(conv.multiply_adds(), Some(18 * 4 + 18 * 4));
    }
}

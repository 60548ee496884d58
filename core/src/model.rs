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

/// The most values one sample may have at any point of a network (input, every layer's output) and the
/// most values one weight tensor may hold: 2^28 (1 GiB of `f32`). Larger sizes in a model file are refused
/// rather than allocated.
pub const MAX_TENSOR_VALUES: usize = 1 << 28;

/// Number of values of a shape, `None` on overflow.
fn values(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

fn conv_out(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    padding
        .checked_mul(2)?
        .checked_add(size)?
        .checked_sub(kernel)?
        .checked_div(stride)?
        .checked_add(1)
}

/// A network description that cannot be run: what [`NetworkSpec::validate`] refuses.
#[derive(Clone, Debug, PartialEq)]
pub enum NetworkError {
    /// The input shape is neither `[features]` nor `[channels, height, width]` with every size at least 1
    /// and at most [`MAX_TENSOR_VALUES`] values.
    InputShape(Vec<usize>),
    /// A layer cannot take the shape that reaches it.
    Shape(ShapeError),
    /// A layer's own sizes cannot be used.
    Layer {
        /// Index of the layer.
        layer: usize,
        /// What is wrong.
        message: &'static str,
    },
    /// No layer has parameters.
    NoParameters,
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkError::InputShape(shape) => write!(
                f,
                "input_shape {shape:?}: expected [features] or [channels, height, width], every size at least 1 and at most {MAX_TENSOR_VALUES} values"
            ),
            NetworkError::Shape(e) => e.fmt(f),
            NetworkError::Layer { layer, message } => write!(f, "layer {layer}: {message}"),
            NetworkError::NoParameters => f.write_str("the network has no layer with parameters"),
        }
    }
}

impl From<ShapeError> for NetworkError {
    fn from(e: ShapeError) -> Self {
        NetworkError::Shape(e)
    }
}

/// A per-sample shape the float, fixed-point and hardware paths can all hold.
fn usable(shape: &[usize]) -> bool {
    matches!(shape.len(), 1 | 3)
        && shape.iter().all(|&d| d > 0)
        && values(shape).is_some_and(|n| n <= MAX_TENSOR_VALUES)
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
                    (s - 1)
                        .checked_mul(stride)?
                        .checked_add(kernel)?
                        .checked_add(extra)?
                        .checked_sub(padding.checked_mul(2)?)
                };
                Some(vec![
                    out_channels,
                    size(*h, output_padding[0])?,
                    size(*w, output_padding[1])?,
                ])
            }
            (LayerSpec::Flatten, [_, _, _]) => Some(vec![values(input)?]),
            (
                LayerSpec::Unflatten {
                    channels,
                    height,
                    width,
                },
                [n],
            ) if Some(*n) == values(&[channels, height, width]) => {
                Some(vec![channels, height, width])
            }
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

    /// Refuses sizes no input can make usable: a zero size, stride or kernel, an output padding not smaller
    /// than the stride (as in PyTorch), a weight tensor of more than [`MAX_TENSOR_VALUES`] values.
    fn check_sizes(&self) -> Result<(), &'static str> {
        let sizes_ok = match *self {
            LayerSpec::Dense {
                inputs, outputs, ..
            } => inputs > 0 && outputs > 0,
            LayerSpec::Conv2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                ..
            } => in_channels > 0 && out_channels > 0 && kernel > 0 && stride > 0,
            LayerSpec::ConvTranspose2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                output_padding,
                ..
            } => {
                if output_padding.iter().any(|&p| p >= stride) {
                    return Err("output_padding must be smaller than the stride");
                }
                in_channels > 0 && out_channels > 0 && kernel > 0 && stride > 0
            }
            LayerSpec::Flatten => true,
            LayerSpec::Unflatten {
                channels,
                height,
                width,
            } => channels > 0 && height > 0 && width > 0,
        };
        if !sizes_ok {
            return Err(
                "channels, inputs, outputs, kernel, stride and reshape sizes must be at least 1",
            );
        }
        if let Some((weights, _)) = self.param_shapes()
            && values(&weights).is_none_or(|n| n > MAX_TENSOR_VALUES)
        {
            return Err("the weight tensor would hold more than MAX_TENSOR_VALUES (2^28) values");
        }
        if let Activation::LeakyRelu { alpha } = self.activation()
            && !alpha.is_finite()
        {
            return Err("the LeakyReLU slope alpha must be finite");
        }
        Ok(())
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

    /// Checks everything a model file could get wrong before anything is sized from it: the input shape
    /// (`[features]` or `[channels, height, width]`, no zero size), every layer's own sizes, that the
    /// layers chain, that every intermediate shape is usable (at most [`MAX_TENSOR_VALUES`] values), and
    /// that at least one layer has parameters. Returns the shapes after every layer, as
    /// [`NetworkSpec::shapes`].
    pub fn validate(&self) -> Result<Vec<Vec<usize>>, NetworkError> {
        if !usable(&self.input_shape) {
            return Err(NetworkError::InputShape(self.input_shape.clone()));
        }
        for (layer, spec) in self.layers.iter().enumerate() {
            spec.check_sizes()
                .map_err(|message| NetworkError::Layer { layer, message })?;
        }
        let shapes = self.shapes()?;
        if let Some(layer) = shapes[1..].iter().position(|s| !usable(s)) {
            return Err(NetworkError::Layer {
                layer,
                message: "its output is empty or holds more than MAX_TENSOR_VALUES (2^28) values",
            });
        }
        if self.layers.iter().all(|l| l.param_shapes().is_none()) {
            return Err(NetworkError::NoParameters);
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
        let mut total = 0usize;
        for (layer, shape) in self.layers.iter().zip(&shapes) {
            let Some((weights, _)) = layer.param_shapes() else {
                continue;
            };
            let weights = values(&weights)?;
            let output = layer.output_shape(shape)?;
            let positions = match layer {
                LayerSpec::Dense { .. } => 1,
                LayerSpec::Conv2d { .. } => values(&output[1..])?,
                // each input position meets every tap once
                _ => values(&shape[1..])?,
            };
            total = total.checked_add(weights.checked_mul(positions)?)?;
        }
        Some(total)
    }

    /// Number of trainable values (weights and biases); saturates at `usize::MAX` for a network that has not
    /// passed [`NetworkSpec::validate`].
    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .filter_map(LayerSpec::param_shapes)
            .map(|(w, b)| values(&w).unwrap_or(usize::MAX).saturating_add(b))
            .fold(0, usize::saturating_add)
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
    fn validation_refuses_what_no_input_can_run_without_overflow() {
        let dense = |inputs, outputs| LayerSpec::Dense {
            inputs,
            outputs,
            activation: Activation::Linear,
        };
        let net = |input_shape: Vec<usize>, layers| NetworkSpec {
            input_shape,
            layers,
        };
        assert!(net(vec![2], vec![dense(2, 3)]).validate().is_ok());
        for shape in [vec![], vec![0], vec![2, 2], vec![1 << 29], vec![1, 0, 4]] {
            assert_eq!(
                net(shape.clone(), vec![dense(2, 3)]).validate(),
                Err(NetworkError::InputShape(shape))
            );
        }
        assert_eq!(
            net(vec![2], vec![]).validate(),
            Err(NetworkError::NoParameters)
        );
        assert_eq!(
            net(
                vec![4],
                vec![LayerSpec::Unflatten {
                    channels: 1,
                    height: 2,
                    width: 2
                }]
            )
            .validate(),
            Err(NetworkError::NoParameters)
        );
        let layer_error = |n: NetworkSpec| match n.validate() {
            Err(NetworkError::Layer { layer, .. }) => layer,
            Err(NetworkError::Shape(e)) => e.layer,
            other => panic!("{other:?}"),
        };
        assert_eq!(layer_error(net(vec![2], vec![dense(2, 0)])), 0);
        assert_eq!(layer_error(net(vec![2], vec![dense(2, 3), dense(4, 1)])), 1);
        // a weight tensor of 2^40 values is refused before anything multiplies it out
        assert_eq!(
            layer_error(net(vec![1 << 20], vec![dense(1 << 20, 1 << 20)])),
            0
        );
        let conv = |stride, padding, output_padding| LayerSpec::ConvTranspose2d {
            in_channels: 1,
            out_channels: 1,
            kernel: 3,
            stride,
            padding,
            output_padding,
            activation: Activation::Linear,
        };
        // output padding must be smaller than the stride; a stride of 0 is no layer
        assert_eq!(layer_error(net(vec![1, 4, 4], vec![conv(2, 1, [2, 0])])), 0);
        assert_eq!(layer_error(net(vec![1, 4, 4], vec![conv(0, 1, [0, 0])])), 0);
        // sizes whose arithmetic overflows, or whose output is too large, are refused
        assert_eq!(
            layer_error(net(vec![1, 4, 4], vec![conv(usize::MAX, 0, [0, 0])])),
            0
        );
        assert_eq!(
            layer_error(net(vec![1, 4, 4], vec![conv(1 << 20, 0, [0, 0])])),
            0
        );
        assert_eq!(
            layer_error(net(vec![1, 4, 4], vec![conv(1, usize::MAX, [0, 0])])),
            0
        );
        let strided = LayerSpec::Conv2d {
            in_channels: 1,
            out_channels: 1,
            kernel: 3,
            stride: 1,
            padding: usize::MAX,
            activation: Activation::Linear,
        };
        assert_eq!(layer_error(net(vec![1, 4, 4], vec![strided])), 0);
        let unflatten = LayerSpec::Unflatten {
            channels: 1 << 62,
            height: 8,
            width: 8,
        };
        assert_eq!(layer_error(net(vec![2], vec![dense(2, 4), unflatten])), 1);
        let alpha = Activation::LeakyRelu { alpha: f32::NAN };
        let nan = LayerSpec::Dense {
            inputs: 2,
            outputs: 1,
            activation: alpha,
        };
        assert_eq!(layer_error(net(vec![2], vec![nan])), 0);
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

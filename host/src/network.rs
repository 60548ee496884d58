//! A burn module built from a core [`NetworkSpec`]: the trainable float network. Parameters convert to
//! and from the core's [`LayerParams`], which is what model files store.

use crate::error::{Error, Result};
use baler_core::{Activation, LayerParams, LayerSpec, NetworkSpec, ParamTensor};
use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData, activation};

/// A layer with parameters.
#[derive(Module, Debug)]
pub enum ParamLayer {
    /// Fully connected.
    Dense(Linear),
    /// Convolution.
    Conv(Conv2d),
    /// Transposed convolution.
    ConvTranspose(ConvTranspose2d),
}

/// A feed-forward network: the parameter layers in order and the spec that says how to chain them.
#[derive(Module, Debug)]
pub struct Network {
    layers: Vec<ParamLayer>,
    #[module(skip)]
    spec: NetworkSpec,
}

enum Activations {
    Flat(Tensor<2>),
    Image(Tensor<4>),
}

fn apply<const D: usize>(x: Tensor<D>, a: Activation) -> Tensor<D> {
    match a {
        Activation::Linear => x,
        Activation::Relu => activation::relu(x),
        Activation::LeakyRelu { alpha } => activation::leaky_relu(x, alpha as f64),
    }
}

fn tensor<const D: usize>(t: &ParamTensor, device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(t.values.clone(), t.shape.clone()), device)
}

fn values<const D: usize>(t: Tensor<D>) -> ParamTensor {
    let shape = t.dims().to_vec();
    let values = t
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float tensor");
    ParamTensor { shape, values }
}

impl Network {
    /// The network's modules with burn's initial values (replaced by [`Network::from_params`]).
    fn init(spec: &NetworkSpec, device: &Device) -> Result<Self> {
        spec.shapes()
            .map_err(|e| Error::Mismatch(format!("invalid network: {e}")))?;
        let layers = spec
            .layers
            .iter()
            .filter_map(|layer| match *layer {
                LayerSpec::Dense {
                    inputs, outputs, ..
                } => Some(ParamLayer::Dense(
                    LinearConfig::new(inputs, outputs).init(device),
                )),
                LayerSpec::Conv2d {
                    in_channels,
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    ..
                } => Some(ParamLayer::Conv(
                    Conv2dConfig::new([in_channels, out_channels], [kernel, kernel])
                        .with_stride([stride, stride])
                        .with_padding(PaddingConfig2d::Explicit(
                            padding, padding, padding, padding,
                        ))
                        .init(device),
                )),
                LayerSpec::ConvTranspose2d {
                    in_channels,
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    output_padding,
                    ..
                } => Some(ParamLayer::ConvTranspose(
                    ConvTranspose2dConfig::new([in_channels, out_channels], [kernel, kernel])
                        .with_stride([stride, stride])
                        .with_padding([padding, padding])
                        .with_padding_out(output_padding)
                        .init(device),
                )),
                LayerSpec::Flatten | LayerSpec::Unflatten { .. } => None,
            })
            .collect();
        Ok(Network {
            layers,
            spec: spec.clone(),
        })
    }

    /// A network with the given parameters; their shapes must match the spec, layer by layer.
    pub fn from_params(
        spec: &NetworkSpec,
        params: &[LayerParams],
        device: &Device,
    ) -> Result<Self> {
        let mut net = Self::init(spec, device)?;
        if params.len() != net.layers.len() {
            return Err(Error::Mismatch(format!(
                "the network has {} parameter layers but {} were given",
                net.layers.len(),
                params.len()
            )));
        }
        let expected = spec.layers.iter().filter_map(LayerSpec::param_shapes);
        for (index, ((layer, p), (w_shape, b_len))) in
            net.layers.iter_mut().zip(params).zip(expected).enumerate()
        {
            if p.weight.shape != w_shape || p.bias.shape != [b_len] {
                return Err(Error::Mismatch(format!(
                    "parameter layer {index}: weight {:?} and bias {:?} do not match the expected {:?} and [{b_len}]",
                    p.weight.shape, p.bias.shape, w_shape
                )));
            }
            let bias = Some(Param::from_tensor(tensor::<1>(&p.bias, device)));
            match layer {
                ParamLayer::Dense(l) => {
                    l.weight = Param::from_tensor(tensor(&p.weight, device));
                    l.bias = bias;
                }
                ParamLayer::Conv(l) => {
                    l.weight = Param::from_tensor(tensor(&p.weight, device));
                    l.bias = bias;
                }
                ParamLayer::ConvTranspose(l) => {
                    l.weight = Param::from_tensor(tensor(&p.weight, device));
                    l.bias = bias;
                }
            }
        }
        Ok(net)
    }

    /// The parameters, layer by layer.
    pub fn params(&self) -> Vec<LayerParams> {
        self.layers
            .iter()
            .map(|layer| {
                let (weight, bias) = match layer {
                    ParamLayer::Dense(l) => (
                        values(l.weight.val()),
                        l.bias.as_ref().map(|b| values(b.val())),
                    ),
                    ParamLayer::Conv(l) => (
                        values(l.weight.val()),
                        l.bias.as_ref().map(|b| values(b.val())),
                    ),
                    ParamLayer::ConvTranspose(l) => (
                        values(l.weight.val()),
                        l.bias.as_ref().map(|b| values(b.val())),
                    ),
                };
                LayerParams {
                    weight,
                    bias: bias.expect("every layer is built with a bias"),
                }
            })
            .collect()
    }

    /// The description this network was built from.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    /// Sum of |w| over all weights (biases excluded) and the number of weights.
    pub fn weight_l1(&self) -> (Tensor<1>, usize) {
        let mut total: Option<Tensor<1>> = None;
        let mut count = 0;
        let mut add = |t: Tensor<1>, n: usize| {
            count += n;
            total = Some(match total.take() {
                Some(acc) => acc + t,
                None => t,
            });
        };
        for layer in &self.layers {
            match layer {
                ParamLayer::Dense(l) => add(
                    l.weight.val().abs().sum(),
                    l.weight.val().shape().num_elements(),
                ),
                ParamLayer::Conv(l) => add(
                    l.weight.val().abs().sum(),
                    l.weight.val().shape().num_elements(),
                ),
                ParamLayer::ConvTranspose(l) => add(
                    l.weight.val().abs().sum(),
                    l.weight.val().shape().num_elements(),
                ),
            }
        }
        (
            total.expect("a network has at least one parameter layer"),
            count,
        )
    }

    /// Runs a batch of flattened samples `[batch, prod(input_shape)]` to flattened outputs.
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let batch = input.dims()[0];
        let mut x = match self.spec.input_shape[..] {
            [c, h, w] => Activations::Image(input.reshape([batch, c, h, w])),
            _ => Activations::Flat(input),
        };
        let mut params = self.layers.iter();
        for layer in &self.spec.layers {
            let a = layer.activation();
            x = match (layer, x) {
                (LayerSpec::Flatten, Activations::Image(t)) => Activations::Flat(t.flatten(1, 3)),
                (
                    LayerSpec::Unflatten {
                        channels,
                        height,
                        width,
                    },
                    Activations::Flat(t),
                ) => Activations::Image(t.reshape([batch, *channels, *height, *width])),
                (_, Activations::Flat(t)) => match params.next() {
                    Some(ParamLayer::Dense(l)) => Activations::Flat(apply(l.forward(t), a)),
                    _ => unreachable!("spec checked at construction"),
                },
                (_, Activations::Image(t)) => match params.next() {
                    Some(ParamLayer::Conv(l)) => Activations::Image(apply(l.forward(t), a)),
                    Some(ParamLayer::ConvTranspose(l)) => {
                        Activations::Image(apply(l.forward(t), a))
                    }
                    _ => unreachable!("spec checked at construction"),
                },
            };
        }
        match x {
            Activations::Flat(t) => t,
            Activations::Image(t) => t.flatten(1, 3),
        }
    }
}

/// Encoder and decoder trained together.
#[derive(Module, Debug)]
pub struct Autoencoder {
    /// Data → latent.
    pub encoder: Network,
    /// Latent → data.
    pub decoder: Network,
}

impl Autoencoder {
    /// Reconstruction of a batch.
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.decoder.forward(self.encoder.forward(input))
    }
}

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

/// Weight and bias of a layer of any rank as core parameters.
fn layer_params<const D: usize>(
    weight: &Param<Tensor<D>>,
    bias: &Option<Param<Tensor<1>>>,
) -> LayerParams {
    let bias = bias.as_ref().expect("every layer is built with a bias");
    LayerParams {
        weight: values(weight.val()),
        bias: values(bias.val()),
    }
}

/// Replaces a layer's weight and bias by (shape-checked) core parameters.
fn set_params<const D: usize>(
    weight: &mut Param<Tensor<D>>,
    bias: &mut Option<Param<Tensor<1>>>,
    p: &LayerParams,
    device: &Device,
) {
    *weight = Param::from_tensor(tensor(&p.weight, device));
    *bias = Some(Param::from_tensor(tensor(&p.bias, device)));
}

/// Σ|w| of a weight tensor and its number of elements.
fn abs_sum<const D: usize>(weight: &Param<Tensor<D>>) -> (Tensor<1>, usize) {
    let w = weight.val();
    let n = w.shape().num_elements();
    (w.abs().sum(), n)
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
            match layer {
                ParamLayer::Dense(l) => set_params(&mut l.weight, &mut l.bias, p, device),
                ParamLayer::Conv(l) => set_params(&mut l.weight, &mut l.bias, p, device),
                ParamLayer::ConvTranspose(l) => set_params(&mut l.weight, &mut l.bias, p, device),
            }
        }
        Ok(net)
    }

    /// The parameters, layer by layer.
    pub fn params(&self) -> Vec<LayerParams> {
        let params = |layer: &ParamLayer| match layer {
            ParamLayer::Dense(l) => layer_params(&l.weight, &l.bias),
            ParamLayer::Conv(l) => layer_params(&l.weight, &l.bias),
            ParamLayer::ConvTranspose(l) => layer_params(&l.weight, &l.bias),
        };
        self.layers.iter().map(params).collect()
    }

    /// Sum of |w| over all weights (biases excluded) and the number of weights.
    pub fn weight_l1(&self) -> (Tensor<1>, usize) {
        let abs_sum = |layer: &ParamLayer| match layer {
            ParamLayer::Dense(l) => abs_sum(&l.weight),
            ParamLayer::Conv(l) => abs_sum(&l.weight),
            ParamLayer::ConvTranspose(l) => abs_sum(&l.weight),
        };
        self.layers
            .iter()
            .map(abs_sum)
            .reduce(|(a, n), (b, m)| (a + b, n + m))
            .expect("a network has at least one parameter layer")
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

/// Frames per batch handed to burn.
const BATCH: usize = 8192;

/// Runs `network` over `rows` samples of `inputs` values each, in batches.
pub fn run_network(network: &Network, values: &[f32], inputs: usize, device: &Device) -> Vec<f32> {
    let mut out = Vec::new();
    for chunk in values.chunks(BATCH * inputs) {
        let rows = chunk.len() / inputs;
        let x = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [rows, inputs]), device);
        let y = network.forward(x).into_data().convert::<f32>();
        out.extend(y.try_into_vec::<f32>().expect("f32 after convert"));
    }
    out
}

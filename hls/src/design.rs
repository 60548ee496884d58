//! The hardware design of a quantised network: its dense and convolution layers with formats, strategy, reuse
//! factor and summation order, the interfaces and the clock. Built and checked from a `QuantizedNetwork`.

use crate::error::HlsError;
use baler_core::fixed::{FixedFormat, Overflow};
use baler_core::inference::summation_order;
use baler_core::quantized::{FixedLayer, QuantizedNetwork};
use baler_core::{Activation, LayerSpec};
use serde::Serialize;

/// How a dense layer is laid out in hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Every multiply has its own multiplier: fully unrolled, II = 1, weights as constants in logic.
    Latency,
    /// Multipliers are reused `RF` times: a loop of `RF` steps at II = 1, so the layer accepts a new input
    /// every `RF` cycles; weights in a BRAM ROM when `RF > 1`.
    Resource,
}

/// How layers pass values to each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IoType {
    /// Completely partitioned arrays; the network is one pipeline (DATAFLOW if a layer uses `Resource`).
    Parallel,
    /// `hls::stream`s of whole vectors between layer processes under DATAFLOW, FIFO depth 2.
    Stream,
}

/// What the user chooses about the design.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HlsConfig {
    /// C identifier of the design: names the files, the functions and the HLS project.
    pub name: String,
    /// Strategy of every layer (convolutions: latency computes every output channel at once).
    pub strategy: Strategy,
    /// Hardware reuse factors: empty = the quantised model's (1 for `Latency`), one value = every layer,
    /// otherwise one per dense layer.
    pub reuse_factors: Vec<usize>,
    /// `Resource`: instead of reuse factors, the largest legal reuse factor of each layer that keeps its
    /// II at or below this many cycles (fewest multipliers for a throughput).
    pub target_ii: Option<usize>,
    /// Layer-to-layer interface.
    pub io: IoType,
    /// Target clock in MHz.
    pub clock_mhz: f64,
    /// FPGA part for `run_hls.tcl` and the resource percentages.
    pub part: String,
    /// Vitis platform for the kernel's `Makefile`.
    pub platform: String,
    /// Widest AXI4-Stream beat of the IP core, in bits (a power of two from 8 to 4096).
    pub axis_max_bits: usize,
    /// Id of the quantised model, written into the sources and the report.
    pub model_id: Option<String>,
}

impl Default for HlsConfig {
    fn default() -> Self {
        HlsConfig {
            name: "baler_encoder".into(),
            strategy: Strategy::Latency,
            reuse_factors: Vec::new(),
            target_ii: None,
            io: IoType::Parallel,
            clock_mhz: 200.0,
            part: "xcu250-figd2104-2L-e".into(),
            platform: "xilinx_u250_gen3x16_xdma_4_1_202210_1".into(),
            axis_max_bits: 512,
            model_id: None,
        }
    }
}

/// The geometry of a convolution: shapes `[channels, height, width]`, kernel, stride, padding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Convolution {
    /// A transposed convolution (upsampling) rather than a convolution.
    pub transposed: bool,
    /// Input shape.
    pub input: [usize; 3],
    /// Output shape.
    pub output: [usize; 3],
    /// Kernel size (square).
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub padding: usize,
}

impl Convolution {
    /// Multiplies per output value: input channels × kernel².
    pub fn taps(&self) -> usize {
        self.input[0] * self.kernel * self.kernel
    }

    /// Index in the model's weight layout (`[out, in, k, k]`, transposed `[in, out, k, k]`).
    pub fn model_index(&self, oc: usize, ic: usize, ky: usize, kx: usize) -> usize {
        let (i, o, k) = (self.input[0], self.output[0], self.kernel);
        let block = if self.transposed {
            ic * o + oc
        } else {
            oc * i + ic
        };
        (block * k + ky) * k + kx
    }

    /// Input row (or column) read for output row `o` at tap `k`, if inside the input of size `size`
    /// (the reference's rule in `baler_core::inference`).
    pub fn source(&self, o: usize, k: usize, size: usize) -> Option<usize> {
        let (s, p) = (self.stride, self.padding);
        if self.transposed {
            (o + p)
                .checked_sub(k)
                .filter(|t| t % s == 0 && t / s < size)
                .map(|t| t / s)
        } else {
            (o * s + k).checked_sub(p).filter(|&i| i < size)
        }
    }

    /// Cycles per pipelined iteration: every tap reads one value from its input channel's bank, two reads a
    /// cycle.
    pub fn cycles_per_iteration(&self) -> usize {
        (self.kernel * self.kernel).div_ceil(2)
    }

    /// Cycles per frame with reuse factor `rf`: every output position, `rf` iterations of
    /// `output channels / rf` channels each.
    pub fn frame_cycles(&self, rf: usize) -> usize {
        self.output[1] * self.output[2] * rf * self.cycles_per_iteration()
    }
}

/// What a layer computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerKind {
    /// A dense layer, weights `[inputs, outputs]`.
    Dense,
    /// A convolution or transposed convolution: per output position, `reuse_factor` pipelined iterations each
    /// computing `output channels / reuse_factor` values with their taps unrolled.
    Conv(Convolution),
}

/// One layer with parameters in hardware.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerDesign {
    /// Index of the layer in the quantised network.
    pub layer: usize,
    /// Dense or convolution.
    pub kind: LayerKind,
    /// Input values.
    pub inputs: usize,
    /// Output values.
    pub outputs: usize,
    /// Format of the incoming values.
    pub input: FixedFormat,
    /// Formats, activation format, slope and codes.
    pub fixed: FixedLayer,
    /// ReLU, LeakyReLU or linear.
    pub activation: Activation,
    /// Latency or resource.
    pub strategy: Strategy,
    /// Hardware reuse factor: a dense layer's initiation interval in cycles; a convolution's passes over its
    /// output channels per output position.
    pub reuse_factor: usize,
    /// Dense sums add inputs in `summation_order(inputs, order_reuse_factor)`, as the reference does
    /// (convolutions always add in (input channel, ky, kx) order).
    pub order_reuse_factor: usize,
}

/// One multiply of a resource step: (input index, output index).
pub type Lane = (usize, usize);

impl LayerDesign {
    /// Format of the layer's output values.
    pub fn output(&self) -> FixedFormat {
        self.fixed.output()
    }

    /// Weight code of input `i`, output `o`.
    pub fn weight(&self, i: usize, o: usize) -> i64 {
        self.fixed.weights[i * self.outputs + o]
    }

    /// Multiplies done in one step of the resource loop (all of them for `Latency`).
    pub fn lanes(&self) -> usize {
        self.inputs * self.outputs / self.steps()
    }

    /// Steps of the resource loop (1 for `Latency` and convolutions).
    pub fn steps(&self) -> usize {
        match (self.kind, self.strategy) {
            (LayerKind::Dense, Strategy::Resource) => self.reuse_factor,
            _ => 1,
        }
    }

    /// The convolution's geometry, for a convolution.
    pub fn convolution(&self) -> Option<Convolution> {
        match self.kind {
            LayerKind::Conv(c) => Some(c),
            LayerKind::Dense => None,
        }
    }

    /// The multiplies of step `r`, in the order they are added. With `RF` dividing the inputs, step `r`
    /// takes inputs `r, r+RF, …` for every output; with `RF = inputs·m`, step `r` takes input `r % inputs`
    /// for the `r / inputs`-th block of `outputs / m` outputs. Either way each output adds its inputs in
    /// `summation_order(inputs, RF)`.
    pub fn step_lanes(&self, r: usize) -> Vec<Lane> {
        let (n, m, rf) = (self.inputs, self.outputs, self.steps());
        if rf <= n {
            (0..n / rf)
                .flat_map(|k| (0..m).map(move |o| (r + k * rf, o)))
                .collect()
        } else {
            let block = m / (rf / n);
            (0..block).map(|j| (r % n, (r / n) * block + j)).collect()
        }
    }
}

/// Reuse factors the resource kernel accepts for a `inputs × outputs` layer: the divisors of `inputs`
/// (each step multiplies `inputs/RF` inputs by every weight column) and `inputs·m` for divisors `m` of
/// `outputs` (each step one input times a block of outputs). Both keep every multiplier busy every cycle.
pub fn legal_reuse_factors(inputs: usize, outputs: usize) -> Vec<usize> {
    let divisors = |n: usize| (1..=n).filter(move |d| n.is_multiple_of(*d));
    let mut legal: Vec<usize> = divisors(inputs)
        .chain(divisors(outputs).skip(1).map(|m| inputs * m))
        .collect();
    legal.sort_unstable();
    legal.dedup();
    legal
}

/// Whether a sum in this accumulator gives the same result in any order (wrap-around with no saturated bits).
pub fn order_free(accum: FixedFormat) -> bool {
    accum.overflow == Overflow::Wrap && accum.saturation_bits == 0
}

/// A network as hardware.
#[derive(Clone, Debug, PartialEq)]
pub struct HlsDesign {
    /// The options it was built with.
    pub config: HlsConfig,
    /// Format of the input values.
    pub input: FixedFormat,
    /// Input values per frame.
    pub inputs: usize,
    /// The layers with weights (dense and convolutions), in order; reshapes are free.
    pub layers: Vec<LayerDesign>,
}

impl HlsDesign {
    /// Builds the design of `network`, checking that every layer can be built as asked.
    pub fn new(network: &QuantizedNetwork, config: HlsConfig) -> Result<Self, HlsError> {
        check_config(&config)?;
        network.validate().map_err(|e| match e.layer {
            Some(layer) => HlsError::Layer {
                layer,
                message: e.message,
            },
            None => HlsError::Config(e.message),
        })?;
        let weighted = network.layers.iter().filter(|l| l.fixed.is_some()).count();
        if !matches!(config.reuse_factors.len(), 0 | 1) && config.reuse_factors.len() != weighted {
            return Err(HlsError::Config(format!(
                "{} reuse factors given for {weighted} layers with weights: give one for all or one per layer",
                config.reuse_factors.len()
            )));
        }
        let shapes = network.spec().shapes().expect("validated network");
        let mut format = network.input;
        let mut layers = Vec::new();
        let mut weighted_index = 0;
        for (index, (layer, shape)) in network.layers.iter().zip(&shapes).enumerate() {
            // reshapes leave the flat values as they are
            let Some(fixed) = layer.fixed.clone() else {
                continue;
            };
            let output_shape = layer.spec.output_shape(shape).expect("validated network");
            let activation = layer.spec.activation();
            let requested = match config.reuse_factors[..] {
                [] => None,
                [rf] => Some(rf),
                ref each => Some(each[weighted_index]),
            };
            weighted_index += 1;
            let design = match layer.spec {
                LayerSpec::Dense {
                    inputs, outputs, ..
                } => dense_design(
                    index, inputs, outputs, format, fixed, activation, &config, requested,
                )?,
                LayerSpec::Conv2d {
                    kernel,
                    stride,
                    padding,
                    ..
                }
                | LayerSpec::ConvTranspose2d {
                    kernel,
                    stride,
                    padding,
                    ..
                } => {
                    if config.io == IoType::Stream {
                        return Err(HlsError::Layer {
                            layer: index,
                            message: "io_stream builds dense layers only; use --io parallel for convolutional models"
                                .into(),
                        });
                    }
                    let three = |s: &[usize]| [s[0], s[1], s[2]];
                    let conv = Convolution {
                        transposed: matches!(layer.spec, LayerSpec::ConvTranspose2d { .. }),
                        input: three(shape),
                        output: three(&output_shape),
                        kernel,
                        stride,
                        padding,
                    };
                    LayerDesign {
                        layer: index,
                        kind: LayerKind::Conv(conv),
                        inputs: shape.iter().product(),
                        outputs: output_shape.iter().product(),
                        input: format,
                        fixed,
                        activation,
                        strategy: config.strategy,
                        reuse_factor: conv_reuse_factor(index, conv, &config, requested)?,
                        order_reuse_factor: 1,
                    }
                }
                LayerSpec::Flatten | LayerSpec::Unflatten { .. } => {
                    unreachable!("reshapes have no parameters")
                }
            };
            format = design.output();
            layers.push(design);
        }
        if layers.is_empty() {
            return Err(HlsError::Config(
                "the network has no layer with weights".into(),
            ));
        }
        for (what, f) in [("input", network.input), ("output", format)] {
            if f.width > 64 {
                return Err(HlsError::Config(format!(
                    "the {what} format {f} is wider than 64 bits, the widest code a kernel buffer holds"
                )));
            }
            if f.width as usize > config.axis_max_bits {
                return Err(HlsError::Config(format!(
                    "the {what} format {f} does not fit an AXI4-Stream beat of {} bits",
                    config.axis_max_bits
                )));
            }
        }
        Ok(HlsDesign {
            inputs: network.input_shape.iter().product(),
            input: network.input,
            layers,
            config,
        })
    }

    /// Format of the output values.
    pub fn output(&self) -> FixedFormat {
        self.layers.last().expect("at least one layer").output()
    }

    /// Output values per frame.
    pub fn outputs(&self) -> usize {
        self.layers.last().expect("at least one layer").outputs
    }

    /// Whether the network function needs DATAFLOW (streams, a resource loop or a convolution) rather than
    /// one pipeline.
    pub fn dataflow(&self) -> bool {
        self.config.io == IoType::Stream
            || self
                .layers
                .iter()
                .any(|l| l.steps() > 1 || l.convolution().is_some())
    }
}

/// A convolution's reuse factor: how many passes over the output channels each output position takes (a
/// divisor of the output channels; 1 computes all channels of a position at once).
fn conv_reuse_factor(
    index: usize,
    conv: Convolution,
    config: &HlsConfig,
    requested: Option<usize>,
) -> Result<usize, HlsError> {
    let channels = conv.output[0];
    let legal: Vec<usize> = (1..=channels)
        .filter(|d| channels.is_multiple_of(*d))
        .collect();
    let fail = |message: String| HlsError::Layer {
        layer: index,
        message,
    };
    match (config.strategy, config.target_ii, requested) {
        (Strategy::Latency, _, None | Some(1)) => Ok(1),
        (Strategy::Latency, _, Some(rf)) => Err(fail(format!(
            "reuse factor {rf} with the latency strategy: it computes every output channel at once; \
             use the resource strategy to reuse multipliers"
        ))),
        (Strategy::Resource, Some(target), _) => Ok(legal
            .iter()
            .rev()
            .copied()
            .find(|&rf| conv.frame_cycles(rf) <= target)
            .unwrap_or(1)),
        (Strategy::Resource, None, rf) => {
            let rf = rf.unwrap_or(1);
            if legal.contains(&rf) {
                Ok(rf)
            } else {
                Err(fail(format!(
                    "reuse factor {rf} is not possible for a convolution with {channels} output channels; legal \
                     values (divisors of the output channels): {}",
                    join(&legal)
                )))
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dense_design(
    index: usize,
    inputs: usize,
    outputs: usize,
    input: FixedFormat,
    fixed: FixedLayer,
    activation: Activation,
    config: &HlsConfig,
    requested: Option<usize>,
) -> Result<LayerDesign, HlsError> {
    let fail = |message: String| HlsError::Layer {
        layer: index,
        message,
    };
    let model_rf = fixed.reuse_factor;
    let (reuse_factor, order_reuse_factor) = match config.strategy {
        Strategy::Latency => match requested {
            None | Some(1) => (1, model_rf),
            Some(rf) => {
                return Err(fail(format!(
                    "reuse factor {rf} with the latency strategy: it is fully unrolled at II=1; \
                     use the resource strategy to reuse multipliers"
                )));
            }
        },
        Strategy::Resource => {
            let legal = legal_reuse_factors(inputs, outputs);
            let rf = match config.target_ii {
                // the largest reuse factor within the target whose summation order the accumulator allows
                Some(target) => *legal
                    .iter()
                    .rev()
                    .filter(|&&rf| rf <= target)
                    .find(|&&rf| {
                        order_free(fixed.accum)
                            || summation_order(inputs, rf) == summation_order(inputs, model_rf)
                    })
                    .unwrap_or(&1),
                None => requested.unwrap_or(model_rf),
            };
            if !legal.contains(&rf) {
                return Err(fail(format!(
                    "reuse factor {rf} is not possible for a {inputs}×{outputs} dense layer; legal values: {}",
                    join(&legal)
                )));
            }
            (rf, rf)
        }
    };
    if !order_free(fixed.accum)
        && summation_order(inputs, order_reuse_factor) != summation_order(inputs, model_rf)
    {
        return Err(fail(format!(
            "the accumulator {} saturates, so the order of the sum matters: the quantised model adds in the \
             order of reuse factor {model_rf}, the resource kernel with reuse factor {order_reuse_factor} \
             would not; use reuse factor {model_rf} or an accumulator that wraps (AP_WRAP, no saturated bits)",
            fixed.accum
        )));
    }
    Ok(LayerDesign {
        layer: index,
        kind: LayerKind::Dense,
        inputs,
        outputs,
        input,
        fixed,
        activation,
        strategy: config.strategy,
        reuse_factor,
        order_reuse_factor,
    })
}

fn check_config(config: &HlsConfig) -> Result<(), HlsError> {
    let name = &config.name;
    let identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 40;
    if !identifier {
        return Err(HlsError::Config(format!(
            "design name '{name}' must be a C identifier of at most 40 characters (letters, digits, _)"
        )));
    }
    if !(config.clock_mhz.is_finite() && config.clock_mhz > 0.0 && config.clock_mhz <= 1000.0) {
        return Err(HlsError::Config(format!(
            "clock {} MHz: give a frequency between 0 and 1000 MHz",
            config.clock_mhz
        )));
    }
    if !(8..=4096).contains(&config.axis_max_bits) || !config.axis_max_bits.is_power_of_two() {
        return Err(HlsError::Config(format!(
            "AXI4-Stream beat of {} bits: give a power of two from 8 to 4096 (AXI DMA takes 8 to 1024)",
            config.axis_max_bits
        )));
    }
    if config.reuse_factors.contains(&0) || config.target_ii == Some(0) {
        return Err(HlsError::Config(
            "a reuse factor or target II must be at least 1".into(),
        ));
    }
    if config.target_ii.is_some() && !config.reuse_factors.is_empty() {
        return Err(HlsError::Config(
            "give reuse factors or a target II, not both".into(),
        ));
    }
    if config.target_ii.is_some() && config.strategy == Strategy::Latency {
        return Err(HlsError::Config(
            "a target II chooses reuse factors, which needs the resource strategy".into(),
        ));
    }
    Ok(())
}

/// `1, 2, 4`.
pub(crate) fn join(values: &[usize]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_reuse_factors_keep_multipliers_busy() {
        assert_eq!(legal_reuse_factors(9, 200).len(), 3 + 11);
        assert_eq!(&legal_reuse_factors(9, 200)[..5], &[1, 3, 9, 18, 36]);
        assert_eq!(legal_reuse_factors(4, 6), vec![1, 2, 4, 8, 12, 24]);
    }

    fn layer(rf: usize, order: usize, inputs: usize, outputs: usize) -> LayerDesign {
        let f: FixedFormat = "ap_fixed<16,6>".parse().unwrap();
        LayerDesign {
            layer: 0,
            kind: LayerKind::Dense,
            inputs,
            outputs,
            input: f,
            fixed: FixedLayer {
                weight: f,
                bias: f,
                accum: f,
                result: f,
                activation: None,
                alpha: None,
                reuse_factor: order,
                weights: vec![0; inputs * outputs],
                biases: vec![0; outputs],
            },
            activation: Activation::Linear,
            strategy: Strategy::Resource,
            reuse_factor: rf,
            order_reuse_factor: rf,
        }
    }

    #[test]
    fn every_output_adds_its_inputs_in_the_reference_order_once() {
        for (n, m) in [(6, 4), (9, 5), (4, 6)] {
            for rf in legal_reuse_factors(n, m) {
                let l = layer(rf, rf, n, m);
                let mut seen = vec![Vec::new(); m];
                for r in 0..rf {
                    let lanes = l.step_lanes(r);
                    assert_eq!(lanes.len(), l.lanes(), "{n}x{m} rf {rf}");
                    for (i, o) in lanes {
                        seen[o].push(i);
                    }
                }
                for order in seen {
                    assert_eq!(order, summation_order(n, rf), "{n}x{m} rf {rf}");
                }
            }
        }
    }
}

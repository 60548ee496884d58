//! The last phase of quantisation: what was chosen for each layer, what it costs in bits and error, and the
//! table `baler quantize` prints (also written as `precision.json`).

use baler_core::fixed::FixedFormat;
use baler_core::{Activation, LayerSpec};
use serde::Serialize;
use std::fmt::Write;

/// The formats chosen for one layer and what they cost.
#[derive(Clone, Debug, Serialize)]
pub struct LayerChoice {
    /// `encoder` or `decoder`.
    pub network: &'static str,
    /// Layer index in its network.
    pub layer: usize,
    /// `dense 9→200 leaky_relu`, …
    pub description: String,
    /// Weight format.
    pub weight: FixedFormat,
    /// Bias format.
    pub bias: FixedFormat,
    /// Accumulator format.
    pub accum: FixedFormat,
    /// Result format.
    pub result: FixedFormat,
    /// Activation output format.
    pub activation: Option<FixedFormat>,
    /// Bits of all weight and bias codes.
    pub weight_bits: u64,
    /// log2(accumulator range / interval bound): ≥ 0, the accumulator cannot overflow.
    pub accum_margin_bits: f64,
    /// log2(result range / largest value seen on the data): headroom before saturation.
    pub result_margin_bits: f64,
    /// Change of the worst variable's MSE ratio (fixed / f32) when this layer's widths were narrowed.
    pub error_added: f64,
}

/// The outcome of precision selection.
#[derive(Clone, Debug, Serialize)]
pub struct PrecisionReport {
    /// Samples the errors are measured on.
    pub rows: usize,
    /// Format of the normalised input.
    pub input: FixedFormat,
    /// Reconstruction MSE (normalised units, all variables) of the float model in f32.
    pub float_mse: f64,
    /// … with weights and activations stored in f16.
    pub f16_mse: f64,
    /// … stored in bf16.
    pub bf16_mse: f64,
    /// … of the fixed-point model.
    pub fixed_mse: f64,
    /// Largest ratio over the variables of the f16 model's MSE to the f32 model's.
    pub f16_worst_ratio: f64,
    /// … of the bf16 model's.
    pub bf16_worst_ratio: f64,
    /// … of the fixed-point model's.
    pub fixed_worst_ratio: f64,
    /// The target: every variable's ratio at most `1 + tolerance`.
    pub tolerance: f64,
    /// Whether the fixed-point model meets the target.
    pub target_met: bool,
    /// Per layer, encoder then decoder.
    pub layers: Vec<LayerChoice>,
    /// Bits of all fixed-point weights and biases.
    pub fixed_weight_bits: u64,
    /// Bits of the same parameters in f32.
    pub float_weight_bits: u64,
}

/// `dense 9→200 leaky_relu(0.01)`, `conv 1→16 3×3/2 relu`, ….
pub(super) fn describe(spec: &LayerSpec) -> String {
    let act = match spec.activation() {
        Activation::Linear => "linear".to_string(),
        Activation::Relu => "relu".to_string(),
        Activation::LeakyRelu { alpha } => format!("leaky_relu({alpha})"),
    };
    match *spec {
        LayerSpec::Dense {
            inputs, outputs, ..
        } => format!("dense {inputs}→{outputs} {act}"),
        LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel,
            stride,
            ..
        } => {
            format!("conv {in_channels}→{out_channels} {kernel}×{kernel}/{stride} {act}")
        }
        LayerSpec::ConvTranspose2d {
            in_channels,
            out_channels,
            kernel,
            stride,
            ..
        } => {
            format!("conv_t {in_channels}→{out_channels} {kernel}×{kernel}/{stride} {act}")
        }
        LayerSpec::Flatten | LayerSpec::Unflatten { .. } => "reshape".to_string(),
    }
}

impl PrecisionReport {
    /// The per-layer table and the totals, for the terminal.
    pub fn table(&self) -> String {
        let mut s = String::new();
        writeln!(s, "input {}", self.input).unwrap();
        writeln!(
            s,
            "{:<8} {:>2} {:<32} {:<28} {:<28} {:<30} {:<30} {:<30} {:>9} {:>7} {:>7} {:>10}",
            "network",
            "#",
            "layer",
            "weight",
            "bias",
            "accumulator",
            "result",
            "activation",
            "bits",
            "acc.mrg",
            "res.mrg",
            "ratio +"
        )
        .unwrap();
        for l in &self.layers {
            writeln!(
                s,
                "{:<8} {:>2} {:<32} {:<28} {:<28} {:<30} {:<30} {:<30} {:>9} {:>7.1} {:>7.1} {:>+10.2e}",
                l.network,
                l.layer,
                l.description,
                l.weight.to_string(),
                l.bias.to_string(),
                l.accum.to_string(),
                l.result.to_string(),
                l.activation.map_or("-".to_string(), |a| a.to_string()),
                l.weight_bits,
                l.accum_margin_bits,
                l.result_margin_bits,
                l.error_added
            )
            .unwrap();
        }
        writeln!(
            s,
            "reconstruction MSE on {} samples (normalised): f32 {:.4e}, f16 {:.4e}, bf16 {:.4e}, fixed {:.4e}",
            self.rows, self.float_mse, self.f16_mse, self.bf16_mse, self.fixed_mse
        )
        .unwrap();
        writeln!(
            s,
            "worst variable's MSE vs f32: f16 ×{:.4}, bf16 ×{:.4}, fixed ×{:.4}; target ×{:.4} {}",
            self.f16_worst_ratio,
            self.bf16_worst_ratio,
            self.fixed_worst_ratio,
            1.0 + self.tolerance,
            if self.target_met { "met" } else { "NOT met" }
        )
        .unwrap();
        writeln!(
            s,
            "weights and biases: {} bits fixed point vs {} bits f32 ({:.1}× smaller)",
            self.fixed_weight_bits,
            self.float_weight_bits,
            self.float_weight_bits as f64 / self.fixed_weight_bits as f64
        )
        .unwrap();
        s
    }
}

//! C++ names of the design's number formats and layer types, and one-line layer descriptions: shared by every
//! emitter (network, layers, tops, testbench, scripts), so that none of them imports another for a name.

use crate::design::{LayerDesign, LayerKind, Strategy};
use baler_core::Activation;
use baler_core::fixed::FixedFormat;

/// `ap_int<W>` or `ap_uint<W>`: the integer holding a format's code.
pub fn code_type(f: FixedFormat) -> String {
    format!("ap_{}int<{}>", if f.signed { "" } else { "u" }, f.width)
}

/// The C integer type a kernel buffer stores a format's codes in (8, 16, 32 or 64 bits).
pub fn container(f: FixedFormat) -> String {
    let bits = [8, 16, 32, 64]
        .into_iter()
        .find(|&b| f.width <= b)
        .expect("interface formats are at most 64 bits wide");
    format!("{}int{bits}_t", if f.signed { "" } else { "u" })
}

/// Type names of layer `k` (1-based): `layerk_weight_t`, … and `layerk_t` for its output.
pub(crate) fn ty(k: usize, what: &str) -> String {
    if what.is_empty() {
        format!("layer{k}_t")
    } else {
        format!("layer{k}_{what}_t")
    }
}

/// The input type of layer `k`.
pub(crate) fn input_ty(k: usize) -> String {
    if k == 1 {
        "input_t".into()
    } else {
        ty(k - 1, "")
    }
}

pub(crate) fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Linear => "linear",
        Activation::Relu => "ReLU",
        Activation::LeakyRelu { .. } => "LeakyReLU",
    }
}

/// One line describing layer `k`.
pub fn layer_summary(k: usize, l: &LayerDesign) -> String {
    let what = match l.kind {
        LayerKind::Dense => format!("dense {} → {}", l.inputs, l.outputs),
        LayerKind::Conv(c) => format!(
            "{} {n}×{n} stride {} padding {}, {} → {}",
            if c.transposed {
                "transposed conv"
            } else {
                "conv"
            },
            c.stride,
            c.padding,
            shape(c.input),
            shape(c.output),
            n = c.kernel
        ),
    };
    let how = match (l.kind, l.strategy) {
        (LayerKind::Conv(c), _) => format!(
            "reuse factor {rf}: {} channels × {} taps multiplied per iteration, {rf} iteration(s) of {} cycles \
             per output position",
            c.output[0] / l.reuse_factor,
            c.taps(),
            c.cycles_per_iteration(),
            rf = l.reuse_factor
        ),
        (LayerKind::Dense, Strategy::Latency) => format!(
            "latency strategy, {} multiplies unrolled, II=1",
            l.inputs * l.outputs
        ),
        (LayerKind::Dense, Strategy::Resource) => format!(
            "resource strategy, reuse factor {}: {} multiplies per cycle, II={}",
            l.reuse_factor,
            l.lanes(),
            l.reuse_factor
        ),
    };
    format!(
        "layer {k} (model layer {}): {what}, {}; {how}",
        l.layer,
        activation_name(l.activation)
    )
}

/// `c×h×w`.
pub fn shape(s: [usize; 3]) -> String {
    format!("{}×{}×{}", s[0], s[1], s[2])
}

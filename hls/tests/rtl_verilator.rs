//! The Verilog backend checked by tools that judge hardware: each design's IP core is built with Verilator
//! and streams the test frames three ways (every output code must equal the Rust reference's, the latency
//! and II are counted in cycles), and a small network is synthesised by yosys for UltraScale+ and 7 series,
//! its 7-series netlist run through the same testbench.

mod common;

use baler_core::quantized::QuantizedNetwork;
use baler_core::{Activation, LayerSpec};
use baler_hls::rtl::{self, Multipliers, RtlChecks, RtlConfig, RtlDesign};
use baler_hls::{HlsConfig, HlsDesign, HlsProject, Strategy, TestFrames, write_project};
use common::*;

/// The design of `network` and its HLS project with `frames` random test frames.
fn new_project(
    label: &str,
    network: &QuantizedNetwork,
    config: HlsConfig,
    frames: usize,
) -> (HlsProject, HlsDesign) {
    let design = HlsDesign::new(network, config).unwrap_or_else(|e| panic!("{label}: {e}"));
    let values = random_frames(design.inputs, frames, 11);
    let test = TestFrames::from_reference(network, &values).unwrap();
    let project = write_project(&project_dir(&format!("rtl_{label}")), &design, &test).unwrap();
    (project, design)
}

/// Writes the project and its Verilog, runs Verilator and checks what it measured against the design.
fn verilate(
    label: &str,
    network: &QuantizedNetwork,
    config: HlsConfig,
    rtl_config: RtlConfig,
    frames: usize,
) -> (HlsProject, RtlDesign) {
    let (project, design) = new_project(label, network, config, frames);
    let rtl = rtl::generate(&design, &rtl_config).unwrap_or_else(|e| panic!("{label}: {e}"));
    rtl::write_rtl(&project, &rtl).unwrap();
    let report = rtl::verilate(&project, &rtl).unwrap_or_else(|e| panic!("{label}: {e}"));
    eprintln!(
        "{label}: {} (build {:.1} s, run {:.1} s)",
        report.summary, report.build_seconds, report.run_seconds
    );
    assert_eq!(report.frames, frames, "{label}");
    assert_eq!(report.latency_cycles, rtl.core_latency, "{label}");
    assert!(
        (report.ii_cycles - rtl.ii as f64).abs() < 1e-9,
        "{label}: II {}",
        report.ii_cycles
    );
    (project, rtl)
}

fn named(name: &str) -> HlsConfig {
    HlsConfig {
        name: name.into(),
        ..HlsConfig::default()
    }
}

/// What `baler quantize` chooses (the fpga-small encoder's first layer): narrow rounding, saturating inputs and
/// weights, a wrap-around accumulator wide enough for the sum, so the adder tree's nodes are narrower than it.
const QUANTIZED: Formats = Formats {
    input: "ap_fixed<9,2,AP_RND,AP_SAT>",
    weight: "ap_fixed<6,0,AP_RND,AP_SAT>",
    bias: "ap_fixed<8,2,AP_RND,AP_SAT>",
    accum: "ap_fixed<17,4>",
    result: "ap_fixed<8,3,AP_RND,AP_SAT>",
    activation: "ap_ufixed<7,2,AP_RND,AP_SAT>",
};

/// Wide products (40 × 40 bits) brought to an accumulator with 50 more fraction bits: the shifted products are
/// 130 bits wide before they wrap into 64, past any 128-bit arithmetic in the generator.
const WIDE: Formats = Formats {
    input: "ap_fixed<40,4>",
    weight: "ap_fixed<40,2>",
    bias: "ap_fixed<40,-60>",
    accum: "ap_fixed<64,-60>",
    result: "ap_fixed<24,-50,AP_RND,AP_SAT>",
    activation: "ap_ufixed<16,-54,AP_RND,AP_SAT>",
};

#[test]
fn formats_and_multiplier_styles_are_bit_exact() {
    let cases = [
        (
            "quantized_auto",
            &QUANTIZED,
            Activation::Relu,
            Multipliers::Auto,
        ),
        (
            "default_dsp",
            &HLS4ML_DEFAULT,
            Activation::Relu,
            Multipliers::Dsp,
        ),
        (
            "saturating_lut",
            &SATURATING,
            Activation::LeakyRelu { alpha: 0.3 },
            Multipliers::Lut,
        ),
        ("odd_auto", &ODD_WIDTHS, Activation::Relu, Multipliers::Auto),
        ("wide_dsp", &WIDE, Activation::Relu, Multipliers::Dsp),
        ("wide_lut", &WIDE, Activation::Relu, Multipliers::Lut),
    ];
    for (k, (label, formats, activation, multipliers)) in cases.into_iter().enumerate() {
        let mut net = random_network(&[7, 12, 6, 3], formats, activation, 1, 40 + k as u64);
        if label == "wide_lut" {
            // the last layer's first output: every weight a negative power of two and no bias, so that every
            // summand is subtracted and the sum is subtracted from zero at the end; its second: no weights, only
            // the bias
            let last = net
                .layers
                .last_mut()
                .and_then(|l| l.fixed.as_mut())
                .unwrap();
            for i in 0..6 {
                last.weights[i * 3] = -(1 << (30 + i));
                last.weights[i * 3 + 1] = 0;
            }
            last.biases[0] = 0;
        }
        let rtl_config = RtlConfig {
            multipliers,
            levels_per_stage: Some(1 + k % 3),
        };
        verilate(label, &net, named(label), rtl_config, 500);
    }
}

#[test]
fn yosys_maps_products_as_asked_and_its_netlist_computes_the_same_codes() {
    // a small encoder in hls4ml's default precision, with multi-beat frames (64-bit beats)
    let net = random_network(&[6, 5, 3], &HLS4ML_DEFAULT, Activation::Relu, 1, 77);
    let config = |name: &str| HlsConfig {
        axis_max_bits: 64,
        ..named(name)
    };
    let lut = RtlConfig {
        multipliers: Multipliers::Lut,
        levels_per_stage: None,
    };
    let (project, rtl) = verilate("synth_lut", &net, config("synth_lut"), lut, 300);
    assert_eq!(
        rtl.axis_input.beats, 2,
        "6 codes of 16 bits in 64-bit beats"
    );
    let xcup = rtl::synthesize(&project, &rtl.top, "xcup").unwrap();
    eprintln!("xcup, shift-add products: {xcup:?}");
    assert_eq!(xcup.dsp, 0, "shift-add products use no DSP");
    assert!(xcup.lut > 0 && xcup.carry > 0 && xcup.ff > 0);

    let dsp = RtlConfig {
        multipliers: Multipliers::Dsp,
        levels_per_stage: None,
    };
    // the whole flow as `baler hls --rtl --verilate --gate-level` runs it: xc7 synthesised for the netlist. In
    // `baler quantize`'s formats, the first layer time-multiplexed (each product added to its accumulator as it
    // comes, which yosys packs into the DSP48E1 with its product), the second fully pipelined.
    let net = random_network(&[6, 5, 3], &QUANTIZED, Activation::Relu, 1, 77);
    let config = HlsConfig {
        strategy: Strategy::Resource,
        reuse_factors: vec![6, 1],
        ..config("synth_dsp")
    };
    let (project, design) = new_project("synth_dsp", &net, config, 300);
    let rtl = rtl::generate(&design, &dsp).unwrap();
    let checks = RtlChecks {
        verilate: true,
        synth: Vec::new(),
        gate_level: true,
    };
    let report = rtl::build(&project, rtl, &checks, |line| eprintln!("{line}")).unwrap();
    let rtl = &report.design;
    let verilator = report.verilator.as_ref().unwrap();
    assert_eq!(verilator.frames, 300);
    assert_eq!(verilator.latency_cycles, rtl.core_latency);
    let multipliers: usize = rtl.layers.iter().map(|l| l.multipliers).sum();
    let [xc7] = &report.synthesis[..] else {
        panic!("one synthesis, for xc7: {:?}", report.synthesis)
    };
    eprintln!("xc7, multipliers: {xc7:?}");
    assert_eq!(xc7.family, "xc7");
    assert_eq!(xc7.dsp, multipliers, "one DSP48E1 per product");
    let delay = xc7.logic_delay_ns.expect("sta on the xc7 netlist");
    assert!(
        (0.5..20.0).contains(&delay),
        "critical path logic {delay} ns"
    );
    assert!(xcup.logic_delay_ns.is_none(), "no DSP48E2 timing model");
    let gate = report.gate_level.as_ref().unwrap();
    eprintln!("gate level: {}", gate.summary);
    assert_eq!(gate.frames, 300);
    assert_eq!(gate.latency_cycles, rtl.core_latency);
    // everything recorded beside the estimate
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["rtl"]["gate_level"]["frames"], 300);
    assert_eq!(json["rtl"]["synthesis"][0]["dsp"], multipliers);
    assert!(json["estimate"].is_object());
}

#[test]
fn reused_multipliers_are_bit_exact_at_one_frame_per_reuse_factor() {
    // saturating accumulators adding the inputs of each step in the reference's order (R below the inputs)
    let net = random_network(&[6, 9, 3], &SATURATING, Activation::Relu, 3, 7);
    let config = HlsConfig {
        strategy: Strategy::Resource,
        reuse_factors: vec![3, 3],
        ..named("reuse_steps")
    };
    let (_, rtl) = verilate("reuse_steps", &net, config, RtlConfig::default(), 200);
    assert_eq!((rtl.ii, rtl.layers[0].multipliers), (3, 18));
    // R above the inputs: each step one input times a block of outputs; then a fully pipelined layer
    let net = random_network(&[4, 6, 2], &QUANTIZED, Activation::Relu, 1, 8);
    let config = HlsConfig {
        strategy: Strategy::Resource,
        reuse_factors: vec![12, 1],
        ..named("reuse_blocks")
    };
    let (_, rtl) = verilate("reuse_blocks", &net, config, RtlConfig::default(), 200);
    assert_eq!((rtl.ii, rtl.layers[0].multipliers), (12, 2));
}

#[test]
fn convolutions_and_empty_stages_are_refused_by_name() {
    let conv = LayerSpec::Conv2d {
        in_channels: 1,
        out_channels: 2,
        kernel: 3,
        stride: 1,
        padding: 1,
        activation: Activation::Relu,
    };
    let net = random_layers(&[1, 5, 5], &[conv], &HLS4ML_DEFAULT, 1, 3);
    let design = HlsDesign::new(&net, named("conv")).unwrap();
    let error = rtl::generate(&design, &RtlConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("layer 0: the Verilog backend builds dense layers only"),
        "{error}"
    );

    let net = random_network(&[4, 6, 2], &HLS4ML_DEFAULT, Activation::Relu, 1, 3);
    let design = HlsDesign::new(&net, named("zero")).unwrap();
    let zero = RtlConfig {
        levels_per_stage: Some(0),
        ..RtlConfig::default()
    };
    let error = rtl::generate(&design, &zero).unwrap_err().to_string();
    assert!(
        error.contains("adder levels per stage must be at least 1"),
        "{error}"
    );
}

//! Generated projects for several models × strategies × io types × formats, C-simulated with g++ against the
//! real ap_fixed headers: every output code of every frame, through the network, the AXI4-Stream IP core and
//! the Vitis kernel, must equal the Rust reference's (the testbench exits non-zero otherwise).

mod common;

use baler_core::{Activation, LayerSpec};
use baler_hls::{CsimOptions, HlsConfig, IoType, Strategy};
use common::*;

const FRAMES: usize = 2000;
const LEAKY: Activation = Activation::LeakyRelu { alpha: 0.3 };

fn config(name: &str, strategy: Strategy, io: IoType, reuse_factors: &[usize]) -> HlsConfig {
    HlsConfig {
        name: name.into(),
        strategy,
        io,
        reuse_factors: reuse_factors.to_vec(),
        ..HlsConfig::default()
    }
}

#[test]
fn jet_encoder_latency_parallel() {
    let net = jet_network("quantized-encoder.json");
    let cfg = config("jet_encoder", Strategy::Latency, IoType::Parallel, &[]);
    generate_and_simulate("jet_encoder_latency_parallel", &net, cfg, FRAMES);
}

#[test]
fn jet_encoder_resource_stream() {
    // both resource forms: reuse factors dividing the inputs (3, 20, 10) and inputs × a divisor of the outputs (250)
    let net = jet_network("quantized-encoder.json");
    let cfg = config(
        "jet_encoder",
        Strategy::Resource,
        IoType::Stream,
        &[3, 20, 10, 250],
    );
    generate_and_simulate("jet_encoder_resource_stream", &net, cfg, FRAMES);
}

#[test]
fn jet_decoder_latency_stream_and_resource_parallel() {
    let net = jet_network("quantized-decoder.json");
    let cfg = config("jet_decoder", Strategy::Latency, IoType::Stream, &[]);
    generate_and_simulate("jet_decoder_latency_stream", &net, cfg, FRAMES);
    let cfg = config(
        "jet_decoder",
        Strategy::Resource,
        IoType::Parallel,
        &[5, 50, 100, 200],
    );
    generate_and_simulate("jet_decoder_resource_parallel", &net, cfg, FRAMES);
}

#[test]
fn fpga_small_preset_in_hls4ml_default_precision() {
    // the fpga-small preset's shape: 24 → 32 → 16 → 14, ReLU, ap_fixed<16,6> everywhere
    let net = random_network(&[24, 32, 16, 14], &HLS4ML_DEFAULT, Activation::Relu, 1, 1);
    for (label, strategy, io, rf) in [
        (
            "fpga_small_latency_parallel",
            Strategy::Latency,
            IoType::Parallel,
            &[][..],
        ),
        (
            "fpga_small_latency_stream",
            Strategy::Latency,
            IoType::Stream,
            &[],
        ),
        (
            "fpga_small_resource_parallel",
            Strategy::Resource,
            IoType::Parallel,
            &[4, 8, 16],
        ),
    ] {
        generate_and_simulate(label, &net, config("fpga_small", strategy, io, rf), FRAMES);
    }
}

#[test]
fn saturating_accumulators_keep_the_reference_order() {
    // the order of additions decides saturating sums: the model adds in stride-4 groups, so must the hardware
    let net = random_network(&[24, 32, 16, 14], &SATURATING, LEAKY, 4, 2);
    let cfg = config("saturating", Strategy::Resource, IoType::Parallel, &[]);
    generate_and_simulate("saturating_resource_rf4", &net, cfg, FRAMES);
    let cfg = config("saturating", Strategy::Latency, IoType::Stream, &[]);
    generate_and_simulate("saturating_latency_order4", &net, cfg, FRAMES);
}

#[test]
fn field_model_with_odd_widths() {
    // a dense model of 8×8 fields: 64 → 32 → 8, unsigned inputs, wrap with 2 saturated MSBs (order matters),
    // summed in stride-16 groups
    let net = random_network(&[64, 32, 8], &ODD_WIDTHS, Activation::Relu, 16, 3);
    let cfg = config("field_dense", Strategy::Resource, IoType::Stream, &[]);
    generate_and_simulate("field_resource_stream", &net, cfg, FRAMES);
    // the weight ROMs as synthesis reads them: ap_int codes of odd widths
    let cfg = HlsConfig {
        axis_max_bits: 64,
        ..config("field_dense", Strategy::Latency, IoType::Parallel, &[])
    };
    let options = CsimOptions {
        ap_int_roms: true,
        ..csim_options(false)
    };
    simulate_with(
        "field_latency_parallel_narrow_axis_ap_int_roms",
        &net,
        cfg,
        FRAMES,
        &options,
    );
}

fn conv(
    in_channels: usize,
    out_channels: usize,
    stride: usize,
    activation: Activation,
) -> LayerSpec {
    LayerSpec::Conv2d {
        in_channels,
        out_channels,
        kernel: 3,
        stride,
        padding: 1,
        activation,
    }
}

fn conv_transposed(in_channels: usize, out_channels: usize, output_padding: usize) -> LayerSpec {
    LayerSpec::ConvTranspose2d {
        in_channels,
        out_channels,
        kernel: 3,
        stride: 2,
        padding: 1,
        output_padding: [output_padding, output_padding],
        activation: LEAKY,
    }
}

#[test]
fn convolutional_field_autoencoder() {
    // the conv preset's structure on 11×11 fields: 3×3 convolution, two stride-2 convolutions (11 → 6 → 3),
    // flatten, dense to the latent; the decoder mirrors it with transposed convolutions and output padding
    let encoder = [
        conv(1, 4, 1, LEAKY),
        conv(4, 4, 2, LEAKY),
        conv(4, 3, 2, LEAKY),
        LayerSpec::Flatten,
        LayerSpec::Dense {
            inputs: 27,
            outputs: 6,
            activation: Activation::Linear,
        },
    ];
    let net = random_layers(&[1, 11, 11], &encoder, &HLS4ML_DEFAULT, 1, 11);
    let cfg = config("conv_encoder", Strategy::Latency, IoType::Parallel, &[]);
    generate_and_simulate("conv_encoder", &net, cfg, FRAMES);

    let decoder = [
        LayerSpec::Dense {
            inputs: 6,
            outputs: 27,
            activation: LEAKY,
        },
        LayerSpec::Unflatten {
            channels: 3,
            height: 3,
            width: 3,
        },
        conv_transposed(3, 4, 1),
        conv_transposed(4, 4, 0),
        conv(4, 1, 1, Activation::Linear),
    ];
    // saturating accumulators: the (channel, ky, kx) order of the reference must be kept
    let net = random_layers(&[6], &decoder, &SATURATING, 2, 12);
    // reuse factors: the dense layer's order (2), then passes over the output channels of each convolution
    let cfg = config(
        "conv_decoder",
        Strategy::Resource,
        IoType::Parallel,
        &[2, 2, 4, 1],
    );
    generate_and_simulate("conv_decoder", &net, cfg, FRAMES);
}

//! What the generator refuses, with messages that say what to do; and proof that the testbench compares:
//! a changed expected code makes C simulation fail.

mod common;

use baler_core::{Activation, LayerSpec};
use baler_hls::{HlsConfig, HlsDesign, HlsError, Strategy, TestFrames, run_csim, write_project};
use common::*;

fn resource(reuse_factors: &[usize]) -> HlsConfig {
    HlsConfig {
        strategy: Strategy::Resource,
        reuse_factors: reuse_factors.to_vec(),
        ..HlsConfig::default()
    }
}

fn message(e: HlsError) -> String {
    e.to_string()
}

#[test]
fn an_illegal_reuse_factor_lists_the_legal_ones() {
    let net = random_network(&[24, 32, 14], &HLS4ML_DEFAULT, Activation::Relu, 1, 1);
    let e = message(HlsDesign::new(&net, resource(&[5, 4])).unwrap_err());
    assert_eq!(
        e,
        "layer 0: reuse factor 5 is not possible for a 24×32 dense layer; legal values: \
         1, 2, 3, 4, 6, 8, 12, 24, 48, 96, 192, 384, 768"
    );
    let e = message(HlsDesign::new(&net, resource(&[1, 2, 3])).unwrap_err());
    assert!(
        e.contains("3 reuse factors given for 2 layers with weights"),
        "{e}"
    );
    let target = HlsConfig {
        target_ii: Some(10),
        ..resource(&[])
    };
    let design = HlsDesign::new(&net, target).unwrap();
    let chosen: Vec<usize> = design.layers.iter().map(|l| l.reuse_factor).collect();
    assert_eq!(
        chosen,
        vec![8, 8],
        "the largest legal reuse factors up to 10"
    );
    let e = message(
        HlsDesign::new(
            &net,
            HlsConfig {
                target_ii: Some(10),
                ..resource(&[2])
            },
        )
        .unwrap_err(),
    );
    assert!(e.contains("not both"), "{e}");
    let latency = HlsConfig {
        reuse_factors: vec![4],
        ..HlsConfig::default()
    };
    let e = message(HlsDesign::new(&net, latency).unwrap_err());
    assert!(
        e.contains("fully unrolled at II=1; use the resource strategy"),
        "{e}"
    );
}

#[test]
fn a_saturating_accumulator_refuses_a_different_summation_order() {
    let net = random_network(&[24, 32, 14], &SATURATING, Activation::Relu, 1, 1);
    let e = message(HlsDesign::new(&net, resource(&[4, 1])).unwrap_err());
    assert!(
        e.starts_with("layer 0: the accumulator ap_fixed<12,3,AP_TRN,AP_SAT> saturates"),
        "{e}"
    );
    // with a wrapping accumulator any legal order gives the same codes
    let net = random_network(&[24, 32, 14], &HLS4ML_DEFAULT, Activation::Relu, 1, 1);
    assert!(HlsDesign::new(&net, resource(&[4, 1])).is_ok());
}

#[test]
fn streams_of_convolutions_and_bad_options_are_refused() {
    let conv = [
        LayerSpec::Conv2d {
            in_channels: 1,
            out_channels: 2,
            kernel: 3,
            stride: 1,
            padding: 1,
            activation: Activation::Relu,
        },
        LayerSpec::Flatten,
        LayerSpec::Dense {
            inputs: 8,
            outputs: 3,
            activation: Activation::Linear,
        },
    ];
    let net = random_layers(&[1, 2, 2], &conv, &HLS4ML_DEFAULT, 1, 1);
    assert!(HlsDesign::new(&net, HlsConfig::default()).is_ok());
    let e = message(HlsDesign::new(&net, resource(&[3, 1])).unwrap_err());
    assert_eq!(
        e,
        "layer 0: reuse factor 3 is not possible for a convolution with 2 output channels; legal values \
         (divisors of the output channels): 1, 2"
    );
    let stream = HlsConfig {
        io: baler_hls::IoType::Stream,
        ..HlsConfig::default()
    };
    let e = message(HlsDesign::new(&net, stream).unwrap_err());
    assert_eq!(
        e,
        "layer 0: io_stream builds dense layers only; use --io parallel for convolutional models"
    );

    let net = random_network(&[4, 4], &HLS4ML_DEFAULT, Activation::Relu, 1, 1);
    for (config, expected) in [
        (
            HlsConfig {
                name: "9lives".into(),
                ..HlsConfig::default()
            },
            "must be a C identifier",
        ),
        (
            HlsConfig {
                clock_mhz: 0.0,
                ..HlsConfig::default()
            },
            "clock 0 MHz",
        ),
        (
            HlsConfig {
                axis_max_bits: 12,
                ..HlsConfig::default()
            },
            "give a power of two from 8 to 4096",
        ),
        (
            HlsConfig {
                axis_max_bits: 96,
                ..HlsConfig::default()
            },
            "AXI4-Stream beat of 96 bits",
        ),
        (
            HlsConfig {
                axis_max_bits: 8,
                ..HlsConfig::default()
            },
            "does not fit an AXI4-Stream beat of 8 bits",
        ),
    ] {
        let e = message(HlsDesign::new(&net, config).unwrap_err());
        assert!(e.contains(expected), "{e}");
    }
    let mut bad = net.clone();
    bad.layers[0].fixed.as_mut().unwrap().weights[3] = 1 << 20;
    let e = message(HlsDesign::new(&bad, HlsConfig::default()).unwrap_err());
    assert!(
        e.starts_with("layer 0: weight code 1048576 at index 3"),
        "{e}"
    );
    let e = message(TestFrames::from_reference(&net, &[0.0, 1.0, f64::NAN, 0.5]).unwrap_err());
    assert_eq!(e, "test frames: input value NaN is not finite");
}

#[test]
fn the_testbench_fails_on_a_single_changed_code() {
    let net = random_network(&[8, 6, 3], &HLS4ML_DEFAULT, Activation::Relu, 1, 5);
    let design = HlsDesign::new(
        &net,
        HlsConfig {
            name: "tampered".into(),
            ..HlsConfig::default()
        },
    )
    .unwrap();
    let mut frames = TestFrames::from_reference(&net, &random_frames(8, 50, 1)).unwrap();
    frames.expected[7] += 1;
    let project = write_project(&project_dir("tampered"), &design, &frames).unwrap();
    let e = message(run_csim(&project, &csim_options(false)).unwrap_err());
    // frame 2, output 1, seen by the network, the IP core and the kernel
    assert!(e.contains("differs from the Rust reference"), "{e}");
    for path in ["network", "ip", "kernel"] {
        assert!(
            e.contains(&format!("MISMATCH {path}: frame 2 output 1:")),
            "{e}"
        );
    }
    assert!(e.contains("3 mismatches"), "{e}");
}

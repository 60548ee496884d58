//! Networks and frames for the generator's tests: the shipped jet model, random networks of the presets'
//! shapes with chosen formats, and a helper that writes a project and C-simulates it.
#![allow(dead_code)]

use baler_core::fixed::FixedFormat;
use baler_core::quantized::{FixedConstant, FixedLayer, QuantizedLayer, QuantizedNetwork};
use baler_core::{Activation, LayerSpec};
use baler_hls::{
    CsimOptions, CsimReport, HlsConfig, HlsDesign, TestFrames, run_csim, write_project,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

/// A network of the shipped jet model (`quantized-encoder.json` or `quantized-decoder.json`).
pub fn jet_network(file: &str) -> QuantizedNetwork {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../models/jets-baler-9to5")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(json["network"].clone()).unwrap()
}

/// Formats of a random dense network: (input, weight, bias, accum, result, activation).
pub struct Formats {
    pub input: &'static str,
    pub weight: &'static str,
    pub bias: &'static str,
    pub accum: &'static str,
    pub result: &'static str,
    pub activation: &'static str,
}

/// hls4ml's default: `ap_fixed<16,6>` everywhere.
pub const HLS4ML_DEFAULT: Formats = Formats {
    input: "ap_fixed<16,6>",
    weight: "ap_fixed<16,6>",
    bias: "ap_fixed<16,6>",
    accum: "ap_fixed<16,6>",
    result: "ap_fixed<16,6>",
    activation: "ap_fixed<16,6>",
};

/// Narrow saturating accumulators, where the summation order decides the result, and rounding results.
pub const SATURATING: Formats = Formats {
    input: "ap_fixed<10,3,AP_RND,AP_SAT>",
    weight: "ap_fixed<8,1>",
    bias: "ap_fixed<8,2>",
    accum: "ap_fixed<12,3,AP_TRN,AP_SAT>",
    result: "ap_fixed<10,3,AP_RND_CONV,AP_SAT_SYM>",
    activation: "ap_ufixed<9,3,AP_RND,AP_SAT>",
};

/// Odd widths, wrap-around with saturated MSBs, unsigned activations.
pub const ODD_WIDTHS: Formats = Formats {
    input: "ap_ufixed<11,1>",
    weight: "ap_fixed<7,0,AP_RND_ZERO>",
    bias: "ap_fixed<9,1>",
    accum: "ap_fixed<19,5,AP_TRN,AP_WRAP,2>",
    result: "ap_fixed<13,4,AP_RND_INF,AP_SAT_ZERO>",
    activation: "ap_ufixed<12,4,AP_RND_MIN_INF,AP_SAT>",
};

/// A random dense network `sizes[0] → … → sizes[last]` with `activation` between layers (linear last),
/// summing in the order of `reuse_factor`.
pub fn random_network(
    sizes: &[usize],
    f: &Formats,
    activation: Activation,
    reuse_factor: usize,
    seed: u64,
) -> QuantizedNetwork {
    let specs: Vec<LayerSpec> = sizes
        .windows(2)
        .enumerate()
        .map(|(k, pair)| LayerSpec::Dense {
            inputs: pair[0],
            outputs: pair[1],
            activation: if k == sizes.len() - 2 {
                Activation::Linear
            } else {
                activation
            },
        })
        .collect();
    random_layers(&[sizes[0]], &specs, f, reuse_factor, seed)
}

/// Random codes and the formats `f` for the layers `specs` on inputs of `input_shape`.
pub fn random_layers(
    input_shape: &[usize],
    specs: &[LayerSpec],
    f: &Formats,
    reuse_factor: usize,
    seed: u64,
) -> QuantizedNetwork {
    let mut rng = StdRng::seed_from_u64(seed);
    let parse = |s: &str| -> FixedFormat { s.parse().unwrap() };
    let (weight, bias) = (parse(f.weight), parse(f.bias));
    let mut layers = Vec::new();
    for &spec in specs {
        let Some((weight_shape, bias_count)) = spec.param_shapes() else {
            layers.push(QuantizedLayer { spec, fixed: None });
            continue;
        };
        let act = spec.activation();
        let mut code = |fmt: FixedFormat| {
            // a fifth of the weights zero, as pruned networks have
            if rng.random_bool(0.2) {
                0
            } else {
                rng.random_range(fmt.min_code()..=fmt.max_code()) as i64
            }
        };
        let weights = (0..weight_shape.iter().product::<usize>())
            .map(|_| code(weight))
            .collect();
        let biases = (0..bias_count).map(|_| code(bias)).collect();
        layers.push(QuantizedLayer {
            spec,
            fixed: Some(FixedLayer {
                weight,
                bias,
                accum: parse(f.accum),
                result: parse(f.result),
                activation: (act != Activation::Linear).then(|| parse(f.activation)),
                alpha: matches!(act, Activation::LeakyRelu { .. }).then(|| FixedConstant {
                    format: parse("ap_ufixed<8,-2,AP_RND>"),
                    code: 77,
                }),
                reuse_factor,
                weights,
                biases,
            }),
        });
    }
    QuantizedNetwork {
        input_shape: input_shape.to_vec(),
        input: parse(f.input),
        layers,
    }
}

/// `frames` random normalised frames of `inputs` values, some beyond [0, 1] to reach saturation.
pub fn random_frames(inputs: usize, frames: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..inputs * frames)
        .map(|_| rng.random_range(-0.3..1.3) * if rng.random_bool(0.05) { 8.0 } else { 1.0 })
        .collect()
}

/// A scratch folder for the project `name`.
pub fn project_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("hls")
        .join(name)
}

/// C simulation options with the fetched headers (fails with the fetch command when they are missing).
pub fn csim_options(shared_library: bool) -> CsimOptions {
    let ap_types = baler_hls::ap_types_dir(None).unwrap_or_else(|e| panic!("{e}"));
    CsimOptions {
        ap_types,
        shared_library,
        ap_int_roms: false,
    }
}

/// Designs `network` with `config`, writes the project with `frames` random frames, C-simulates it and
/// returns the report (which exists only when every code matched).
pub fn generate_and_simulate(
    label: &str,
    network: &QuantizedNetwork,
    config: HlsConfig,
    frames: usize,
) -> CsimReport {
    simulate_with(label, network, config, frames, &csim_options(false))
}

/// As [`generate_and_simulate`], with these C simulation options.
pub fn simulate_with(
    label: &str,
    network: &QuantizedNetwork,
    config: HlsConfig,
    frames: usize,
    options: &CsimOptions,
) -> CsimReport {
    let design = HlsDesign::new(network, config).unwrap_or_else(|e| panic!("{label}: {e}"));
    let values = random_frames(design.inputs, frames, 7);
    let test = TestFrames::from_reference(network, &values).unwrap();
    let project = write_project(&project_dir(label), &design, &test).unwrap();
    // the network beside its project, for scripts/hls4ml_crosscheck.sh
    std::fs::write(
        project.dir.join("network.json"),
        serde_json::to_string(network).unwrap(),
    )
    .unwrap();
    let report = run_csim(&project, options).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(report.frames, frames);
    eprintln!(
        "{label}: {} (compile {:.1} s, run {:.1} s)",
        report.summary, report.compile_seconds, report.run_seconds
    );
    report
}

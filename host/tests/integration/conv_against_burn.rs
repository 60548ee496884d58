//! Core's float convolutions checked against burn's, the framework that trained the model: the shipped CFD
//! model's encoder and decoder run on the normalised frames of its data, every layer within an f32 rounding bound.
//!
//! The two sides share nothing but the parameters: core runs its own loops (`baler_core::inference`), burn
//! runs its CPU backend's conv2d / conv_transpose2d (im2col or col2im with a gemm). Both compute each output
//! as a sum of the same `n` terms (bias and products) in f32, in different orders. Each sum is within
//! `γ_n · Σ|terms|` of the exact one (`γ_n = n·u / (1 − n·u)`, `u = 2⁻²⁴`, for any order, with or without
//! fused multiply-adds), so two of them differ by at most `2 γ_n (|b| + Σ|w|·|x|)`, plus what a difference
//! already present in the layer's input becomes, `Σ|w|·e`. Activations (linear, LeakyReLU with α ≤ 1) do not
//! enlarge a difference, the rounding of `α·x` is covered by two extra terms. The bound is carried through the
//! network and computed with burn from |w|, |b| and |x|; a wrong tap, channel or stride in either side shifts
//! outputs by whole products, far beyond it.

use baler::data::Dataset;
use baler::model::Model;
use baler::network::Network;
use baler::network::run_network;
use baler::train::normalized;
use baler_core::inference::{FloatNetwork, FloatStorage};
use baler_core::{Activation, LayerParams, LayerSpec, NetworkSpec, ParamTensor};
use burn::tensor::Device;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `γ_n` for f32: the relative bound on the rounding error of a sum of `n` rounded terms.
fn gamma(n: usize) -> f64 {
    let nu = n as f64 * f64::from(f32::EPSILON) / 2.0;
    nu / (1.0 - nu)
}

/// Terms added per output value (bias, products, two for the activation's rounding); an upper bound for
/// the border positions and the transposed convolution, which skip taps.
fn terms(layer: &LayerSpec) -> usize {
    2 + match *layer {
        LayerSpec::Dense { inputs, .. } => inputs + 1,
        LayerSpec::Conv2d {
            in_channels,
            kernel,
            ..
        }
        | LayerSpec::ConvTranspose2d {
            in_channels,
            kernel,
            ..
        } => in_channels * kernel * kernel + 1,
        LayerSpec::Flatten | LayerSpec::Unflatten { .. } => 0,
    }
}

/// The layer without its activation.
fn linear(mut layer: LayerSpec) -> LayerSpec {
    match &mut layer {
        LayerSpec::Dense { activation, .. }
        | LayerSpec::Conv2d { activation, .. }
        | LayerSpec::ConvTranspose2d { activation, .. } => *activation = Activation::Linear,
        LayerSpec::Flatten | LayerSpec::Unflatten { .. } => {}
    }
    layer
}

/// |w| and either |b| or zero biases.
fn magnitudes(p: &LayerParams, with_bias: bool) -> LayerParams {
    let abs = |t: &ParamTensor, keep: bool| ParamTensor {
        shape: t.shape.clone(),
        values: t
            .values
            .iter()
            .map(|v| if keep { v.abs() } else { 0.0 })
            .collect(),
    };
    LayerParams {
        weight: abs(&p.weight, true),
        bias: abs(&p.bias, with_bias),
    }
}

/// Runs the one-layer network `layer` (input shape `shape`) in burn over rows of `values`.
fn burn_layer(
    layer: LayerSpec,
    shape: &[usize],
    params: LayerParams,
    values: &[f32],
    device: &Device,
) -> Vec<f32> {
    let spec = NetworkSpec {
        input_shape: shape.to_vec(),
        layers: vec![layer],
    };
    let network = Network::from_params(&spec, &[params], device).unwrap();
    run_network(&network, values, shape.iter().product(), device)
}

/// The largest difference between core and burn in one layer's output, and where.
struct Worst {
    difference: f64,
    bound: f64,
    ratio: f64,
    index: usize,
}

/// Checks `core` against `burn` value by value within `bound`; returns the worst case.
fn check(what: &str, core: &[f32], burn: &[f32], bound: &[f32], per_sample: usize) -> Worst {
    assert_eq!(core.len(), burn.len(), "{what}: output sizes");
    let mut worst = Worst {
        difference: 0.0,
        bound: 0.0,
        ratio: 0.0,
        index: 0,
    };
    for (index, ((&c, &b), &e)) in core.iter().zip(burn).zip(bound).enumerate() {
        let difference = (f64::from(c) - f64::from(b)).abs();
        let ratio = difference / f64::from(e).max(f64::MIN_POSITIVE);
        if difference > worst.difference {
            worst.difference = difference;
        }
        if ratio > worst.ratio {
            (worst.ratio, worst.bound, worst.index) = (ratio, f64::from(e), index);
        }
    }
    assert!(
        worst.ratio <= 1.0,
        "{what}: core and burn differ beyond f32 rounding: max |core − burn| = {:e}; at sample {}, value {} \
         (core {}, burn {}) the difference is {:.3}× its bound {:e}",
        worst.difference,
        worst.index / per_sample,
        worst.index % per_sample,
        core[worst.index],
        burn[worst.index],
        worst.ratio,
        worst.bound
    );
    worst
}

/// Runs `spec` over the rows of `input` with core's [`FloatNetwork`] (sample by sample, parameters
/// `core_params`) and with burn (layer by layer, each layer on burn's previous output, parameters `params`),
/// checks every layer's output within the carried rounding bound, and checks burn's whole network, as the
/// codec runs it, too. Returns burn's output.
fn compare(
    name: &str,
    spec: &NetworkSpec,
    core_params: &[LayerParams],
    params: &[LayerParams],
    input: &[f32],
    device: &Device,
) -> Vec<f32> {
    let shapes = spec.shapes().unwrap();
    let network = FloatNetwork::new(spec, core_params, FloatStorage::F32).unwrap();
    let inputs: usize = spec.input_shape.iter().product();
    let mut core = vec![Vec::new(); spec.layers.len()];
    for frame in input.chunks(inputs) {
        network.run_observed(frame, |l, out| core[l].extend_from_slice(out));
    }

    let mut layer_params = params.iter();
    let mut burn = input.to_vec();
    let mut core_input = input;
    let mut bound = vec![0f32; input.len()];
    for (l, layer) in spec.layers.iter().enumerate() {
        let what = format!("{name} layer {l} ({layer:?})");
        let per_sample: usize = shapes[l + 1].iter().product();
        if let Some(p) = layer.param_shapes().and_then(|_| layer_params.next()) {
            let out = burn_layer(*layer, &shapes[l], p.clone(), &burn, device);
            // |b| + Σ|w|·max(|x_core|, |x_burn|) bounds the terms of both sums; Σ|w|·e carries the input's bound
            let largest: Vec<f32> = core_input
                .iter()
                .zip(&burn)
                .map(|(c, b)| c.abs().max(b.abs()))
                .collect();
            let size = burn_layer(
                linear(*layer),
                &shapes[l],
                magnitudes(p, true),
                &largest,
                device,
            );
            let carried = burn_layer(
                linear(*layer),
                &shapes[l],
                magnitudes(p, false),
                &bound,
                device,
            );
            let g = 2.0 * gamma(terms(layer));
            bound = carried
                .iter()
                .zip(&size)
                .map(|(&e, &m)| (f64::from(e) + g * f64::from(m)) as f32)
                .collect();
            burn = out;
        }
        let worst = check(&what, &core[l], &burn, &bound, per_sample);
        let largest = burn.iter().fold(0f32, |m, v| m.max(v.abs()));
        let widest = bound.iter().fold(0f32, |m, v| m.max(*v));
        println!(
            "{what}: max |core − burn| {:e}, largest bound {widest:e} (outputs up to {largest}), worst \
             difference/bound {:.4}",
            worst.difference, worst.ratio
        );
        // the bound (worst case, grown layer by layer through Σ|w|·e) stays below 1 % of the values, far
        // below what a wrong tap or channel changes (see `a_mirrored_kernel_in_core_is_caught`)
        assert!(
            widest <= 1e-2 * largest,
            "{what}: the rounding bound {widest:e} is not small against the outputs ({largest})"
        );
        core_input = &core[l];
    }

    // burn's whole network, as compression and decompression run it
    let whole = Network::from_params(spec, params, device).unwrap();
    let output = run_network(&whole, input, inputs, device);
    let last = spec.layers.len() - 1;
    let worst = check(
        &format!("{name}, whole network"),
        &core[last],
        &output,
        &bound,
        shapes[last + 1].iter().product(),
    );
    println!(
        "{name}, whole network: max |core − burn| {:e}",
        worst.difference
    );
    output
}

/// The shipped CFD model and its data's frames, normalised as the codec feeds them to the encoder.
fn cfd() -> (Model, Vec<f32>, usize) {
    let model = Model::load(&repo().join("models/cfd-conv-r100")).unwrap();
    let data = Dataset::load(
        &repo().join("data/CFD_animation.npz"),
        &model.decoder.data.names,
    )
    .unwrap();
    let frames = normalized(&data, &model.decoder.normalization);
    (model, frames, data.rows)
}

#[test]
fn cfd_model_runs_in_core_as_in_burn() {
    let (model, frames, rows) = cfd();
    let device = Device::flex();
    let encoder = (&model.encoder, &model.encoder_params);
    let latent = compare("encoder", encoder.0, encoder.1, encoder.1, &frames, &device);
    assert_eq!(latent.len(), rows * model.decoder.latent());
    // the decoder on the latent codes that compression (with an f32 latent) stores
    let decoder = (&model.decoder.network, &model.decoder.params);
    let restored = compare("decoder", decoder.0, decoder.1, decoder.1, &latent, &device);
    assert_eq!(restored.len(), frames.len());
}

/// `p`'s kernels mirrored left to right (the last axis of a `[_, _, k, k]` weight).
fn mirrored(p: &LayerParams) -> LayerParams {
    let k = *p.weight.shape.last().unwrap();
    let mut out = p.clone();
    for (row, mirrored) in p
        .weight
        .values
        .chunks(k)
        .zip(out.weight.values.chunks_mut(k))
    {
        mirrored
            .iter_mut()
            .zip(row.iter().rev())
            .for_each(|(m, &v)| *m = v);
    }
    out
}

/// The comparison sees a kernel read in the wrong order: core given one layer's kernels mirrored (what a
/// flipped `kx` index in its loops computes) differs from burn beyond the bound, in a convolution and in a
/// transposed convolution.
#[test]
fn a_mirrored_kernel_in_core_is_caught() {
    let (model, frames, _) = cfd();
    let frames = &frames[..4 * model.encoder.input_shape.iter().product::<usize>()];
    let device = Device::flex();
    let encoder = Network::from_params(&model.encoder, &model.encoder_params, &device).unwrap();
    let latent = run_network(
        &encoder,
        frames,
        model.encoder.input_shape.iter().product(),
        &device,
    );
    for (name, spec, params, input, layer) in [
        ("encoder", &model.encoder, &model.encoder_params, frames, 1),
        (
            "decoder",
            &model.decoder.network,
            &model.decoder.params,
            &latent[..],
            1,
        ),
    ] {
        let mut broken = params.clone();
        broken[layer] = mirrored(&params[layer]);
        let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compare(name, spec, &broken, params, input, &device)
        }))
        .expect_err("mirrored kernels must not pass");
        let message = failure.downcast_ref::<String>().map_or("", String::as_str);
        assert!(
            message.contains("differ beyond f32 rounding"),
            "{name}: unexpected failure: {message}"
        );
    }
}

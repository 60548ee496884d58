//! The engine against the host's reference runner on random dense networks, and crafted images.

use super::*;
use crate::ModelId;
use crate::fixed::{FixedFormat, Overflow, Quantization};
use crate::model::{Activation, LayerSpec};
use crate::protocol::{Accelerator, Codes, MAX_PAYLOAD};
use crate::quantized::{FixedConstant, FixedLayer, QuantizedLayer, QuantizedNetwork};
use alloc::vec;
use alloc::vec::Vec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn format(rng: &mut StdRng, width: u32, modes: bool) -> FixedFormat {
    let int_bits = rng.random_range(1..width as i32 + 1);
    let f = FixedFormat::signed(width, int_bits);
    if !modes {
        return f;
    }
    let q = Quantization::ALL[rng.random_range(0..Quantization::ALL.len())];
    let o = Overflow::ALL[rng.random_range(0..Overflow::ALL.len())];
    f.with_modes(q, o)
}

/// A dense network of random shape, formats (every mode when `modes`), activations and reuse factors.
fn network(rng: &mut StdRng, modes: bool) -> QuantizedNetwork {
    let mut sizes = vec![rng.random_range(1..12)];
    for _ in 0..rng.random_range(1..4) {
        sizes.push(rng.random_range(1..12));
    }
    let input = {
        let w = rng.random_range(4..17);
        format(rng, w, false)
    };
    let layers = sizes
        .windows(2)
        .map(|io| {
            let (inputs, outputs) = (io[0], io[1]);
            let activation = match rng.random_range(0..3) {
                0 => Activation::Linear,
                1 => Activation::Relu,
                _ => Activation::LeakyRelu { alpha: 0.125 },
            };
            let weight = {
                let w = rng.random_range(3..12);
                format(rng, w, false)
            };
            let bias = {
                let w = rng.random_range(3..12);
                format(rng, w, false)
            };
            let code = |rng: &mut StdRng, f: FixedFormat| {
                rng.random_range(f.min_code()..=f.max_code()) as i64
            };
            QuantizedLayer {
                spec: LayerSpec::Dense {
                    inputs,
                    outputs,
                    activation,
                },
                fixed: Some(FixedLayer {
                    weight,
                    bias,
                    accum: {
                        let w = rng.random_range(8..40);
                        format(rng, w, modes)
                    },
                    result: {
                        let w = rng.random_range(6..20);
                        format(rng, w, modes)
                    },
                    activation: (activation != Activation::Linear).then(|| {
                        let w = rng.random_range(6..20);
                        format(rng, w, modes)
                    }),
                    alpha: matches!(activation, Activation::LeakyRelu { .. }).then_some(
                        FixedConstant {
                            format: FixedFormat::signed(8, 1),
                            code: 16,
                        },
                    ),
                    reuse_factor: rng.random_range(1..5),
                    weights: (0..inputs * outputs).map(|_| code(rng, weight)).collect(),
                    biases: (0..outputs).map(|_| code(rng, bias)).collect(),
                }),
            }
        })
        .collect();
    QuantizedNetwork {
        input_shape: vec![sizes[0]],
        input,
        layers,
    }
}

#[test]
fn the_engine_computes_what_the_reference_computes() {
    let mut rng = StdRng::seed_from_u64(7);
    for case in 0..300 {
        let net = network(&mut rng, case % 2 == 1);
        net.validate().unwrap();
        let bytes = write_image(ModelId([1; 16]), "test", Some(&net), None).unwrap();
        let image = Image::parse(&bytes).unwrap();
        let engine_net = image.encoder.unwrap();
        let mut scratch = Scratch::default();
        let runner = net.runner();
        for _ in 0..20 {
            let codes: Vec<i64> = (0..engine_net.inputs)
                .map(|_| rng.random_range(net.input.min_code()..=net.input.max_code()) as i64)
                .collect();
            let values: Vec<f64> = codes
                .iter()
                .map(|&c| net.input.value_of(c.into()))
                .collect();
            let expected = runner.run(&values);
            let got = engine_net.run(codes.iter().copied(), &mut scratch);
            assert_eq!(got, &expected[..], "case {case}: {net:?}");
        }
    }
}

#[test]
fn the_engine_answers_encode_and_decode_requests() {
    let mut rng = StdRng::seed_from_u64(3);
    let (encoder, decoder) = (network(&mut rng, false), network(&mut rng, false));
    let bytes = write_image(ModelId([2; 16]), "board", Some(&encoder), Some(&decoder)).unwrap();
    let mut engine = SoftwareEngine::new(Image::parse(&bytes).unwrap());
    let info = engine.info();
    assert_eq!((info.name, info.model_id), ("board", ModelId([2; 16])));
    let (inputs, latent, code_bytes) = (info.inputs, info.latent, info.code_bytes);
    let inputs = usize::from(inputs);
    let width = usize::from(code_bytes[0]);
    let codes: Vec<i64> = (0..3 * inputs).map(|i| (i % 5) as i64 - 2).collect();
    let mut payload = [0u8; MAX_PAYLOAD];
    let n = Codes::write(codes.iter().copied(), 3, inputs, width, &mut payload).unwrap();
    let request = Codes::parse(&payload[..n], inputs, width).unwrap();
    let mut out = [0u8; MAX_PAYLOAD];
    let n = engine.encode(&request, &mut out).unwrap();
    let reply = Codes::parse(&out[..n], latent.into(), code_bytes[1].into()).unwrap();
    let runner = encoder.runner();
    let expected: Vec<i64> = codes
        .chunks(inputs)
        .flat_map(|frame| {
            let values: Vec<f64> = frame
                .iter()
                .map(|&c| encoder.input.value_of(c.into()))
                .collect();
            runner.run(&values)
        })
        .map(|c| c as i64)
        .collect();
    assert_eq!(reply.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn a_cut_or_damaged_image_is_refused_without_panicking() {
    let mut rng = StdRng::seed_from_u64(11);
    let net = network(&mut rng, true);
    let bytes = write_image(ModelId([3; 16]), "x", Some(&net), Some(&net)).unwrap();
    for n in 0..bytes.len() {
        assert!(Image::parse(&bytes[..n]).is_err(), "cut at {n}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Image::parse(&longer).unwrap_err(), ImageError::Length);
    // every byte changed: refused, or an image that runs without panicking
    let mut scratch = Scratch::default();
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            if let Ok(image) = Image::parse(&damaged) {
                for network in [image.encoder, image.decoder].into_iter().flatten() {
                    let input = (0..network.inputs).map(|i| i as i64);
                    let _ = network.run(input, &mut scratch);
                }
            }
        }
    }
}

#[test]
fn a_convolution_is_refused_by_name() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = network(&mut rng, false);
    net.layers.insert(
        0,
        QuantizedLayer {
            spec: LayerSpec::Conv2d {
                in_channels: 1,
                out_channels: 1,
                kernel: 1,
                stride: 1,
                padding: 0,
                activation: Activation::Linear,
            },
            fixed: None,
        },
    );
    let e = write_image(ModelId([0; 16]), "x", Some(&net), None).unwrap_err();
    assert!(e.message.starts_with("encoder layer 0 (Conv2d"), "{e}");
    assert!(e.message.contains("dense layers only"), "{e}");
}

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

/// A model of the generated IP core behind an AXI4-Stream FIFO: a packet written through TLR is read as the IP
/// reads its beats (bit by bit, independently of the driver's packing), run through the reference runner, and
/// answered as the IP answers; it can stay silent or cut its reply short.
struct IpModel {
    network: QuantizedNetwork,
    max_bits: usize,
    tx: Vec<u32>,
    rx: alloc::collections::VecDeque<u32>,
    lengths: alloc::collections::VecDeque<u32>,
    silent: bool,
    short: bool,
}

fn bit(bytes: &[u8], i: usize) -> u64 {
    u64::from(bytes[i / 8] >> (i % 8) & 1)
}

impl IpModel {
    fn new(network: QuantizedNetwork, max_bits: usize) -> Self {
        IpModel {
            network,
            max_bits,
            tx: Vec::new(),
            rx: Default::default(),
            lengths: Default::default(),
            silent: false,
            short: false,
        }
    }

    /// (lanes, bytes per beat) of `values` codes of `width` bits, as the HLS generator lays them out: TDATA a
    /// power-of-two number of bytes.
    fn layout(&self, values: usize, width: usize) -> (usize, usize) {
        let lanes = values.min(self.max_bits / width).max(1);
        (lanes, (lanes * width).div_ceil(8).next_power_of_two())
    }

    fn packet(&mut self, length: usize) {
        let bytes: Vec<u8> = self
            .tx
            .drain(..)
            .flat_map(u32::to_le_bytes)
            .take(length)
            .collect();
        let (input, output) = (self.network.input, self.network.output());
        let inputs = self.network.input_shape[0];
        let (w, lanes, beat) = {
            let w = input.width as usize;
            let (lanes, beat) = self.layout(inputs, w);
            (w, lanes, beat)
        };
        assert_eq!(
            length,
            inputs.div_ceil(lanes) * beat,
            "one frame per packet"
        );
        let values: Vec<f64> = (0..inputs)
            .map(|k| {
                let at = (k / lanes) * beat * 8 + (k % lanes) * w;
                let raw = (0..w).fold(0u64, |v, i| v | bit(&bytes, at + i) << i);
                let code = ((raw << (64 - w)) as i64) >> (64 - w);
                input.value_of(code.into())
            })
            .collect();
        let codes = self.network.run(&values);
        let w = output.width as usize;
        let (lanes, beat) = self.layout(codes.len(), w);
        let mut reply = vec![0u8; codes.len().div_ceil(lanes) * beat];
        for (k, &code) in codes.iter().enumerate() {
            let at = (k / lanes) * beat * 8 + (k % lanes) * w;
            for i in 0..w {
                reply[(at + i) / 8] |= (((code >> i) & 1) as u8) << ((at + i) % 8);
            }
        }
        if self.silent {
            return;
        }
        if self.short {
            reply.pop();
        }
        self.lengths.push_back(reply.len() as u32);
        self.rx.extend(reply.chunks(4).map(|c| {
            let mut word = [0u8; 4];
            word[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(word)
        }));
    }
}

impl Fifo for IpModel {
    fn read(&mut self, offset: u32) -> u32 {
        match offset {
            ip_core::reg::TDFV => 512 - self.tx.len() as u32,
            ip_core::reg::RDFO => self.rx.len() as u32,
            ip_core::reg::RLR => self.lengths.pop_front().unwrap_or(0),
            ip_core::reg::RDFD => self.rx.pop_front().unwrap_or(0),
            _ => 0,
        }
    }

    fn write(&mut self, offset: u32, value: u32) {
        match offset {
            ip_core::reg::TDFD => self.tx.push(value),
            ip_core::reg::TLR => self.packet(value as usize),
            ip_core::reg::TDFR => self.tx.clear(),
            ip_core::reg::RDFR => {
                self.rx.clear();
                self.lengths.clear();
            }
            _ => {}
        }
    }
}

/// An ENCODE request of `frames` frames of counting codes for `engine`, and its reply (or error).
fn encode_request(
    engine: &mut impl Accelerator,
    frames: usize,
) -> Result<Vec<i64>, crate::protocol::ErrorCode> {
    let info = engine.info();
    let (inputs, latent) = (usize::from(info.inputs), usize::from(info.latent));
    let (width, latent_width) = (
        usize::from(info.code_bytes[0]),
        usize::from(info.code_bytes[1]),
    );
    let codes = (0..frames * inputs).map(|i| (i % 7) as i64 - 3);
    let mut payload = [0u8; MAX_PAYLOAD];
    let n = Codes::write(codes, frames, inputs, width, &mut payload).unwrap();
    let request = Codes::parse(&payload[..n], inputs, width).unwrap();
    let mut out = [0u8; MAX_PAYLOAD];
    let n = engine.encode(&request, &mut out)?;
    Ok(Codes::parse(&out[..n], latent, latent_width)
        .unwrap()
        .iter()
        .collect())
}

#[test]
fn the_ip_core_driver_gets_what_the_software_engine_computes() {
    let mut rng = StdRng::seed_from_u64(13);
    for case in 0..60 {
        let net = network(&mut rng, case % 2 == 1);
        let bytes = write_image(ModelId([4; 16]), "ip", Some(&net), None).unwrap();
        let image = Image::parse(&bytes).unwrap();
        let expected = encode_request(&mut SoftwareEngine::new(image), 5).unwrap();
        // one beat per frame, and beats narrower than a frame (several per frame, padded to bytes)
        for max_bits in [512, 24, 17] {
            let model = IpModel::new(net.clone(), max_bits);
            let mut ip = IpCore::new(image, model, max_bits).unwrap();
            assert_eq!(ip.info().engine, 1);
            assert_eq!(
                encode_request(&mut ip, 5).unwrap(),
                expected,
                "case {case}, {max_bits} bits"
            );
        }
    }
}

#[test]
fn an_ip_core_that_does_not_answer_or_answers_short_is_an_error_and_the_next_frame_works() {
    let mut rng = StdRng::seed_from_u64(17);
    let net = network(&mut rng, false);
    let bytes = write_image(ModelId([5; 16]), "ip", Some(&net), None).unwrap();
    let image = Image::parse(&bytes).unwrap();
    let expected = encode_request(&mut SoftwareEngine::new(image), 3).unwrap();
    let mut ip = IpCore::new(image, IpModel::new(net, 512), 512).unwrap();
    for fault in [0, 1] {
        if fault == 0 {
            ip_model(&mut ip).silent = true;
        } else {
            ip_model(&mut ip).short = true;
        }
        assert_eq!(
            encode_request(&mut ip, 3),
            Err(crate::protocol::ErrorCode::Accelerator)
        );
        *ip_model(&mut ip) = IpModel::new(ip_model(&mut ip).network.clone(), 512);
        assert_eq!(encode_request(&mut ip, 3).unwrap(), expected);
    }
    assert_eq!(ip.errors, 2);
}

fn ip_model<'a>(ip: &'a mut IpCore<'_, IpModel>) -> &'a mut IpModel {
    ip.fifo_mut()
}

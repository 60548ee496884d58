//! `cpu-f32`'s kernel for dense encoders: blocks of frames go through all layers while their activations stay
//! in cache, and a register-tiled micro-kernel (4 frames × 32 outputs) runs with AVX-512 or AVX2+FMA chosen at
//! run time.

use baler_core::{Activation, LayerParams, LayerSpec, NetworkSpec};

/// Frames per block: activations of a block stay in L1/L2 from the first layer to the last.
const BLOCK: usize = 64;
/// Frames of the register tile.
const TILE_ROWS: usize = 4;
/// Outputs are padded to a multiple of one 16-float vector; tiles are 32 outputs wide, the last maybe 16.
const PAD: usize = 16;

struct Layer {
    inputs: usize,
    outputs: usize,
    /// `[inputs][outputs]`, outputs padded to a multiple of `PAD` with zeros.
    weights: Vec<f32>,
    bias: Vec<f32>,
    activation: Activation,
    padded: usize,
}

/// A dense network prepared for the kernel.
pub struct DenseF32 {
    layers: Vec<Layer>,
    widest: usize,
}

impl DenseF32 {
    /// The kernel for `spec` if every layer is dense (reshapes aside); `None` otherwise.
    pub fn new(spec: &NetworkSpec, params: &[LayerParams]) -> Option<Self> {
        let mut layers = Vec::new();
        let mut params = params.iter();
        for layer in &spec.layers {
            match *layer {
                LayerSpec::Dense {
                    inputs,
                    outputs,
                    activation,
                } => {
                    let p = params.next()?;
                    let padded = outputs.div_ceil(PAD) * PAD;
                    let mut weights = vec![0.0; inputs * padded];
                    for i in 0..inputs {
                        weights[i * padded..i * padded + outputs]
                            .copy_from_slice(&p.weight.values[i * outputs..(i + 1) * outputs]);
                    }
                    let mut bias = p.bias.values.clone();
                    bias.resize(padded, 0.0);
                    layers.push(Layer {
                        inputs,
                        outputs,
                        weights,
                        bias,
                        activation,
                        padded,
                    });
                }
                LayerSpec::Flatten | LayerSpec::Unflatten { .. } => {}
                _ => return None,
            }
        }
        let widest = layers.iter().map(|l| l.padded.max(l.inputs)).max()?;
        Some(DenseF32 { layers, widest })
    }

    /// Values per input frame.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// Runs whole frames of `input`; returns the outputs, frame after frame.
    pub fn run(&self, input: &[f32]) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has AVX-512F and FMA (checked above).
                return unsafe { self.run_avx512(input) };
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                return unsafe { self.run_avx2(input) };
            }
        }
        self.run_portable(input)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn run_avx512(&self, input: &[f32]) -> Vec<f32> {
        self.run_blocks_with(input, |layer, x, stride, y, rows| {
            // SAFETY: the caller checked AVX-512F; slices are tile-aligned (checked by layer_block's layout).
            unsafe { layer_block_avx512(layer, x, stride, y, rows) }
        })
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, input: &[f32]) -> Vec<f32> {
        self.run_blocks(input)
    }

    fn run_portable(&self, input: &[f32]) -> Vec<f32> {
        self.run_blocks(input)
    }

    #[inline(always)]
    fn run_blocks(&self, input: &[f32]) -> Vec<f32> {
        self.run_blocks_with(input, layer_block)
    }

    #[inline(always)]
    fn run_blocks_with(
        &self,
        input: &[f32],
        layer_block: impl Fn(&Layer, &[f32], usize, &mut [f32], usize),
    ) -> Vec<f32> {
        let n = self.inputs();
        let last = self.layers.last().expect("at least one layer");
        let frames = input.len() / n;
        let mut output = Vec::with_capacity(frames * last.outputs);
        let mut a = vec![0.0f32; BLOCK * self.widest];
        let mut b = vec![0.0f32; BLOCK * self.widest];
        for block in input.chunks(BLOCK * n) {
            let rows = block.len() / n;
            // rows padded to the tile: the extra rows compute garbage that is never read
            let tiled = rows.div_ceil(TILE_ROWS) * TILE_ROWS;
            a[..rows * n].copy_from_slice(block);
            a[rows * n..tiled * n].fill(0.0);
            let mut width = n;
            for layer in &self.layers {
                layer_block(
                    layer,
                    &a[..tiled * width],
                    width,
                    &mut b[..tiled * layer.padded],
                    tiled,
                );
                std::mem::swap(&mut a, &mut b);
                width = layer.padded;
            }
            for r in 0..rows {
                output.extend_from_slice(&a[r * width..r * width + last.outputs]);
            }
        }
        output
    }
}

/// [`layer_block`] with AVX-512 intrinsics: a tile of 4 frames × 32 outputs lives in 8 registers while the
/// inputs are swept (each weight pair loaded once, each input broadcast once, 8 FMAs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn layer_block_avx512(layer: &Layer, x: &[f32], stride: usize, y: &mut [f32], rows: usize) {
    use std::arch::x86_64::*;
    let (n, p) = (layer.inputs, layer.padded);
    assert!(x.len() >= rows * stride && y.len() >= rows * p && layer.weights.len() >= n * p);
    let (xp, wp, bp, yp) = (
        x.as_ptr(),
        layer.weights.as_ptr(),
        layer.bias.as_ptr(),
        y.as_mut_ptr(),
    );
    // The inner loops advance pointers without checked arithmetic (the offsets stay in bounds); the dev profile
    // builds this crate without debug assertions, whose checks in every intrinsic load cost 1.7x (Cargo.toml).
    // SAFETY: every pointer below stays inside its slice (asserted sizes; rows % 4 == 0, p % 16 == 0).
    unsafe {
        for r0 in (0..rows).step_by(TILE_ROWS) {
            let x_rows: [*const f32; TILE_ROWS] =
                std::array::from_fn(|t| xp.add((r0 + t) * stride));
            let y_rows: [*mut f32; TILE_ROWS] = std::array::from_fn(|t| yp.add((r0 + t) * p));
            let mut c0 = 0;
            // the 16-wide remainder tile
            if p % 32 == 16 {
                let b0 = _mm512_loadu_ps(bp);
                let mut acc = [b0; TILE_ROWS];
                let mut w = wp;
                for i in 0..n {
                    let w0 = _mm512_loadu_ps(w);
                    for t in 0..TILE_ROWS {
                        acc[t] = _mm512_fmadd_ps(
                            _mm512_broadcastss_ps(_mm_load_ss(x_rows[t].wrapping_add(i))),
                            w0,
                            acc[t],
                        );
                    }
                    w = w.wrapping_add(p);
                }
                for t in 0..TILE_ROWS {
                    _mm512_storeu_ps(y_rows[t], activate(acc[t], layer.activation));
                }
                c0 = 16;
            }
            for c0 in (c0..p).step_by(32) {
                let (b0, b1) = (
                    _mm512_loadu_ps(bp.add(c0)),
                    _mm512_loadu_ps(bp.add(c0 + 16)),
                );
                let mut acc = [b0, b1, b0, b1, b0, b1, b0, b1];
                let mut w = wp.add(c0);
                for i in 0..n {
                    let (w0, w1) = (_mm512_loadu_ps(w), _mm512_loadu_ps(w.wrapping_add(16)));
                    for t in 0..TILE_ROWS {
                        let xv = _mm512_broadcastss_ps(_mm_load_ss(x_rows[t].wrapping_add(i)));
                        acc[2 * t] = _mm512_fmadd_ps(xv, w0, acc[2 * t]);
                        acc[2 * t + 1] = _mm512_fmadd_ps(xv, w1, acc[2 * t + 1]);
                    }
                    w = w.wrapping_add(p);
                }
                for t in 0..TILE_ROWS {
                    for h in 0..2 {
                        let v = activate(acc[2 * t + h], layer.activation);
                        _mm512_storeu_ps(y_rows[t].add(c0 + 16 * h), v);
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn activate(v: std::arch::x86_64::__m512, activation: Activation) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    match activation {
        Activation::Linear => v,
        Activation::Relu => _mm512_max_ps(v, _mm512_setzero_ps()),
        Activation::LeakyRelu { alpha } => {
            let positive = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, _mm512_setzero_ps());
            _mm512_mask_blend_ps(positive, _mm512_mul_ps(v, _mm512_set1_ps(alpha)), v)
        }
    }
}

/// One layer on `rows` frames (a multiple of `TILE_ROWS`): `y = activation(x · W + b)`; frames of `x` are
/// `stride` values apart (the previous layer's padded width), those of `y` the layer's padded width.
#[inline(always)]
fn layer_block(layer: &Layer, x: &[f32], stride: usize, y: &mut [f32], rows: usize) {
    let (n, p) = (layer.inputs, layer.padded);
    for r0 in (0..rows).step_by(TILE_ROWS) {
        for c0 in (0..p).step_by(PAD) {
            let mut acc = [[0.0f32; PAD]; TILE_ROWS];
            for row in acc.iter_mut() {
                row.copy_from_slice(&layer.bias[c0..c0 + PAD]);
            }
            for i in 0..n {
                let w: &[f32; PAD] = layer.weights[i * p + c0..i * p + c0 + PAD]
                    .try_into()
                    .expect("a tile of weights");
                for (t, row) in acc.iter_mut().enumerate() {
                    let xv = x[(r0 + t) * stride + i];
                    for (a, &wv) in row.iter_mut().zip(w) {
                        *a = xv.mul_add(wv, *a);
                    }
                }
            }
            for (t, row) in acc.iter().enumerate() {
                let out = &mut y[(r0 + t) * p + c0..(r0 + t) * p + c0 + PAD];
                for (o, &v) in out.iter_mut().zip(row) {
                    *o = match layer.activation {
                        Activation::Linear => v,
                        Activation::Relu => v.max(0.0),
                        Activation::LeakyRelu { alpha } => {
                            if v > 0.0 {
                                v
                            } else {
                                v * alpha
                            }
                        }
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baler_core::ParamTensor;
    use baler_core::inference::{FloatNetwork, FloatStorage};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn network(
        sizes: &[usize],
        activation: Activation,
        seed: u64,
    ) -> (NetworkSpec, Vec<LayerParams>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut layers = Vec::new();
        let mut params = Vec::new();
        for (k, pair) in sizes.windows(2).enumerate() {
            let act = if k == sizes.len() - 2 {
                Activation::Linear
            } else {
                activation
            };
            layers.push(LayerSpec::Dense {
                inputs: pair[0],
                outputs: pair[1],
                activation: act,
            });
            let mut values = |n: usize| {
                (0..n)
                    .map(|_| rng.random_range(-0.5f32..0.5))
                    .collect::<Vec<_>>()
            };
            params.push(LayerParams {
                weight: ParamTensor {
                    shape: vec![pair[0], pair[1]],
                    values: values(pair[0] * pair[1]),
                },
                bias: ParamTensor {
                    shape: vec![pair[1]],
                    values: values(pair[1]),
                },
            });
        }
        (
            NetworkSpec {
                input_shape: vec![sizes[0]],
                layers,
            },
            params,
        )
    }

    #[test]
    fn the_kernel_agrees_with_the_reference_loops() {
        for (sizes, activation) in [
            (
                &[9, 200, 100, 50, 5][..],
                Activation::LeakyRelu { alpha: 0.01 },
            ),
            (&[7, 33, 16, 3], Activation::Relu),
            (&[40, 17], Activation::Linear),
        ] {
            let (spec, params) = network(sizes, activation, 3);
            let kernel = DenseF32::new(&spec, &params).unwrap();
            let reference = FloatNetwork::new(&spec, &params, FloatStorage::F32).unwrap();
            // 131 frames: blocks and tiles with remainders
            let mut rng = StdRng::seed_from_u64(5);
            let input: Vec<f32> = (0..131 * sizes[0])
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            let expected: Vec<f32> = input
                .chunks(sizes[0])
                .flat_map(|f| reference.run(f))
                .collect();
            for got in [kernel.run(&input), kernel.run_portable(&input)] {
                assert_eq!(got.len(), expected.len());
                for (g, e) in got.iter().zip(&expected) {
                    assert!(
                        (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                        "{sizes:?}: {g} vs {e}"
                    );
                }
            }
        }
        let (mut spec, params) = network(&[4, 4], Activation::Relu, 1);
        spec.layers[0] = LayerSpec::Conv2d {
            in_channels: 1,
            out_channels: 1,
            kernel: 1,
            stride: 1,
            padding: 0,
            activation: Activation::Relu,
        };
        assert!(
            DenseF32::new(&spec, &params).is_none(),
            "convolutions are not this kernel's"
        );
    }
}

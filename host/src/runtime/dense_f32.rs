//! `cpu-f32`'s kernel for dense encoders, hand-written for speed (figures in docs/runtime.md): blocks of frames
//! stay in cache through all layers, in register tiles of AVX-512, AVX2+FMA or portable code ([`CpuKernel`]).

use super::DeviceError;
use baler_core::{Activation, LayerParams, LayerSpec, NetworkSpec};

/// Frames per block: activations of a block stay in L1/L2 from the first layer to the last.
const BLOCK: usize = 64;
/// Frames of the register tile.
const TILE_ROWS: usize = 4;
/// Outputs are padded to a multiple of one 16-float vector; AVX-512 tiles are 32 outputs wide (the last maybe 16),
/// AVX2 tiles 16.
const PAD: usize = 16;
/// Outputs of the portable tile: 4 frames × 8 outputs are 8 SSE registers of accumulators (16 on x86-64).
const PORTABLE_COLS: usize = 8;

/// Which of `cpu-f32`'s dense kernels runs: chosen once when the device opens, by [`CpuKernel::from_env`]
/// (`BALER_CPU_KERNEL`, else the best this CPU has) or explicitly through the library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CpuKernel {
    /// AVX-512F and FMA intrinsics: tiles of 4 frames × 32 outputs in 8 zmm accumulators.
    Avx512,
    /// AVX2 and FMA intrinsics: tiles of 4 frames × 16 outputs in 8 ymm accumulators (11 of the 16 registers).
    Avx2,
    /// Plain Rust that the compiler vectorises for the build's target (SSE2 `mulps` + `addps` on baseline
    /// x86-64; fused multiply-adds only where the target has FMA).
    Portable,
}

impl CpuKernel {
    /// The environment variable that forces a kernel.
    pub const ENV: &'static str = "BALER_CPU_KERNEL";
    /// Every kernel, best first.
    pub const ALL: [CpuKernel; 3] = [CpuKernel::Avx512, CpuKernel::Avx2, CpuKernel::Portable];

    /// Its name in `BALER_CPU_KERNEL`: `avx512`, `avx2` or `portable`.
    pub fn name(self) -> &'static str {
        match self {
            CpuKernel::Avx512 => "avx512",
            CpuKernel::Avx2 => "avx2",
            CpuKernel::Portable => "portable",
        }
    }

    /// What it runs, in words.
    pub fn describe(self) -> &'static str {
        match self {
            CpuKernel::Avx512 => "AVX-512F+FMA, 4 frames × 32 outputs",
            CpuKernel::Avx2 => "AVX2+FMA, 4 frames × 16 outputs",
            CpuKernel::Portable if cfg!(target_feature = "fma") => {
                "portable, compiler-vectorised with FMA, 4 frames × 8 outputs"
            }
            CpuKernel::Portable => {
                "portable, compiler-vectorised multiply + add, 4 frames × 8 outputs"
            }
        }
    }

    /// The CPU features it needs (names as `is_x86_feature_detected!` spells them).
    pub fn features(self) -> &'static [&'static str] {
        match self {
            CpuKernel::Avx512 => &["avx512f", "fma"],
            CpuKernel::Avx2 => &["avx2", "fma"],
            CpuKernel::Portable => &[],
        }
    }

    /// The best kernel this CPU can run.
    pub fn detect() -> CpuKernel {
        Self::ALL
            .into_iter()
            .find(|k| k.require().is_ok())
            .unwrap_or(CpuKernel::Portable)
    }

    /// Itself if this CPU has every feature it needs, else an error of `cpu-f32` naming the missing one.
    pub fn require(self) -> Result<CpuKernel, DeviceError> {
        self.require_on(cpu_has)
    }

    /// Itself if a CPU with the features `has` says yes to can run it, else an error of `cpu-f32` naming the
    /// first missing feature.
    pub fn require_on(self, has: impl Fn(&str) -> bool) -> Result<CpuKernel, DeviceError> {
        match self.features().iter().copied().find(|&f| !has(f)) {
            None => Ok(self),
            Some(missing) => Err(DeviceError {
                device: "cpu-f32".into(),
                message: format!(
                    "{}={}: this CPU has no {missing}; choose one of {} or leave {} unset for the best it has",
                    Self::ENV,
                    self.name(),
                    Self::names(),
                    Self::ENV
                ),
            }),
        }
    }

    /// The kernel `BALER_CPU_KERNEL` forces, checked against this CPU; the best this CPU has where it is unset
    /// or empty.
    pub fn from_env() -> Result<CpuKernel, DeviceError> {
        match std::env::var_os(Self::ENV) {
            Some(value) if !value.is_empty() => {
                value.to_string_lossy().parse::<CpuKernel>()?.require()
            }
            _ => Ok(Self::detect()),
        }
    }

    /// The legal names, for errors and help.
    fn names() -> String {
        Self::ALL.map(CpuKernel::name).join(", ")
    }
}

impl std::str::FromStr for CpuKernel {
    type Err = DeviceError;

    /// `avx512`, `avx2` or `portable`; anything else is an error of `cpu-f32` that lists them.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == value)
            .ok_or_else(|| DeviceError {
                device: "cpu-f32".into(),
                message: format!(
                    "{}='{value}' is not a kernel; use one of {}",
                    Self::ENV,
                    Self::names()
                ),
            })
    }
}

impl std::fmt::Display for CpuKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether this CPU has `feature` (one of [`CpuKernel::features`]).
fn cpu_has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "avx512f" => is_x86_feature_detected!("avx512f"),
            "avx2" => is_x86_feature_detected!("avx2"),
            "fma" => is_x86_feature_detected!("fma"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

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
    /// Checked against this CPU when set ([`CpuKernel::require`]): what makes `run`'s intrinsics sound.
    kernel: CpuKernel,
}

impl DenseF32 {
    /// The kernel for `spec` if every layer is dense (reshapes aside), with the best [`CpuKernel`] this CPU has;
    /// `None` otherwise.
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
        Some(DenseF32 {
            layers,
            widest,
            kernel: CpuKernel::detect(),
        })
    }

    /// The same network on `kernel`, or an error naming the CPU feature it lacks.
    pub fn with_kernel(self, kernel: CpuKernel) -> Result<Self, DeviceError> {
        Ok(DenseF32 {
            kernel: kernel.require()?,
            ..self
        })
    }

    /// The kernel it runs.
    pub fn kernel(&self) -> CpuKernel {
        self.kernel
    }

    /// Values per input frame.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// Runs whole frames of `input`; returns the outputs, frame after frame.
    pub fn run(&self, input: &[f32]) -> Vec<f32> {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            CpuKernel::Avx512 => self.run_blocks_with(input, |layer, x, stride, y, rows| {
                // SAFETY: `kernel` is Avx512 only on a CPU with AVX-512F and FMA (checked when it was set).
                unsafe { layer_block_avx512(layer, x, stride, y, rows) }
            }),
            #[cfg(target_arch = "x86_64")]
            CpuKernel::Avx2 => self.run_blocks_with(input, |layer, x, stride, y, rows| {
                // SAFETY: `kernel` is Avx2 only on a CPU with AVX2 and FMA (checked when it was set).
                unsafe { layer_block_avx2(layer, x, stride, y, rows) }
            }),
            // elsewhere only the portable kernel passes `require`
            _ => self.run_blocks_with(input, layer_block_portable),
        }
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

/// [`layer_block_portable`] with AVX-512 intrinsics: a tile of 4 frames × 32 outputs lives in 8 registers while the
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
                    _mm512_storeu_ps(y_rows[t], activate_avx512(acc[t], layer.activation));
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
                        let v = activate_avx512(acc[2 * t + h], layer.activation);
                        _mm512_storeu_ps(y_rows[t].add(c0 + 16 * h), v);
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn activate_avx512(
    v: std::arch::x86_64::__m512,
    activation: Activation,
) -> std::arch::x86_64::__m512 {
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

/// [`layer_block_portable`] with AVX2 intrinsics: a tile of 4 frames × 16 outputs lives in 8 ymm registers
/// while the inputs are swept (each pair of weight vectors loaded once, each input broadcast once, 8 FMAs: as
/// many independent chains as 2 FMA ports × 4 cycles of latency need). A 4 × 24 tile (12 accumulators, 3 weight
/// vectors and a broadcast: all 16 registers) measured 1.5x slower: the compiler spills and shuffles registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn layer_block_avx2(layer: &Layer, x: &[f32], stride: usize, y: &mut [f32], rows: usize) {
    use std::arch::x86_64::*;
    let (n, p) = (layer.inputs, layer.padded);
    assert!(x.len() >= rows * stride && y.len() >= rows * p && layer.weights.len() >= n * p);
    let (xp, wp, bp, yp) = (
        x.as_ptr(),
        layer.weights.as_ptr(),
        layer.bias.as_ptr(),
        y.as_mut_ptr(),
    );
    // SAFETY: every pointer below stays inside its slice (asserted sizes; rows % 4 == 0, p % 16 == 0); `w`
    // advances with wrapping arithmetic, one row past the weights after the last input.
    unsafe {
        for r0 in (0..rows).step_by(TILE_ROWS) {
            let x_rows: [*const f32; TILE_ROWS] =
                std::array::from_fn(|t| xp.add((r0 + t) * stride));
            let y_rows: [*mut f32; TILE_ROWS] = std::array::from_fn(|t| yp.add((r0 + t) * p));
            for c0 in (0..p).step_by(16) {
                let (b0, b1) = (_mm256_loadu_ps(bp.add(c0)), _mm256_loadu_ps(bp.add(c0 + 8)));
                let mut acc = [b0, b1, b0, b1, b0, b1, b0, b1];
                let mut w = wp.add(c0);
                for i in 0..n {
                    let (w0, w1) = (_mm256_loadu_ps(w), _mm256_loadu_ps(w.add(8)));
                    for t in 0..TILE_ROWS {
                        let xv = _mm256_broadcast_ss(&*x_rows[t].add(i));
                        acc[2 * t] = _mm256_fmadd_ps(xv, w0, acc[2 * t]);
                        acc[2 * t + 1] = _mm256_fmadd_ps(xv, w1, acc[2 * t + 1]);
                    }
                    w = w.wrapping_add(p);
                }
                for t in 0..TILE_ROWS {
                    for h in 0..2 {
                        let v = activate_avx2(acc[2 * t + h], layer.activation);
                        _mm256_storeu_ps(y_rows[t].add(c0 + 8 * h), v);
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn activate_avx2(
    v: std::arch::x86_64::__m256,
    activation: Activation,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    match activation {
        Activation::Linear => v,
        Activation::Relu => _mm256_max_ps(v, _mm256_setzero_ps()),
        Activation::LeakyRelu { alpha } => {
            let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_setzero_ps());
            _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(alpha)), v, positive)
        }
    }
}

/// `acc + x · w`: fused where the build's target has FMA, else a multiply and an add, which the compiler
/// vectorises (`f32::mul_add` without FMA is a call to the C library's software `fmaf`, 100x slower).
#[inline(always)]
fn multiply_add(x: f32, w: f32, acc: f32) -> f32 {
    if cfg!(target_feature = "fma") {
        x.mul_add(w, acc)
    } else {
        acc + x * w
    }
}

/// One layer on `rows` frames (a multiple of `TILE_ROWS`): `y = activation(x · W + b)`; frames of `x` are
/// `stride` values apart (the previous layer's padded width), those of `y` the layer's padded width. Plain
/// Rust in tiles of 4 frames × 8 outputs, which the compiler keeps in vector registers.
fn layer_block_portable(layer: &Layer, x: &[f32], stride: usize, y: &mut [f32], rows: usize) {
    let (n, p) = (layer.inputs, layer.padded);
    for r0 in (0..rows).step_by(TILE_ROWS) {
        let x_rows: [&[f32]; TILE_ROWS] =
            std::array::from_fn(|t| &x[(r0 + t) * stride..(r0 + t) * stride + n]);
        for c0 in (0..p).step_by(PORTABLE_COLS) {
            let bias: &[f32; PORTABLE_COLS] = layer.bias[c0..c0 + PORTABLE_COLS]
                .try_into()
                .expect("a tile of bias");
            let mut acc = [*bias; TILE_ROWS];
            for (i, w) in layer.weights[c0..].chunks(p).take(n).enumerate() {
                let w: &[f32; PORTABLE_COLS] =
                    w[..PORTABLE_COLS].try_into().expect("a tile of weights");
                for (row, xr) in acc.iter_mut().zip(&x_rows) {
                    let xv = xr[i];
                    for (a, &wv) in row.iter_mut().zip(w) {
                        *a = multiply_add(xv, wv, *a);
                    }
                }
            }
            for (t, row) in acc.iter().enumerate() {
                let out = &mut y[(r0 + t) * p + c0..(r0 + t) * p + c0 + PORTABLE_COLS];
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

    /// The kernels this CPU runs (all three on one with AVX-512).
    fn kernels_here() -> Vec<CpuKernel> {
        let here: Vec<_> = CpuKernel::ALL
            .into_iter()
            .filter(|k| k.require().is_ok())
            .collect();
        eprintln!("kernels on this CPU: {here:?}");
        assert!(here.contains(&CpuKernel::Portable));
        here
    }

    /// 131 frames of `inputs` values: blocks and tiles with remainders.
    fn frames(inputs: usize) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(5);
        (0..131 * inputs)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect()
    }

    #[test]
    fn every_kernel_agrees_with_the_reference_loops() {
        // padded widths 208, 112, 64, 16, 48, 32: with and without the AVX-512 kernel's 16-wide remainder
        for (sizes, activation) in [
            (
                &[9, 200, 100, 50, 5][..],
                Activation::LeakyRelu { alpha: 0.01 },
            ),
            (&[7, 33, 16, 3], Activation::Relu),
            (&[40, 17], Activation::Linear),
        ] {
            let (spec, params) = network(sizes, activation, 3);
            let reference = FloatNetwork::new(&spec, &params, FloatStorage::F32).unwrap();
            let input = frames(sizes[0]);
            let expected: Vec<f32> = input
                .chunks(sizes[0])
                .flat_map(|f| reference.run(f))
                .collect();
            assert_eq!(
                DenseF32::new(&spec, &params).unwrap().kernel(),
                CpuKernel::detect()
            );
            for kernel in kernels_here() {
                let dense = DenseF32::new(&spec, &params)
                    .unwrap()
                    .with_kernel(kernel)
                    .unwrap();
                assert_eq!(dense.kernel(), kernel);
                let got = dense.run(&input);
                assert_eq!(got.len(), expected.len(), "{kernel}");
                for (g, e) in got.iter().zip(&expected) {
                    assert!(
                        (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                        "{kernel}, {sizes:?}: {g} vs {e}"
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

    /// The AVX2 path is its own kernel: run explicitly, it computes the same fused multiply-adds in the same
    /// order as the AVX-512 one (bit for bit), while the portable one without FMA rounds each product.
    #[test]
    fn the_avx2_kernel_runs_its_own_fused_multiply_adds() {
        let here = kernels_here();
        if !here.contains(&CpuKernel::Avx2) {
            eprintln!("no AVX2+FMA on this CPU: nothing to compare");
            return;
        }
        let (spec, params) = network(&[9, 200, 100, 50, 5], Activation::Relu, 7);
        let input = frames(9);
        let run = |k| {
            DenseF32::new(&spec, &params)
                .unwrap()
                .with_kernel(k)
                .unwrap()
                .run(&input)
        };
        let avx2 = run(CpuKernel::Avx2);
        assert_eq!(avx2.len(), 131 * 5);
        if here.contains(&CpuKernel::Avx512) {
            let avx512 = run(CpuKernel::Avx512);
            assert!(
                avx2.iter()
                    .zip(&avx512)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "the two FMA kernels sum in the same order"
            );
        }
        if !cfg!(target_feature = "fma") {
            let portable = run(CpuKernel::Portable);
            assert!(
                avx2.iter()
                    .zip(&portable)
                    .any(|(a, b)| a.to_bits() != b.to_bits()),
                "fused and unfused rounding differ somewhere in 655 outputs"
            );
        }
    }

    #[test]
    fn the_kernel_setting_is_parsed_and_checked_against_the_cpu() {
        for kernel in CpuKernel::ALL {
            assert_eq!(kernel.name().parse::<CpuKernel>().unwrap(), kernel);
            assert_eq!(kernel.to_string(), kernel.name());
        }
        for bad in ["avx3", "AVX2", "", "sse"] {
            let e = bad.parse::<CpuKernel>().unwrap_err();
            assert_eq!(e.device, "cpu-f32");
            let text = e.to_string();
            assert!(
                text.contains("BALER_CPU_KERNEL")
                    && text.contains(&format!("'{bad}'"))
                    && text.contains("avx512, avx2, portable"),
                "{text}"
            );
        }
        // a CPU with AVX2 and FMA but no AVX-512 (an AMD EPYC before Zen 4)
        let epyc = |f: &str| f == "avx2" || f == "fma";
        let e = CpuKernel::Avx512.require_on(epyc).unwrap_err();
        assert_eq!(e.device, "cpu-f32");
        assert!(
            e.to_string()
                .contains("BALER_CPU_KERNEL=avx512: this CPU has no avx512f"),
            "{e}"
        );
        assert_eq!(CpuKernel::Avx2.require_on(epyc), Ok(CpuKernel::Avx2));
        // AVX2 without FMA, and a CPU with nothing
        let e = CpuKernel::Avx2.require_on(|f| f == "avx2").unwrap_err();
        assert!(e.to_string().contains("this CPU has no fma"), "{e}");
        let e = CpuKernel::Avx2.require_on(|_| false).unwrap_err();
        assert!(e.to_string().contains("this CPU has no avx2"), "{e}");
        assert_eq!(
            CpuKernel::Portable.require_on(|_| false),
            Ok(CpuKernel::Portable)
        );
        // forcing a kernel this CPU lacks is refused before anything runs
        let (spec, params) = network(&[4, 4], Activation::Relu, 1);
        for kernel in CpuKernel::ALL {
            let dense = DenseF32::new(&spec, &params).unwrap().with_kernel(kernel);
            assert_eq!(dense.is_ok(), kernel.require().is_ok());
        }
        assert_eq!(CpuKernel::detect().require(), Ok(CpuKernel::detect()));
    }
}

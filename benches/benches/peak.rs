//! The core's measured f32 peak for each of cpu-f32's kernels (AVX-512 FMA, AVX2 FMA, portable SSE mul + add), so
//! that the encoder benchmarks' GFLOP/s can be set against what one core can do. Throughput in FLOP (2 per lane).
//!     RAYON_NUM_THREADS=1 cargo bench -p baler-benches --bench peak

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROUNDS: usize = 1 << 16;
const CHAINS: usize = 12;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_avx512() -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(0.0); CHAINS];
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    for _ in 0..ROUNDS {
        for x in acc.iter_mut() {
            *x = _mm512_fmadd_ps(*x, a, b);
        }
    }
    acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_avx2() -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(0.0); CHAINS];
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    for _ in 0..ROUNDS {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, a, b);
        }
    }
    let mut out = [0f32; 8];
    let sum = acc
        .iter()
        .fold(_mm256_set1_ps(0.0), |s, &x| _mm256_add_ps(s, x));
    // SAFETY: `out` holds 8 floats, an unaligned store of one 256-bit vector.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    out.iter().sum()
}

/// The portable kernel's instructions on baseline x86-64: a multiply and an add (`mulps`, `addps`), no FMA.
#[cfg(target_arch = "x86_64")]
fn mul_add_sse() -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE is part of baseline x86-64.
    unsafe {
        let mut acc = [_mm_set1_ps(0.0); CHAINS];
        let (a, b) = (_mm_set1_ps(0.999_999), _mm_set1_ps(1e-7));
        for _ in 0..ROUNDS {
            for x in acc.iter_mut() {
                *x = _mm_add_ps(_mm_mul_ps(*x, a), b);
            }
        }
        let sum = acc.iter().fold(_mm_set1_ps(0.0), |s, &x| _mm_add_ps(s, x));
        let mut out = [0f32; 4];
        _mm_storeu_ps(out.as_mut_ptr(), sum);
        out.iter().sum()
    }
}

fn peak(c: &mut Criterion) {
    let mut group = c.benchmark_group("one core, f32 peak per cpu-f32 kernel");
    group.sample_size(10);
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            group.throughput(Throughput::Elements((ROUNDS * CHAINS * 16 * 2) as u64));
            // SAFETY: the CPU has AVX-512F and FMA (checked above).
            group.bench_function("avx512 fmadd", |b| b.iter(|| unsafe { fma_avx512() }));
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            group.throughput(Throughput::Elements((ROUNDS * CHAINS * 8 * 2) as u64));
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            group.bench_function("avx2 fmadd", |b| b.iter(|| unsafe { fma_avx2() }));
        }
        group.throughput(Throughput::Elements((ROUNDS * CHAINS * 4 * 2) as u64));
        group.bench_function("portable mulps + addps", |b| b.iter(mul_add_sse));
    }
    group.finish();
}

criterion_group!(benches, peak);
criterion_main!(benches);

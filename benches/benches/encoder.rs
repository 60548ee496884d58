//! Encoder throughput (rows/s) of the reference jet model on one core, side by side: burn's f32 CPU backend,
//! the f32 reference loops of baler-core, and the bit-exact fixed-point reference (the quantised model in
//! models/jets-baler-9to5), and cpu-f32's kernel on each path this CPU has (avx512, avx2, portable) at batches of
//! 64, 1,024 and 8,192 frames. PyTorch on the same model: scripts/pytorch_encoder_throughput.py.
//!     RAYON_NUM_THREADS=1 cargo bench -p baler-benches --bench encoder

use baler::model::QuantizedModel;
use baler::network;
use baler::runtime::{CpuKernel, DenseF32};
use baler::train::normalized;
use baler_core::inference::{FloatNetwork, FloatStorage};
use burn::tensor::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: usize = 4096;

fn encoder_throughput(c: &mut Criterion) {
    let (model, data) = baler_benches::jets();
    let quantized = QuantizedModel::load(&baler_benches::repo().join("models/jets-baler-9to5"))
        .expect("quantised reference model");
    let features = data.features();
    let input: Vec<f32> =
        normalized(&data, &model.decoder.normalization)[..ROWS * features].to_vec();
    let input64: Vec<f64> = input.iter().map(|&v| v as f64).collect();
    let device = Device::flex();
    let encoder =
        baler::network::Network::from_params(&model.encoder, &model.encoder_params, &device)
            .unwrap();
    let fixed = quantized.encoder.runner();
    let reference =
        FloatNetwork::new(&model.encoder, &model.encoder_params, FloatStorage::F32).unwrap();

    let mut group = c.benchmark_group("jets encoder 9-200-100-50-5, 4096 rows, one thread");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function("f32 burn flex (batched)", |b| {
        b.iter(|| network::run_network(&encoder, &input, features, &device))
    });
    let blocked = DenseF32::new(&model.encoder, &model.encoder_params).expect("a dense encoder");
    group.bench_function("f32 cache-blocked kernel (cpu-f32)", |b| {
        b.iter(|| blocked.run(&input))
    });
    group.bench_function("f32 core reference loops", |b| {
        b.iter(|| {
            input
                .chunks(features)
                .map(|row| reference.run(row))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("fixed-point core reference (bit-exact)", |b| {
        b.iter(|| {
            input64
                .chunks(features)
                .map(|row| fixed.run(row))
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

/// cpu-f32's dense kernel forced onto each path this CPU has (what `BALER_CPU_KERNEL` forces), one thread: frames/s
/// per batch; × 54,100 FLOP per frame gives GFLOP/s to set against the `peak` bench of the same path.
fn cpu_f32_kernels(c: &mut Criterion) {
    let (model, data) = baler_benches::jets();
    let features = data.features();
    let normalised = normalized(&data, &model.decoder.normalization);
    let mut group = c.benchmark_group("jets encoder, cpu-f32 kernel per path, one thread");
    group.sample_size(10);
    for kernel in CpuKernel::ALL {
        let Ok(dense) = DenseF32::new(&model.encoder, &model.encoder_params)
            .expect("a dense encoder")
            .with_kernel(kernel)
        else {
            eprintln!("{kernel}: not on this CPU");
            continue;
        };
        for batch in [64, 1024, 8192] {
            let input: Vec<f32> = normalised
                .iter()
                .copied()
                .cycle()
                .take(batch * features)
                .collect();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(format!("{kernel} batch {batch}"), |b| {
                b.iter(|| dense.run(&input))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, encoder_throughput, cpu_f32_kernels);
criterion_main!(benches);

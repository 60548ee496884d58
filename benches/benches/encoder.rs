//! Encoder throughput (rows/s) of the reference jet model on one core, side by side: burn's f32 CPU backend,
//! the f32 reference loops of baler-core, and the bit-exact fixed-point reference (the quantised model in
//! models/jets-baler-9to5). PyTorch on the same model: scripts/pytorch_encoder_throughput.py.
//!     RAYON_NUM_THREADS=1 cargo bench -p baler-benches --bench encoder

use baler::codec;
use baler::quantized::QuantizedModel;
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
        b.iter(|| codec::run_network(&encoder, &input, features, &device))
    });
    let blocked = baler::runtime::DenseF32::new(&model.encoder, &model.encoder_params)
        .expect("a dense encoder");
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

criterion_group!(benches, encoder_throughput);
criterion_main!(benches);

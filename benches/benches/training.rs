//! Time of training epochs of the Baler model (9→200→100→50→5, batch 512) on the example jet table:
//! the figure compared with the Python Baler by scripts/compare_training_speed.sh.
//!     RAYON_NUM_THREADS=1 cargo bench -p baler-benches --bench training

use baler::config::{ModelConfig, TrainingConfig};
use baler::train;
use burn::tensor::Device;
use criterion::{Criterion, criterion_group, criterion_main};

fn training_epochs(c: &mut Criterion) {
    let (_, data) = baler_benches::jets();
    let model = ModelConfig {
        latent: Some(5),
        ..Default::default()
    };
    let config = TrainingConfig {
        epochs: 2,
        early_stopping_patience: 0,
        ..Default::default()
    };
    let device = Device::flex();
    let mut group = c.benchmark_group("training");
    group.sample_size(10);
    group.bench_function("2 epochs, jets 27214x9, batch 512", |b| {
        b.iter(|| train::train(&data, &model, &config, &device, &mut |_| {}).unwrap())
    });
    group.finish();
}

criterion_group!(benches, training_epochs);
criterion_main!(benches);

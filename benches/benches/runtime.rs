//! The device runtime: batches through a `DeviceStream` (two in flight) on the `loopback` device — the streaming
//! path alone, in bytes/s of f64 frames — and on `cpu-fixed` (the i64 integer kernel over all threads).
//! Compare the loopback figure with memcpy of the same bytes (`baler bench --device loopback` prints both).
//!     cargo bench -p baler-benches --bench runtime

use baler::model::QuantizedModel;
use baler::runtime::{CpuFixed, DeviceStream, Loopback};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

fn streaming(c: &mut Criterion) {
    let features = 9;
    let mut group = c.benchmark_group("runtime");
    group.sample_size(10);
    for frames in [1024usize, 65536] {
        let batch: Vec<f64> = (0..frames * features).map(|v| v as f64).collect();
        group.throughput(Throughput::Bytes((frames * features * 8 * 16) as u64));
        group.bench_function(
            format!("loopback stream, 16 batches of {frames} frames"),
            |b| {
                let mut stream = DeviceStream::new(
                    Box::new(Loopback::new(features)),
                    2,
                    Duration::from_secs(60),
                );
                b.iter(|| {
                    for _ in 0..16 {
                        if stream.in_flight() == 2 {
                            stream.receive().unwrap();
                        }
                        stream.submit(batch.clone()).unwrap();
                    }
                    while stream.in_flight() > 0 {
                        stream.receive().unwrap();
                    }
                })
            },
        );
    }
    let quantized = QuantizedModel::load(&baler_benches::repo().join("models/jets-baler-9to5"))
        .expect("quantised reference model");
    let (_, data) = baler_benches::jets();
    let mut input: Vec<f64> = data.values[..4096 * features].to_vec();
    quantized.decoder.normalization.apply(&mut input);
    group.throughput(Throughput::Elements(4096));
    group.bench_function("cpu-fixed stream, 4096 jet frames", |b| {
        let device = CpuFixed::new(quantized.encoder.clone(), &quantized.decoder.id.to_string());
        let mut stream = DeviceStream::new(Box::new(device), 2, Duration::from_secs(60));
        b.iter(|| stream.run_all(&input, 1024).unwrap())
    });
    group.finish();
}

criterion_group!(benches, streaming);
criterion_main!(benches);

//! Compression and decompression throughput (rows/s) of the reference jet model on the example data,
//! on one core: encoder, decoder, and the file format (zstd + CRC) alone.
//!     cargo bench -p baler-benches --bench codec

use baler::codec;
use baler::config::LatentPrecision;
use baler::format::CompressedFile;
use burn::tensor::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;

fn codec_throughput(c: &mut Criterion) {
    let (model, data) = baler_benches::jets();
    let device = Device::flex();
    let path = Path::new("hep_jets_dijet.npy");
    let file = codec::compress(&model, &data, path, LatentPrecision::F16, &device).unwrap();
    let bytes = file.to_bytes(19);

    let mut group = c.benchmark_group("jets-baler-9to5");
    group.throughput(Throughput::Elements(data.rows as u64));
    group.sample_size(20);
    group.bench_function("compress (normalise + encode)", |b| {
        b.iter(|| codec::compress(&model, &data, path, LatentPrecision::F16, &device).unwrap())
    });
    group.bench_function("decompress (decode + denormalise + round)", |b| {
        b.iter(|| codec::decompress(&model.decoder, &file, path, &device).unwrap())
    });
    group.bench_function("write file (f16 + zstd 19 + crc)", |b| {
        b.iter(|| file.to_bytes(19))
    });
    group.bench_function("read file (crc + zstd + f16)", |b| {
        b.iter(|| CompressedFile::from_bytes(&bytes, path).unwrap())
    });
    group.finish();
}

criterion_group!(benches, codec_throughput);
criterion_main!(benches);

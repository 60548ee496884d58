//! Compression and decompression throughput (rows/s) of the reference jet model on the example data,
//! on one core: encoder, decoder, and the file format (zstd + CRC) alone.
//!     cargo bench -p baler-benches --bench codec

use baler::codec;
use baler::config::LatentPrecision;
use baler::container::CompressedFile;
use baler::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream};
use burn::tensor::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;

fn codec_throughput(c: &mut Criterion) {
    let (model, data) = baler_benches::jets();
    let device = Device::flex();
    let path = Path::new("hep_jets_dijet.npy");
    let open = || {
        let encoder = runtime::open_float(&DeviceSpec::CpuF32, &model).unwrap();
        DeviceStream::new(encoder, 2, DEVICE_TIMEOUT)
    };
    let mut stream = open();
    let mut compress = || {
        codec::compress(
            &model.decoder,
            &data,
            path,
            LatentPrecision::F16,
            &mut stream,
        )
        .unwrap()
    };
    let file = compress();
    let bytes = file.to_bytes(19);

    let mut group = c.benchmark_group("jets-baler-9to5");
    group.throughput(Throughput::Elements(data.rows as u64));
    group.sample_size(20);
    group.bench_function("compress (normalise + encode on cpu-f32)", |b| {
        b.iter(&mut compress)
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

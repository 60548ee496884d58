//! Compression and decompression throughput (rows/s) of the reference jet model on the example data,
//! on one core: encoder, decoder, and the file format (zstd + CRC) alone.
//!     cargo bench -p baler-benches --bench codec

use baler::codec;
use baler::config::LatentPrecision;
use baler::container::CompressedFile;
use baler::model::AnyDecoder;
use baler::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::Path;

fn codec_throughput(c: &mut Criterion) {
    let (model, data) = baler_benches::jets();
    let path = Path::new("hep_jets_dijet.npy");
    let (encoder, params, id) = (&model.encoder, &model.encoder_params, model.decoder.id);
    let encoder = runtime::open_float(&DeviceSpec::CpuF32, encoder, params, id).unwrap();
    let mut stream = DeviceStream::new(encoder, 2, DEVICE_TIMEOUT);
    let decoder = AnyDecoder::Float(model.decoder.clone());
    let mut decoder_stream = DeviceStream::new(
        runtime::open_decoder(&DeviceSpec::CpuF32, &decoder).unwrap(),
        2,
        DEVICE_TIMEOUT,
    );
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
    group.bench_function(
        "decompress (decode on cpu-f32 + denormalise + round)",
        |b| b.iter(|| codec::decompress(&decoder, &file, path, &mut decoder_stream).unwrap()),
    );
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

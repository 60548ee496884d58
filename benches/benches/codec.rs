//! Compression and decompression throughput (rows/s) of the reference jet model on the example data,
//! on one core: encoder, decoder, and the file format (zstd + CRC) alone; and error-bounded mode's
//! interpolation predictor (no decoder) on the CFD field (bytes/s), with its scheme, and with the predictor too,
//! chosen as without a model.
//!     cargo bench -p baler-benches --bench codec

use baler::codec;
use baler::codec::{BoundSpec, Predictor};
use baler::config::LatentPrecision;
use baler::container::CompressedFile;
use baler::data::Dataset;
use baler::model::{AnyDecoder, QuantizedDecoder};
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

/// Error-bounded interpolation at 1e-3 × the range on the CFD field: residuals and their range coding, and back.
fn interpolation_throughput(c: &mut Criterion) {
    let repo = baler_benches::repo();
    let decoder = QuantizedDecoder::load(&repo.join("models/cfd-conv-r100")).unwrap();
    let path = repo.join("data/CFD_animation.npz");
    let data = Dataset::load(&path, &decoder.data.names).unwrap();
    let bound: BoundSpec = "rel:1e-3".parse().unwrap();
    let bounds = codec::resolve_bounds(&[bound], &data).unwrap();
    let any = AnyDecoder::Quantized(decoder.clone());
    let mut decoder_stream = DeviceStream::new(
        runtime::open_decoder(&DeviceSpec::CpuFixed, &any).unwrap(),
        2,
        DEVICE_TIMEOUT,
    );
    let predictor = Some(Predictor::Interpolation);
    let mut compress = || {
        let file = codec::compress_bounded(
            &decoder,
            &data,
            &path,
            &bounds,
            predictor,
            None,
            &mut decoder_stream,
        )
        .unwrap();
        file.to_bytes(3)
    };
    let bytes = compress();
    let mut group = c.benchmark_group("cfd-conv-r100 error-bounded");
    group.throughput(Throughput::Bytes((data.values.len() * 8) as u64));
    group.sample_size(20);
    group.bench_function("compress (interpolation, rel 1e-3)", |b| {
        b.iter(&mut compress)
    });
    // the path of `baler compress -i … --error-bound …`: the predictor and scheme chosen, no model
    group.bench_function("compress without a model (chosen, rel 1e-3)", |b| {
        b.iter(|| {
            let choice = codec::choose_alone(&data, &bounds, &[], None).unwrap();
            codec::compress_alone(&data, codec::NO_MODEL, &bounds, &[], choice).to_bytes(3)
        })
    });
    group.bench_function("decompress (interpolation, rel 1e-3)", |b| {
        b.iter(|| {
            let file = CompressedFile::from_bytes(&bytes, &path).unwrap();
            codec::restore_without_model(&file, &path).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, codec_throughput, interpolation_throughput);
criterion_main!(benches);

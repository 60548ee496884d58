//! The committed reference models in `models/` still load (model ids intact) and, applied to the
//! example data they were trained on, reproduce the fidelity recorded in their `evaluation.json` (float)
//! and `precision.json` (quantised).

use baler::config::LatentPrecision;
use baler::data::Dataset;
use baler::evaluate::{Evaluation, ResponseCut, evaluate};
use baler::model::{AnyDecoder, Model, QuantizedModel};
use baler::runtime::run_rows;
use baler::runtime::{self, DEVICE_TIMEOUT, DeviceSpec, DeviceStream};
use baler::{codec, container::CompressedFile};
use std::path::{Path, PathBuf};

/// The response cut the recorded evaluations were made with: |x| ≥ 1e-6, nothing relative.
const OLD_CUT: ResponseCut = ResponseCut {
    absolute: 1e-6,
    relative: 0.0,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `device` with the encoder, or the decoder, of the model in `dir` (its kind is the device's).
fn open_stream(device: &DeviceSpec, dir: &Path, decoder: bool) -> DeviceStream {
    let opened = if decoder {
        runtime::open_decoder(device, &AnyDecoder::load(dir, device.model_kind()).unwrap())
    } else {
        runtime::open(device, dir)
    };
    DeviceStream::new(opened.unwrap(), 2, DEVICE_TIMEOUT)
}

/// Compresses the data with the model (f16 latent, as recorded), decompresses through the file format,
/// and evaluates; returns the new and the recorded evaluation.
fn round_trip(model: &str, data: &str) -> (Evaluation, Evaluation) {
    let dir = repo().join("models").join(model);
    let model = Model::load(&dir).unwrap();
    let path = repo().join("data").join(data);
    let original = Dataset::load(&path, &model.decoder.data.names).unwrap();
    let mut stream = open_stream(&DeviceSpec::CpuF32, &dir, false);
    let file = codec::compress(
        &model.decoder,
        &original,
        &path,
        LatentPrecision::F16,
        &mut stream,
    )
    .unwrap();
    let file = CompressedFile::from_bytes(&file.to_bytes(3), Path::new("mem")).unwrap();
    let mut decoder = open_stream(&DeviceSpec::CpuF32, &dir, true);
    let restored = codec::decompress(&model.decoder, &file, &path, &mut decoder).unwrap();
    let now = evaluate(&original, &restored, OLD_CUT, None).unwrap();
    let recorded =
        serde_json::from_slice(&std::fs::read(dir.join("evaluation.json")).unwrap()).unwrap();
    (now, recorded)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

#[test]
fn jet_model_reproduces_its_recorded_fidelity() {
    let (now, recorded) = round_trip("jets-baler-9to5", "hep_jets_dijet.npy");
    for (n, r) in now.variables.iter().zip(&recorded.variables) {
        assert_eq!(n.name, r.name);
        // float summation order may differ between CPUs; integer variables may round differently at .5
        assert!(
            close(n.residual_rms, r.residual_rms, 0.01),
            "{}: {} vs {}",
            n.name,
            n.residual_rms,
            r.residual_rms
        );
    }
    assert!(
        now.variables[0].response_rms < 0.006,
        "pt response RMS {}",
        now.variables[0].response_rms
    );
}

#[test]
fn cfd_model_reproduces_its_recorded_psnr() {
    let (now, recorded) = round_trip("cfd-conv-r100", "CFD_animation.npz");
    let (p, r) = (now.psnr_db.unwrap(), recorded.psnr_db.unwrap());
    assert!((p - r).abs() < 0.05, "PSNR {p} dB, recorded {r} dB");
}

/// PSNR of the quantised CFD model over all 60 frames (f32 latent), as README.md quotes it. Fixed-point
/// inference is integer-exact, so every machine computes the same value.
const CFD_FIXED_PSNR_DB: f64 = 36.782;

#[test]
fn quantized_cfd_model_reproduces_its_recorded_precision() {
    let dir = repo().join("models").join("cfd-conv-r100");
    let float = Model::load(&dir).unwrap();
    let model = QuantizedModel::load(&dir).unwrap();
    assert_eq!(model.decoder.source_model_id, float.decoder.id);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("precision.json")).unwrap()).unwrap();
    assert_eq!(report["target_met"], true, "{report}");
    let path = repo().join("data").join("CFD_animation.npz");
    let data = Dataset::load(&path, &model.decoder.data.names).unwrap();

    // the fixed-point MSE on the frames the precision search measured (evenly spread, normalised)
    let rows = report["rows"].as_u64().unwrap() as usize;
    let features = data.features();
    let mut sample = Vec::new();
    for row in (0..data.rows).step_by(data.rows.div_ceil(rows)) {
        sample.extend_from_slice(&data.values[row * features..(row + 1) * features]);
    }
    model.decoder.normalization.apply(&mut sample);
    assert_eq!(sample.len(), rows * features);
    let latent = run_rows(&model.encoder, &sample, features);
    let output = run_rows(&model.decoder.network, &latent, model.decoder.latent());
    let mse = sample
        .iter()
        .zip(&output)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        / sample.len() as f64;
    let recorded = report["fixed_mse"].as_f64().unwrap();
    assert!(
        close(mse, recorded, 1e-9),
        "fixed-point MSE {mse}, recorded {recorded}"
    );

    // all frames through the compressed format (f32 latent) and back, in fixed point
    let mut stream = open_stream(&DeviceSpec::CpuFixed, &dir, false);
    let file = codec::compress(
        &model.decoder,
        &data,
        &path,
        LatentPrecision::F32,
        &mut stream,
    )
    .unwrap();
    let file = CompressedFile::from_bytes(&file.to_bytes(3), Path::new("mem")).unwrap();
    let mut decoder = open_stream(&DeviceSpec::CpuFixed, &dir, true);
    let restored = codec::decompress(&model.decoder, &file, &path, &mut decoder).unwrap();
    let psnr = evaluate(&data, &restored, OLD_CUT, None)
        .unwrap()
        .psnr_db
        .unwrap();
    assert!(
        (psnr - CFD_FIXED_PSNR_DB).abs() < 0.005,
        "fixed-point PSNR {psnr} dB, README quotes {CFD_FIXED_PSNR_DB} dB"
    );
}

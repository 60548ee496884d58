//! The committed reference models in `models/` still load (model ids intact) and, applied to the
//! example data they were trained on, reproduce the fidelity recorded in their `evaluation.json`.

use baler::config::LatentPrecision;
use baler::data::Dataset;
use baler::evaluate::{Evaluation, evaluate};
use baler::model_store::Model;
use baler::{codec, format::CompressedFile};
use burn::tensor::Device;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Compresses the data with the model (f16 latent, as recorded), decompresses through the file format,
/// and evaluates; returns the new and the recorded evaluation.
fn round_trip(model: &str, data: &str) -> (Evaluation, Evaluation) {
    let dir = repo().join("models").join(model);
    let model = Model::load(&dir).unwrap();
    let path = repo().join("data").join(data);
    let original = Dataset::load(&path, &model.decoder.data.names).unwrap();
    let device = Device::flex();
    let file = codec::compress(&model, &original, &path, LatentPrecision::F16, &device).unwrap();
    let file = CompressedFile::from_bytes(&file.to_bytes(3), Path::new("mem")).unwrap();
    let restored = codec::decompress(&model.decoder, &file, &path, &device).unwrap();
    let now = evaluate(&original, &restored, 1e-6, None).unwrap();
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

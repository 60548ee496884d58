//! `baler quantize` on the reference jet model, then compression and decompression with the fixed-point
//! model: reproducible files, and clear errors for edited or mismatched quantised models.

use baler::data::Dataset;
use std::path::Path;

use crate::common;

use common::{fails, ok};

#[test]
fn quantize_then_compress_and_decompress_in_fixed_point() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = dir.join("model");
    std::fs::create_dir(&model).unwrap();
    for f in [
        "decoder.json",
        "decoder.safetensors",
        "encoder.json",
        "encoder.safetensors",
    ] {
        std::fs::copy(root.join("models/jets-baler-9to5").join(f), model.join(f)).unwrap();
    }
    let (_, names) = common::jets_rows(dir, 600);

    let report = ok(
        dir,
        &["quantize", "-m", "model", "-i", "jets.npy", "--rows", "300"],
    );
    assert!(report.contains("target ×1.0500 met"), "{report}");
    let precision: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("precision.json")).unwrap()).unwrap();
    assert_eq!(precision["layers"].as_array().unwrap().len(), 8);
    assert!(precision["fixed_worst_ratio"].as_f64().unwrap() <= 1.05);

    // the fixed-point path is deterministic: two runs write the same bytes; the latent precision is measured
    // with the decoder's own input codes among the candidates
    for out in ["a.baler", "b.baler"] {
        let summary = ok(
            dir,
            &[
                "compress", "--fixed", "-m", "model", "-i", "jets.npy", "-o", out,
            ],
        );
        assert!(summary.contains("codes MSE "), "{summary}");
    }
    assert_eq!(
        std::fs::read(dir.join("a.baler")).unwrap(),
        std::fs::read(dir.join("b.baler")).unwrap()
    );
    ok(
        dir,
        &[
            "decompress",
            "--fixed",
            "-m",
            "model",
            "-i",
            "a.baler",
            "-o",
            "back.csv",
        ],
    );
    let back = Dataset::load(&dir.join("back.csv"), &[]).unwrap();
    assert_eq!(back.shape(), vec![600, 9]);
    assert_eq!(back.names, names);

    // the float decoder refuses a file written by the fixed-point model
    fails(
        dir,
        &["decompress", "-m", "model", "-i", "a.baler", "-o", "x.csv"],
        "compressed with model",
    );
    assert!(!dir.join("x.csv").exists());

    // an edited weight code is caught by the model id; a code outside its format is named with its layer
    let path = model.join("quantized-decoder.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let decompress_fixed = [
        "decompress",
        "--fixed",
        "-m",
        "model",
        "-i",
        "a.baler",
        "-o",
        "y.csv",
    ];
    for (index, code, error) in [
        (3, None, "edited or damaged"),
        (
            0,
            Some(1_000_000),
            "layer 0: weight code 1000000 at index 0",
        ),
    ] {
        let entry = &mut json["network"]["layers"][0]["fixed"]["weights"][index];
        *entry = serde_json::json!(code.unwrap_or(entry.as_i64().unwrap() ^ 1));
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        fails(dir, &decompress_fixed, error);
        assert!(!dir.join("y.csv").exists());
    }
}

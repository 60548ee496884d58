//! `baler quantize` on the reference jet model, then compression and decompression with the fixed-point
//! model: reproducible files, and clear errors for edited or mismatched quantised models.

use baler::data::Dataset;
use std::path::Path;
use std::process::{Command, Output};

fn baler(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baler"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = baler(dir, args);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "baler {args:?} failed:\n{text}");
    text
}

fn fails(dir: &Path, args: &[&str], needle: &str) {
    let out = baler(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "baler {args:?} should fail; stderr:\n{stderr}"
    );
    assert!(stderr.contains(needle), "expected '{needle}' in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

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
    let names: Vec<String> = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(model.join("decoder.json")).unwrap(),
    )
    .unwrap()["data"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let mut data = Dataset::load(&root.join("data/hep_jets_dijet.npy"), &names).unwrap();
    data.rows = 600;
    data.values.truncate(600 * 9);
    data.save(&dir.join("jets.npy")).unwrap();

    let report = ok(
        dir,
        &["quantize", "-m", "model", "-i", "jets.npy", "--rows", "300"],
    );
    assert!(report.contains("target ×1.0500 met"), "{report}");
    let precision: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("precision.json")).unwrap()).unwrap();
    assert_eq!(precision["layers"].as_array().unwrap().len(), 8);
    assert!(precision["fixed_worst_ratio"].as_f64().unwrap() <= 1.05);

    // the fixed-point path is deterministic: two runs write the same bytes
    for out in ["a.baler", "b.baler"] {
        ok(
            dir,
            &[
                "compress", "--fixed", "-m", "model", "-i", "jets.npy", "-o", out,
            ],
        );
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

    // an edited weight code is caught by the model id
    let path = model.join("quantized-decoder.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let code = &mut json["network"]["layers"][0]["fixed"]["weights"][3];
    *code = serde_json::json!(code.as_i64().unwrap() ^ 1);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    fails(
        dir,
        &[
            "decompress",
            "--fixed",
            "-m",
            "model",
            "-i",
            "a.baler",
            "-o",
            "y.csv",
        ],
        "edited or damaged",
    );
    assert!(!dir.join("y.csv").exists());

    // a code outside its format is named with its layer
    *json["network"]["layers"][0]["fixed"]
        .get_mut("weights")
        .unwrap()
        .get_mut(0)
        .unwrap() = serde_json::json!(1_000_000);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    fails(
        dir,
        &[
            "decompress",
            "--fixed",
            "-m",
            "model",
            "-i",
            "a.baler",
            "-o",
            "y.csv",
        ],
        "layer 0: weight code 1000000 at index 0",
    );
}

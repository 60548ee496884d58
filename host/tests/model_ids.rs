//! The committed models in `models/` carry the ids their contents hash to (float and quantised, the
//! quantised decoder naming its float source), and the one procedure that re-stamps them after a change of
//! the id's definition:
//! `bash scripts/restamp_model_ids.sh`.

mod common;

use baler::model::{self, DECODER_JSON, Model, QUANTIZED_DECODER, QuantizedModel};
use std::path::PathBuf;

/// Every model folder under `models/`.
fn model_folders() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(common::root().join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join(DECODER_JSON).exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn committed_models_carry_the_ids_they_hash_to() {
    let dirs = model_folders();
    assert!(dirs.len() >= 2, "{dirs:?}");
    for dir in dirs {
        let model = Model::load(&dir).unwrap_or_else(|e| panic!("{e}"));
        if dir.join(QUANTIZED_DECODER).exists() {
            let q = QuantizedModel::load(&dir).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                q.decoder.source_model_id,
                model.decoder.id,
                "{}",
                dir.display()
            );
            assert_eq!(q.decoder.data, model.decoder.data);
        }
    }
}

/// Rewrites the recorded ids of every committed model to the ids their contents hash to. Run it (see the
/// module header) after changing what the id covers, and commit the changed JSON files.
#[test]
#[ignore = "rewrites the committed model files: run by scripts/restamp_model_ids.sh after a change of the model id"]
fn restamp_committed_models() {
    for dir in model_folders() {
        let (old, new) = model::float::restamp_ids(&dir).unwrap_or_else(|e| panic!("{e}"));
        println!("{}: {old} -> {new}", dir.display());
        if let Some((old, new)) =
            model::quantized::restamp_ids(&dir).unwrap_or_else(|e| panic!("{e}"))
        {
            println!("{} (quantised): {old} -> {new}", dir.display());
        }
    }
}

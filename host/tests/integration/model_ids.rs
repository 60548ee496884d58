//! The committed models in `models/` carry the ids their contents hash to (float and quantised, the
//! quantised decoder naming its float source), and the one procedure that re-stamps them after a change of
//! the id's definition:
//! `bash scripts/restamp_model_ids.sh`.

use crate::common;

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

/// Re-stamps the recorded ids of every committed model with the ids their contents hash to. In the tests it works
/// on a copy of each folder and asserts that nothing changes (the committed ids, and the packed decoders, are
/// current); `scripts/restamp_model_ids.sh` sets `BALER_RESTAMP_IN_PLACE=1` to rewrite `models/` itself after a
/// change of what the id covers.
#[test]
fn restamp_committed_models() {
    let in_place = std::env::var_os("BALER_RESTAMP_IN_PLACE").is_some();
    let tmp = tempfile::tempdir().unwrap();
    for committed in model_folders() {
        let dir = if in_place {
            committed.clone()
        } else {
            let copy = tmp.path().join(committed.file_name().unwrap());
            std::fs::create_dir(&copy).unwrap();
            for f in std::fs::read_dir(&committed).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
            }
            copy
        };
        let (old, new) = model::float::restamp_ids(&dir).unwrap_or_else(|e| panic!("{e}"));
        println!("{}: {old} -> {new}", committed.display());
        let quantized = model::quantized::restamp_ids(&dir).unwrap_or_else(|e| panic!("{e}"));
        if let Some((old, new)) = &quantized {
            println!("{} (quantised): {old} -> {new}", committed.display());
        }
        if !in_place {
            assert_eq!(
                old,
                new.to_string(),
                "{}: run scripts/restamp_model_ids.sh",
                committed.display()
            );
            for f in std::fs::read_dir(&committed).unwrap() {
                let f = f.unwrap().path();
                let copy = std::fs::read(dir.join(f.file_name().unwrap())).unwrap();
                assert!(
                    std::fs::read(&f).unwrap() == copy,
                    "{} is not current",
                    f.display()
                );
            }
        }
    }
}

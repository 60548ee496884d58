//! Shared set-up of the benchmarks: the example data and reference models of the repository.

use baler::data::Dataset;
use baler::model::Model;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is in the repository")
        .to_path_buf()
}

/// The reference jet model and its data (names from the model).
pub fn jets() -> (Model, Dataset) {
    let model = Model::load(&repo().join("models/jets-baler-9to5")).expect("reference model");
    let data = Dataset::load(
        &repo().join("data/hep_jets_dijet.npy"),
        &model.decoder.data.names,
    )
    .expect("example data");
    (model, data)
}

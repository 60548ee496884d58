//! The shipped example: a jet table and a CFD field stack from `data/`, each with the settings chosen
//! for it, as ready-to-run project configurations (`baler demo`).

use crate::config::{LatentPrecision, ProjectConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use std::path::Path;

/// Variable names of `hep_jets_dijet.npy` (the file has none).
pub const JET_NAMES: [&str; 9] = [
    "pt",
    "eta",
    "phi",
    "mass",
    "jet_id",
    "chg_mult",
    "tot_chg",
    "cut_chg",
    "n_trk_stored",
];

/// Project name and configuration of each demo case; `epochs` overrides the maximum.
pub fn cases(data_dir: &Path, epochs: Option<usize>) -> Result<Vec<(&'static str, ProjectConfig)>> {
    let load = |file: &str, names: &[String]| -> Result<(std::path::PathBuf, Dataset)> {
        let path = data_dir.join(file);
        if !path.exists() {
            return Err(Error::Mismatch(format!(
                "{} not found: run the demo from the repository root or give --data-dir",
                path.display()
            )));
        }
        let data = Dataset::load(&path, names)?;
        Ok((std::path::absolute(&path).map_err(Error::io(&path))?, data))
    };

    let names: Vec<String> = JET_NAMES.map(String::from).to_vec();
    let (path, data) = load("hep_jets_dijet.npy", &names)?;
    let mut jets = ProjectConfig::for_data(path, &data);
    jets.data.names = names;
    jets.model.latent = Some(5);
    // pt matters most to the analysis; a weight of 5 buys it ~5x lower error at little cost elsewhere
    jets.training.weights.insert("pt".into(), 5.0);
    jets.compression.latent_precision = Some(LatentPrecision::F16);

    let (path, data) = load("CFD_animation.npz", &[])?;
    let mut cfd = ProjectConfig::for_data(path, &data);
    cfd.model.ratio = Some(100.0);
    cfd.training.epochs = 600;
    cfd.training.early_stopping_patience = 100;
    cfd.compression.latent_precision = Some(LatentPrecision::F16);

    let mut cases = vec![("jets", jets), ("cfd", cfd)];
    if let Some(n) = epochs {
        cases.iter_mut().for_each(|(_, c)| c.training.epochs = n);
    }
    Ok(cases)
}

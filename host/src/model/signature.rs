//! What a model knows of the data it was trained on ([`DataSignature`]), and the checks that a model file's
//! networks fit it, with errors that name the file and the field at fault.

use crate::data::{DataKind, Dataset, FloatType};
use crate::error::{Error, Result};
use baler_core::{
    DataLayout, MAX_TENSOR_VALUES, NetworkError, NetworkSpec, Normalization, SampleKind,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a model knows about the data it was trained on; new data must match it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSignature {
    /// Table or fields (with their size).
    pub kind: DataKind,
    /// Variable names of a table.
    pub names: Vec<String>,
    /// Per variable: integer-valued in the training data (restored by rounding).
    pub integer: Vec<bool>,
    /// Stored type of the training data.
    pub dtype: FloatType,
}

impl DataSignature {
    /// The signature of a dataset.
    pub fn of(data: &Dataset) -> Self {
        DataSignature {
            kind: data.kind,
            names: data.names.clone(),
            integer: data.integer_columns(),
            dtype: data.dtype,
        }
    }

    /// The signature as the model id hashes it.
    pub fn layout(&self) -> DataLayout<'_> {
        DataLayout {
            kind: match self.kind {
                DataKind::Table => SampleKind::Table,
                DataKind::Fields { height, width } => SampleKind::Fields { height, width },
            },
            names: &self.names,
            integer: &self.integer,
        }
    }

    /// Values per sample (table variables, or field height × width); `None` if that overflows.
    pub fn features(&self) -> Option<usize> {
        match self.kind {
            DataKind::Table => Some(self.names.len()),
            DataKind::Fields { height, width } => height.checked_mul(width),
        }
    }

    /// Offset/scale pairs the normalisation has: one per table variable, one for all values of fields.
    pub fn normalization_variables(&self) -> usize {
        match self.kind {
            DataKind::Table => self.names.len(),
            DataKind::Fields { .. } => 1,
        }
    }

    /// Checks the signature on its own: a table has at least one variable and one integer flag per
    /// variable; fields have a non-empty size of at most [`MAX_TENSOR_VALUES`] values, no names and no
    /// flags. `path` names the model file in the error.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let fail = |field: &str, message: String| Err(invalid_model(path, field, message));
        match self.kind {
            DataKind::Table => {
                if self.names.is_empty() {
                    return fail("data.names", "a table needs at least one variable".into());
                }
                if self.integer.len() != self.names.len() {
                    return fail(
                        "data.integer",
                        format!(
                            "{} flags for {} variables; there must be one per variable",
                            self.integer.len(),
                            self.names.len()
                        ),
                    );
                }
            }
            DataKind::Fields { height, width } => {
                if height == 0
                    || width == 0
                    || self.features().is_none_or(|n| n > MAX_TENSOR_VALUES)
                {
                    return fail(
                        "data.kind",
                        format!(
                            "fields of {height} × {width}: each side must be at least 1 and the field at most {MAX_TENSOR_VALUES} values"
                        ),
                    );
                }
                if !self.names.is_empty() || !self.integer.is_empty() {
                    return fail(
                        "data.names",
                        "fields have no variable names or integer flags (both must be empty)"
                            .into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// Refuses data whose layout or variables differ from the training data's.
    pub fn check(&self, data: &Dataset, path: &Path) -> Result<()> {
        let problem = if data.kind != self.kind {
            let a = |kind: DataKind| match kind {
                DataKind::Table => "a table".to_string(),
                fields => fields.to_string(),
            };
            Some(format!(
                "it is {} but the model was trained on {}",
                a(data.kind),
                a(self.kind)
            ))
        } else if data.names != self.names {
            Some(format!(
                "its variables {:?} differ from the model's {:?}",
                data.names, self.names
            ))
        } else {
            None
        };
        match problem {
            Some(p) => Err(Error::Mismatch(format!(
                "{}: this model cannot encode the data: {p}",
                path.display()
            ))),
            None => Ok(()),
        }
    }
}

/// An [`Error::InvalidModel`].
pub(crate) fn invalid_model(path: &Path, field: &str, message: impl Into<String>) -> Error {
    Error::InvalidModel {
        path: path.to_path_buf(),
        field: field.into(),
        message: message.into(),
    }
}

/// A network's error as an [`Error::InvalidModel`] naming the part of `field` (`network`) at fault.
pub(crate) fn invalid_network(path: &Path, field: &str, e: &NetworkError) -> Error {
    let part = match e {
        NetworkError::InputShape(_) => format!("{field}.input_shape"),
        NetworkError::Shape(s) => format!("{field}.layers[{}]", s.layer),
        NetworkError::Layer { layer, .. } => format!("{field}.layers[{layer}]"),
        NetworkError::NoParameters => format!("{field}.layers"),
    };
    invalid_model(path, &part, e.to_string())
}

/// Checks that a decoder's network, normalisation and data signature fit together: the network is valid
/// (see [`NetworkSpec::validate`]), takes `[latent]` and gives one value per data feature, and the
/// normalisation has one finite pair per variable. Returns the latent size. `path` names the decoder file.
pub(crate) fn check_decoder_parts(
    path: &Path,
    network: &NetworkSpec,
    normalization: &Normalization,
    data: &DataSignature,
) -> Result<usize> {
    data.validate(path)?;
    let shapes = network
        .validate()
        .map_err(|e| invalid_network(path, "network", &e))?;
    let [latent] = network.input_shape[..] else {
        return Err(invalid_model(
            path,
            "network.input_shape",
            format!(
                "{:?}: a decoder takes the latent vector, [latent size]",
                network.input_shape
            ),
        ));
    };
    let output = shapes.last().expect("shapes start with the input");
    let values: usize = output.iter().product();
    if Some(values) != data.features() {
        return Err(invalid_model(
            path,
            "network",
            format!(
                "the decoder gives {output:?} = {values} values per sample, but the data ({}, {} names) has {} features",
                data.kind,
                data.names.len(),
                data.features().map_or("too many".into(), |n| n.to_string())
            ),
        ));
    }
    normalization
        .validate(data.normalization_variables())
        .map_err(|e| invalid_model(path, "normalization", e.to_string()))?;
    Ok(latent)
}

/// Checks that an encoder fits its decoder: a valid network taking one sample of `features` values and
/// giving the decoder's `[latent]`. `path` names the encoder file.
pub(crate) fn check_encoder(
    path: &Path,
    network: &NetworkSpec,
    features: usize,
    latent: usize,
) -> Result<()> {
    let shapes = network
        .validate()
        .map_err(|e| invalid_network(path, "network", &e))?;
    let inputs: usize = network.input_shape.iter().product();
    if inputs != features {
        return Err(invalid_model(
            path,
            "network.input_shape",
            format!(
                "{:?} = {inputs} values, but the data has {features} features per sample",
                network.input_shape
            ),
        ));
    }
    let output = shapes.last().expect("shapes start with the input");
    if output[..] != [latent] {
        return Err(invalid_model(
            path,
            "network",
            format!("the encoder gives {output:?}, the decoder takes [{latent}]"),
        ));
    }
    Ok(())
}

//! Shared, `no_std` heart of the Baler toolkit: the model description (layer list and parameters),
//! the per-variable normalisation and the model id that ties compressed files, models and boards together.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

pub mod fixed;
pub mod model;
pub mod model_id;
pub mod normalization;

pub use model::{Activation, LayerParams, LayerSpec, NetworkSpec, ParamTensor, ShapeError};
pub use model_id::ModelId;
pub use normalization::{Normalization, NormalizationMethod};

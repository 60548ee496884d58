//! Shared, `no_std` heart of the Baler toolkit: the model description, normalisation and model id, the
//! bit-exact `ap_fixed` arithmetic, the float and fixed-point reference inference, and the frame protocol between
//! host and board firmware.
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod engine;
pub mod fixed;
#[cfg(feature = "alloc")]
pub mod inference;
#[cfg(feature = "alloc")]
pub mod model;
pub mod model_id;
#[cfg(feature = "alloc")]
pub mod normalization;
pub mod protocol;
#[cfg(feature = "alloc")]
pub mod quantized;

#[cfg(feature = "alloc")]
pub use model::{
    Activation, LayerParams, LayerSpec, MAX_TENSOR_VALUES, NetworkError, NetworkSpec, ParamTensor,
    ShapeError,
};
pub use model_id::ModelId;
#[cfg(feature = "alloc")]
pub use model_id::{DataLayout, SampleKind};
#[cfg(feature = "alloc")]
pub use normalization::{
    HEAVY_TAIL_RATIO, Normalization, NormalizationError, NormalizationMethod, heavy_tail_scale,
};

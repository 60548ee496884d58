//! Shared, `no_std` heart of the Baler toolkit: the model description, normalisation and model id, the
//! bit-exact `ap_fixed` arithmetic, the float and fixed-point reference inference, and the frame protocol between
//! host and board firmware.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

pub mod fixed;
pub mod inference;
pub mod model;
pub mod model_id;
pub mod normalization;
pub mod protocol;
pub mod quantized;

pub use model::{
    Activation, LayerParams, LayerSpec, MAX_TENSOR_VALUES, NetworkError, NetworkSpec, ParamTensor,
    ShapeError,
};
pub use model_id::{DataLayout, ModelId, SampleKind};
pub use normalization::{
    HEAVY_TAIL_RATIO, Normalization, NormalizationError, NormalizationMethod, heavy_tail_scale,
};

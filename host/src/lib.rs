//! Baler: lossy compression of scientific data with autoencoders, FPGA-first. The library does all the
//! work (data I/O, models, training, compression, evaluation, plots); the `baler` binary is a thin CLI.

pub mod architecture;
#[cfg(feature = "train")]
pub mod bench;
pub mod codec;
pub mod config;
pub mod container;
pub mod data;
pub mod demo;
pub mod error;
pub mod evaluate;
pub mod firmware;
pub mod fsutil;
pub mod hls;
pub mod int_streams;
pub mod interpolation;
pub mod model;
#[cfg(feature = "train")]
pub mod network;
pub mod pipeline;
pub mod plan;
#[cfg(feature = "train")]
pub mod plot;
pub mod power;
#[cfg(feature = "train")]
pub mod project;
pub mod quantize;
pub mod range_coder;
pub mod runtime;
pub mod suitability;
#[cfg(feature = "train")]
pub mod train;
pub mod workflow;

pub use error::{Error, Result};

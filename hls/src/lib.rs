//! The HLS generator: a quantised network becomes a typed hardware design ([`HlsDesign`]), which is written
//! as a self-contained Vitis/Vivado HLS project, estimated before synthesis, and C-simulated with g++.

pub mod cpp;
pub mod csim;
pub mod design;
pub mod error;
pub mod estimate;
mod firmware;
mod layers;
mod partitions;
pub mod project;
pub mod rtl;
mod scripts;
mod testbench;
mod tops;
mod types;

pub use csim::{CsimOptions, CsimReport, ap_types_dir, run_csim};
pub use design::{HlsConfig, HlsDesign, IoType, Strategy};
pub use error::HlsError;
pub use estimate::{DesignEstimate, estimate};
pub use project::{HlsProject, KernelDescription, TestFrames, write_project};
pub use scripts::default_ap_types_dir;

//! The host crate's integration tests, as one test binary: every file links the whole stack (burn, wgpu, the
//! codecs), and one link instead of fifteen saves minutes of the test command.

mod common;

mod bench_cli;
mod chunked_files;
mod cli;
mod conv_against_burn;
mod crafted_files;
mod error_bounded;
mod firmware_qemu;
#[cfg(feature = "wgpu")]
mod gpu_device;
mod hls_cli;
mod model_ids;
mod power_meters;
mod quantize_cli;
mod reference_models;
mod rtl_device;
mod serial_device;
mod xrt_standin;

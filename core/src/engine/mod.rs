//! The board firmware's software engine, with no heap: a model image (the quantised encoder and decoder as
//! bytes, [`image`]) and an [`Accelerator`](crate::protocol::Accelerator) that runs it ([`SoftwareEngine`]),
//! bit-exact with the host's fixed-point reference; or the HLS IP core driven through an AXI4-Stream FIFO
//! ([`IpCore`]). The host builds images with [`write_image`].

pub mod image;
pub mod ip_core;
mod software;
#[cfg(feature = "alloc")]
mod write;

pub use image::{Image, ImageError, Network};
pub use ip_core::{Beats, Fifo, IpCore};
pub use software::SoftwareEngine;
#[cfg(feature = "alloc")]
pub use write::write_image;

/// The most values a layer takes or gives.
pub const MAX_VALUES: usize = 1024;

/// The engine's working memory: one frame's values before and after a layer.
#[derive(Clone, Debug)]
pub struct Scratch {
    a: [i128; MAX_VALUES],
    b: [i128; MAX_VALUES],
    narrow: [i32; MAX_VALUES],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            a: [0; MAX_VALUES],
            b: [0; MAX_VALUES],
            narrow: [0; MAX_VALUES],
        }
    }
}

/// Bytes per code of a format on the wire.
pub fn code_bytes(format: crate::fixed::FixedFormat) -> u8 {
    format.width.div_ceil(8) as u8
}

#[cfg(test)]
mod tests;

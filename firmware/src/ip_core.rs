//! The HLS IP core as the accelerator: `baler_core`'s driver over the AXI4-Stream FIFO's registers, memory-mapped
//! at `BALER_IP_FIFO_ADDRESS`.

use crate::uart::Registers;
use baler_core::engine::{Fifo, Image, IpCore};

/// The FIFO's AXI4-Lite registers.
pub struct MmioFifo(Registers);

impl Fifo for MmioFifo {
    fn read(&mut self, offset: u32) -> u32 {
        self.0.read::<u32>(offset as usize)
    }

    fn write(&mut self, offset: u32, value: u32) {
        self.0.write::<u32>(offset as usize, value);
    }
}

/// The engine: the IP core.
pub type Engine = IpCore<'static, MmioFifo>;

/// A number written in decimal or as 0x… hex (checked by build.rs).
fn number(text: &str) -> usize {
    match text.strip_prefix("0x") {
        Some(hex) => usize::from_str_radix(hex, 16).unwrap_or(0),
        None => text.parse().unwrap_or(0),
    }
}

/// The IP core running the image's encoder.
pub fn engine(image: Image<'static>) -> Option<Engine> {
    let fifo = MmioFifo(Registers(number(env!("BALER_IP_FIFO_ADDRESS"))));
    IpCore::new(image, fifo, number(env!("BALER_AXIS_MAX_BITS")))
}

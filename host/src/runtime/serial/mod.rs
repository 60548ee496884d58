//! Boards reached over a serial link (`serial:` devices): the host's protocol client (a window of requests in
//! flight, retries, resynchronisation, board resets) over any byte [`Link`] — a serial port, or a pseudo-terminal
//! with an emulated board paced at the baud rate behind it — and an unpaced emulated board in the process. Emulated boards run the firmware's engine
//! (`baler_core::engine`) on a model image, as the firmware does. The
//! protocol itself is `baler_core::protocol` (docs/protocol.md).

mod client;
mod device;
mod faults;
mod port;
mod pty;
mod qemu;
mod twin;

pub use client::{BoardInfo, Client, ClientOptions, Link, LinkCounters, LinkError};
pub use device::{SerialDevice, SerialSpec};
pub use faults::{FaultCounts, Faults, Injector};
pub use port::PortLink;
pub use pty::PtyBoard;
pub use qemu::QemuBoard;
pub use twin::TwinLink;

#[cfg(test)]
mod tests;

//! Boards reached over a serial link: the host's protocol client (a window of requests in flight, retries,
//! resynchronisation, board resets) over any byte [`Link`], and an emulated board in the process with a faulty link
//! to test it against. The protocol itself is `baler_core::protocol` (docs/protocol.md).

mod client;
mod twin;

pub use client::{BoardInfo, Client, ClientOptions, Link, LinkCounters, LinkError};
pub use twin::{FaultCounts, Faults, SoftwareEngine, TwinLink, code_bytes};

#[cfg(test)]
mod tests;

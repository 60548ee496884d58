//! A serial port (a UART adapter, or a pseudo-terminal) as a [`Link`], through the `serialport` crate.

use super::client::Link;
use serialport::SerialPort;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// How long a write may wait for room in the port's buffer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// An open serial port.
pub struct PortLink {
    port: Box<dyn SerialPort>,
}

impl PortLink {
    /// Opens the port at `path` at `baud` (8 data bits, no parity, one stop bit, no flow control), dropping what
    /// it held before.
    pub fn open(path: &Path, baud: u32) -> serialport::Result<Self> {
        let port = serialport::new(path.to_string_lossy(), baud)
            .timeout(Duration::from_millis(100))
            .open()?;
        port.clear(serialport::ClearBuffer::All)?;
        Ok(PortLink { port })
    }
}

impl Link for PortLink {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        // a write waits while the port's buffer is full (the line drains it at the baud rate); a board that takes
        // nothing for this long has stopped reading
        self.port
            .set_timeout(WRITE_TIMEOUT)
            .map_err(std::io::Error::other)?;
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<usize> {
        self.port
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(std::io::Error::other)?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(0),
            Err(e) => Err(e),
        }
    }
}

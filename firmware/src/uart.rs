//! The byte link to the host: a UART polled by the firmware, one driver per board; and memory-mapped registers.

/// A UART, polled.
pub trait Uart {
    /// The next byte received (waits for it).
    fn read(&mut self) -> u8;
    /// Sends one byte (waits for room).
    fn write(&mut self, byte: u8);

    /// Sends every byte.
    fn write_all(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write(b);
        }
    }
}

/// Text on a UART (`core::fmt::Write`).
pub struct Text<'a, U>(pub &'a mut U);

impl<U: Uart> core::fmt::Write for Text<'_, U> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write_all(s.as_bytes());
        Ok(())
    }
}

/// A block of memory-mapped registers at a fixed address (a UART, the AXI4-Stream FIFO).
pub struct Registers(pub usize);

impl Registers {
    /// Reads the register (a `u8` or `u32`) at byte offset `offset`.
    pub fn read<T: Copy>(&self, offset: usize) -> T {
        // SAFETY: the block is a device of the board (its UART, or the FIFO at the address the build was given),
        // the offsets and widths are its registers', and nothing else in the firmware touches them.
        unsafe { core::ptr::read_volatile((self.0 + offset) as *const T) }
    }

    /// Writes the register (a `u8` or `u32`) at byte offset `offset`.
    pub fn write<T: Copy>(&self, offset: usize, value: T) {
        // SAFETY: as for `read`.
        unsafe { core::ptr::write_volatile((self.0 + offset) as *mut T, value) }
    }
}

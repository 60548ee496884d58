//! QEMU `virt`, riscv32imac: the NS16550A UART at 0x1000_0000 (byte registers: RBR/THR at 0, FCR at 2, LSR at 5).

use crate::uart::{Registers, Uart};

/// The NS16550A.
struct Ns16550a(Registers);

/// Line status: a byte received; room to send.
const DATA_READY: u8 = 1;
const THR_EMPTY: u8 = 1 << 5;

impl Uart for Ns16550a {
    fn read(&mut self) -> u8 {
        while self.0.read::<u8>(5) & DATA_READY == 0 {}
        self.0.read::<u8>(0)
    }

    fn write(&mut self, byte: u8) {
        while self.0.read::<u8>(5) & THR_EMPTY == 0 {}
        self.0.write::<u8>(0, byte);
    }
}

#[riscv_rt::entry]
fn main() -> ! {
    let uart = Ns16550a(Registers(0x1000_0000));
    // FIFOs on and cleared
    uart.0.write::<u8>(2, 0x07);
    crate::serve(&mut { uart })
}

//! QEMU `mps2-an386`, Cortex-M4: the CMSDK APB UART0 at 0x4000_4000 (DATA at 0, STATE at 4: bit 0 TX full, bit 1
//! RX full; CTRL at 8: TX and RX enable; BAUDDIV at 0x10).

use crate::uart::{Registers, Uart};

/// The CMSDK APB UART.
struct CmsdkUart(Registers);

const TX_FULL: u32 = 1;
const RX_FULL: u32 = 1 << 1;

impl Uart for CmsdkUart {
    fn read(&mut self) -> u8 {
        while self.0.read::<u32>(4) & RX_FULL == 0 {}
        self.0.read::<u32>(0) as u8
    }

    fn write(&mut self, byte: u8) {
        while self.0.read::<u32>(4) & TX_FULL != 0 {}
        self.0.write(0, u32::from(byte));
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let uart = CmsdkUart(Registers(0x4000_4000));
    uart.0.write::<u32>(0x10, 16);
    uart.0.write::<u32>(8, 0b11);
    crate::serve(&mut { uart })
}

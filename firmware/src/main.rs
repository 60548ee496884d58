//! The board firmware: at reset it announces itself (a BOOT frame), then answers the host's frames
//! (docs/protocol.md) with `baler_core`'s frame server in front of its software engine, which runs the model image
//! compiled in. No heap; the board's state lives on the stack.
#![no_std]
#![no_main]

mod uart;

#[cfg(target_arch = "arm")]
mod mps2_an386;
#[cfg(target_arch = "riscv32")]
mod qemu_virt;

use baler_core::engine::Image;
use baler_core::protocol::Server;
use core::fmt::Write;
use panic_halt as _;
use uart::Uart;

/// The model image (`BALER_FIRMWARE_IMAGE` at build time).
static MODEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.bin"));

#[cfg(feature = "ip-core")]
mod ip_core;
#[cfg(feature = "ip-core")]
use ip_core::{Engine, engine};

#[cfg(not(feature = "ip-core"))]
type Engine = baler_core::engine::SoftwareEngine<'static>;

/// The software engine, running the image's networks.
#[cfg(not(feature = "ip-core"))]
fn engine(image: Image<'static>) -> Option<Engine> {
    Some(Engine::new(image))
}

/// The board's state: the frame server and the engine with their buffers.
type Board = Server<Engine>;

/// Bytes of the board's state, as compiled for this target: `baler firmware` reads it from the ELF to tell the RAM
/// the firmware needs beyond its data and bss.
#[used]
#[unsafe(no_mangle)]
static BALER_BOARD_STATE_BYTES: u32 = core::mem::size_of::<Board>() as u32;

/// Serves the host over `uart` for ever. An image that does not parse (not one `baler firmware` wrote) is reported
/// on the UART as text, and the board stops.
fn serve(uart: &mut impl Uart) -> ! {
    let engine = match Image::parse(MODEL) {
        Ok(image) => engine(image),
        Err(e) => {
            let _ = writeln!(uart::Text(uart), "baler firmware: bad model image: {e}");
            None
        }
    };
    let Some(engine) = engine else {
        let _ = writeln!(uart::Text(uart), "baler firmware: no network to run");
        #[allow(clippy::empty_loop)]
        loop {}
    };
    let mut board: Board = Server::new(engine);
    board.boot(&mut |bytes| uart.write_all(bytes));
    loop {
        let byte = uart.read();
        board.push(byte, &mut |bytes| uart.write_all(bytes));
    }
}

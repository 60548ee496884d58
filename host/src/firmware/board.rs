//! The boards the firmware builds for: each one's Rust target, memory and how QEMU emulates it.

use std::fmt;
use std::str::FromStr;

/// A board the firmware runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Board {
    /// QEMU `virt` with a riscv32imac hart (the RISC-V MicroBlaze V's instruction set), an NS16550A UART.
    QemuVirt,
    /// QEMU `mps2-an386`: an Arm MPS2 with a Cortex-M4, a CMSDK APB UART.
    Mps2An386,
}

/// A board's memory: code and constants in `flash` (absent where they share the RAM), data, bss and stack in
/// `ram`, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Bytes for code and constants, where they have their own memory.
    pub flash: Option<u64>,
    /// Bytes of RAM.
    pub ram: u64,
}

impl Board {
    /// Every board.
    pub const ALL: [Board; 2] = [Board::QemuVirt, Board::Mps2An386];

    /// Its name (`qemu-virt`, `mps2-an386`).
    pub fn name(self) -> &'static str {
        match self {
            Board::QemuVirt => "qemu-virt",
            Board::Mps2An386 => "mps2-an386",
        }
    }

    /// The Rust target the firmware is built for.
    pub fn target(self) -> &'static str {
        match self {
            Board::QemuVirt => "riscv32imac-unknown-none-elf",
            Board::Mps2An386 => "thumbv7em-none-eabihf",
        }
    }

    /// Its memory, as the firmware's memory map (`firmware/boards/*.x`) gives it.
    pub fn memory(self) -> Memory {
        const MIB: u64 = 1 << 20;
        match self {
            Board::QemuVirt => Memory {
                flash: None,
                ram: 16 * MIB,
            },
            Board::Mps2An386 => Memory {
                flash: Some(4 * MIB),
                ram: 4 * MIB,
            },
        }
    }

    /// The QEMU program and arguments that run an ELF on it, its UART on a pseudo-terminal.
    pub fn qemu(self) -> (&'static str, [&'static str; 4]) {
        match self {
            Board::QemuVirt => ("qemu-system-riscv32", ["-machine", "virt", "-bios", "none"]),
            Board::Mps2An386 => (
                "qemu-system-arm",
                ["-machine", "mps2-an386", "-cpu", "cortex-m4"],
            ),
        }
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Board {
    type Err = String;

    /// `riscv` or `qemu-virt`; `cortex-m` or `mps2-an386`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "riscv" | "qemu-virt" => Ok(Board::QemuVirt),
            "cortex-m" | "mps2-an386" => Ok(Board::Mps2An386),
            _ => Err(format!(
                "unknown board {text:?}: riscv (qemu-virt) or cortex-m (mps2-an386)"
            )),
        }
    }
}

//! Links the firmware for its board (the memory map in `boards/`, the runtime crate's `link.x`) and copies the
//! model image named by `BALER_FIRMWARE_IMAGE` (written by `baler firmware`) to where `main.rs` includes it.

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let memory = match arch.as_str() {
        "riscv32" => "boards/qemu-virt.x",
        "arm" => "boards/mps2-an386.x",
        other => panic!(
            "the firmware builds for riscv32imac-unknown-none-elf or thumbv7em-none-eabihf, not {other}"
        ),
    };
    fs::copy(memory, out.join("memory.x")).expect("copy the memory map");
    println!("cargo:rerun-if-changed={memory}");
    println!("cargo:rustc-link-search={}", out.display());
    if arch == "riscv32" {
        // cortex-m-rt's link.x includes memory.x itself
        println!("cargo:rustc-link-arg=-Tmemory.x");
    }
    println!("cargo:rustc-link-arg=-Tlink.x");

    if env::var_os("CARGO_FEATURE_IP_CORE").is_some() {
        for (name, what) in [
            (
                "BALER_IP_FIFO_ADDRESS",
                "the AXI4-Stream FIFO's base address (hex, 0x…)",
            ),
            (
                "BALER_AXIS_MAX_BITS",
                "the IP core's widest stream beat in bits (its axis_max_bits)",
            ),
        ] {
            println!("cargo:rerun-if-env-changed={name}");
            let value = env::var(name)
                .unwrap_or_else(|_| panic!("the ip-core feature needs {name}: {what}"));
            let digits = value.trim_start_matches("0x");
            let radix = if digits.len() < value.len() { 16 } else { 10 };
            if u32::from_str_radix(digits, radix).is_err() {
                panic!("{name}={value} is not {what}");
            }
        }
    }

    println!("cargo:rerun-if-env-changed=BALER_FIRMWARE_IMAGE");
    let image = env::var("BALER_FIRMWARE_IMAGE").unwrap_or_else(|_| {
        panic!("set BALER_FIRMWARE_IMAGE to a model image (`baler firmware` writes one and builds the firmware)")
    });
    println!("cargo:rerun-if-changed={image}");
    fs::copy(&image, out.join("model.bin"))
        .unwrap_or_else(|e| panic!("BALER_FIRMWARE_IMAGE={image}: {e}"));
}

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

    println!("cargo:rerun-if-env-changed=BALER_FIRMWARE_IMAGE");
    let image = env::var("BALER_FIRMWARE_IMAGE").unwrap_or_else(|_| {
        panic!("set BALER_FIRMWARE_IMAGE to a model image (`baler firmware` writes one and builds the firmware)")
    });
    println!("cargo:rerun-if-changed={image}");
    fs::copy(&image, out.join("model.bin"))
        .unwrap_or_else(|e| panic!("BALER_FIRMWARE_IMAGE={image}: {e}"));
}

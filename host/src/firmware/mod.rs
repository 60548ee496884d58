//! `baler firmware`: the board firmware for a quantised model. Its encoder and (or) decoder become a model image
//! (`baler_core::engine`), the `firmware/` crate is cross-compiled for a board with the image compiled in, and the
//! binary's sizes are set against the board's memory.

mod board;
pub mod elf;

pub use board::{Board, Memory};

use crate::error::{Error, Result};
use crate::fsutil::{create_dir, write_bytes};
use crate::hls::Network;
use crate::model::QuantizedModel;
use baler_core::engine::write_image;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The symbol in which the firmware records the bytes of its state (frame server and engine) as compiled.
const STATE_SYMBOL: &str = "BALER_BOARD_STATE_BYTES";

/// What `baler firmware` builds.
#[derive(Clone, Debug)]
pub struct FirmwareOptions {
    /// The board.
    pub board: Board,
    /// The networks the board runs.
    pub networks: Vec<Network>,
    /// The `firmware/` crate.
    pub source: PathBuf,
    /// The folder for `<board>/`: model.bin, baler-firmware.elf, firmware.json.
    pub out: PathBuf,
    /// Drive the HLS IP core instead of running the software engine.
    pub ip_core: Option<IpCoreOptions>,
}

/// Where the firmware finds the HLS IP core (the encoder).
#[derive(Clone, Copy, Debug)]
pub struct IpCoreOptions {
    /// Base address of the AXI4-Stream FIFO (PG080) in front of it.
    pub fifo_address: u32,
    /// Its widest stream beat in bits: the HLS project's `axis_max_bits` (512 unless changed).
    pub axis_max_bits: usize,
}

/// A firmware built: where it is and what it takes of the board.
#[derive(Clone, Debug, Serialize)]
pub struct FirmwareReport {
    /// The board's name.
    pub board: String,
    /// The Rust target.
    pub target: String,
    /// The networks compiled in.
    pub networks: Vec<String>,
    /// What runs them: "software engine", or "HLS IP core (FIFO at 0x…)".
    pub engine: String,
    /// The firmware binary.
    pub elf: PathBuf,
    /// Bytes of the model image compiled in (part of `text`).
    pub image_bytes: u64,
    /// Section sizes of the binary.
    pub sizes: elf::Sizes,
    /// Bytes of the board's state on the stack (frame server and engine, as compiled), beside data and bss.
    pub state_bytes: u64,
    /// Bytes of flash the firmware needs (text and data), where the board has flash.
    pub flash_needed: Option<u64>,
    /// Bytes of RAM it needs before call frames: data, bss and the state (and text where code runs from RAM).
    pub ram_needed: u64,
    /// The board's memory.
    pub flash: Option<u64>,
    /// The board's RAM.
    pub ram: u64,
    /// The firmware fits the board's memory.
    pub fits: bool,
    /// Seconds cargo took.
    pub build_seconds: f64,
}

impl FirmwareReport {
    /// The report as a short table.
    pub fn table(&self) -> String {
        let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
        let s = self.sizes;
        let mut out = format!(
            "firmware for {} ({}), {} on the {}: text {}, data {}, bss {} (model image {}, board state {})\n",
            self.board,
            self.target,
            self.networks.join(" and "),
            self.engine,
            kib(s.text),
            kib(s.data),
            kib(s.bss),
            kib(self.image_bytes),
            kib(self.state_bytes),
        );
        if let (Some(needed), Some(flash)) = (self.flash_needed, self.flash) {
            out += &format!("flash: {} of {}\n", kib(needed), kib(flash));
        }
        out += &format!(
            "RAM: {} of {} (plus call frames)\n{}\n",
            kib(self.ram_needed),
            kib(self.ram),
            if self.fits {
                "the model fits the board's memory"
            } else {
                "the model does NOT fit the board's memory"
            }
        );
        out
    }
}

/// Makes [`Error::Firmware`]s for `board`.
fn firmware_error(board: Board) -> impl Fn(String) -> Error {
    move |message| Error::Firmware {
        board: board.name(),
        message,
    }
}

/// The `firmware/` crate of this source tree.
pub fn default_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware")
}

/// Builds the firmware for the quantised model in `model_dir`; `progress` hears what happens.
pub fn build_firmware(
    model_dir: &Path,
    options: &FirmwareOptions,
    mut progress: impl FnMut(&str),
) -> Result<FirmwareReport> {
    let board = options.board;
    let fail = firmware_error(board);
    let model = QuantizedModel::load(model_dir)?;
    let has = |n| options.networks.contains(&n);
    if options.ip_core.is_some() && options.networks != [Network::Encoder] {
        return Err(fail(
            "the HLS IP core runs the encoder: build it with --network encoder".into(),
        ));
    }
    let encoder = has(Network::Encoder).then_some(&model.encoder);
    let decoder = has(Network::Decoder).then_some(&model.decoder.network);
    let name = format!("baler-fw {}", board.name());
    let image = write_image(model.decoder.id, &name, encoder, decoder)
        .map_err(|e| fail(format!("{}: {e}", model_dir.display())))?;
    let dir = options.out.join(board.name());
    create_dir(&dir)?;
    let image_path = dir.join("model.bin");
    write_bytes(&image_path, &image)?;
    progress(&format!(
        "building the firmware for {board} ({}) with {} bytes of model image",
        board.target(),
        image.len()
    ));
    let start = Instant::now();
    let (built, bytes) = cargo_build(options, &image_path)?;
    let build_seconds = start.elapsed().as_secs_f64();
    let elf_path = dir.join("baler-firmware.elf");
    write_bytes(&elf_path, &bytes)?;
    let unreadable = || {
        fail(format!(
            "{}: not a 32-bit little-endian ELF",
            built.display()
        ))
    };
    let sizes = elf::sizes(&bytes).ok_or_else(unreadable)?;
    let state_bytes = u64::from(elf::u32_symbol(&bytes, STATE_SYMBOL).ok_or_else(|| {
        fail(format!(
            "{}: the symbol {STATE_SYMBOL} is missing",
            built.display()
        ))
    })?);
    let engine = match options.ip_core {
        Some(ip) => format!("HLS IP core (AXI4-Stream FIFO at {:#x})", ip.fifo_address),
        None => "software engine".into(),
    };
    let memory = board.memory();
    let (flash_needed, ram_needed) = match memory.flash {
        Some(_) => (
            Some(sizes.text + sizes.data),
            sizes.data + sizes.bss + state_bytes,
        ),
        None => (None, sizes.text + sizes.data + sizes.bss + state_bytes),
    };
    let fits =
        ram_needed <= memory.ram && flash_needed.zip(memory.flash).is_none_or(|(n, f)| n <= f);
    let report = FirmwareReport {
        board: board.name().into(),
        target: board.target().into(),
        networks: options.networks.iter().map(|n| n.name().into()).collect(),
        engine,
        elf: elf_path,
        image_bytes: image.len() as u64,
        sizes,
        state_bytes,
        flash_needed,
        ram_needed,
        flash: memory.flash,
        ram: memory.ram,
        fits,
        build_seconds,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| fail(e.to_string()))?;
    write_bytes(&dir.join("firmware.json"), &json)?;
    Ok(report)
}

/// Cross-compiles `firmware/` for the board with the image at `image_path` compiled in; returns the binary's path
/// in the firmware's target folder and its bytes, read before another build can replace it.
fn cargo_build(options: &FirmwareOptions, image_path: &Path) -> Result<(PathBuf, Vec<u8>)> {
    let board = options.board;
    let fail = firmware_error(board);
    let manifest = options.source.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(fail(format!(
            "no firmware crate at {} (point --source at the baler source tree's firmware/)",
            options.source.display()
        )));
    }
    let image_path = std::path::absolute(image_path).map_err(Error::io(image_path))?;
    let target_dir = options.source.join("target");
    create_dir(&target_dir)?;
    // one build at a time per firmware tree: the binary is read before another build replaces it
    let lock_path = target_dir.join(".baler-firmware.lock");
    let lock = std::fs::File::create(&lock_path).map_err(Error::io(&lock_path))?;
    lock.lock().map_err(Error::io(&lock_path))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args([
            "build",
            "--release",
            "--target",
            board.target(),
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env("BALER_FIRMWARE_IMAGE", &image_path);
    if let Some(ip) = options.ip_core {
        command
            .args(["--features", "ip-core"])
            .env("BALER_IP_FIFO_ADDRESS", format!("{:#x}", ip.fifo_address))
            .env("BALER_AXIS_MAX_BITS", ip.axis_max_bits.to_string());
    }
    let output = command
        .output()
        .map_err(|e| fail(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        let log = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = log.lines().rev().take(25).collect();
        let hint = if log.contains("target may not be installed")
            || log.contains("can't find crate for `core`")
        {
            format!("\n(run `rustup target add {}`)", board.target())
        } else {
            String::new()
        };
        return Err(fail(format!(
            "cargo build failed:\n{}{hint}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    let built = target_dir
        .join(board.target())
        .join("release/baler-firmware");
    let bytes = std::fs::read(&built).map_err(Error::io(&built))?;
    drop(lock);
    Ok((built, bytes))
}

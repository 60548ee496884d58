//! The firmware binary on emulated boards: `baler firmware` builds it for QEMU `virt` (riscv32imac) and
//! `mps2-an386` (Cortex-M4) with the jet model compiled in; started in QEMU with its UART on a pseudo-terminal, the
//! board's encoder writes through `serial:` the file that `cpu-fixed` writes, and its decoder restores the same
//! data; built to drive the HLS IP core instead, it compiles for both. A model the firmware's engine cannot run is
//! refused by name.

use crate::common;

use baler::data::npy::encode_floats;
use baler::data::{Dataset, FloatType};
use baler::firmware::Board;
use baler::runtime::serial::QemuBoard;
use common::{fails, ok};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first `rows` rows of the jet table, as a .npy in `dir`.
fn jet_rows(dir: &Path, rows: usize) -> PathBuf {
    let data = Dataset::load(&repo().join("data/hep_jets_dijet.npy"), &[]).unwrap();
    let path = dir.join("jets.npy");
    let bytes = encode_floats(&[rows, 9], FloatType::F32, &data.values[..rows * 9]);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_firmware_on_qemu_encodes_and_decodes_what_cpu_fixed_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let run = |line: &str| ok(dir, &line.split_whitespace().collect::<Vec<_>>());
    let model = repo().join("models/jets-baler-9to5").display().to_string();
    let input = jet_rows(dir, 2000).display().to_string();
    let compress = format!("compress -m {model} -i {input} --fixed --latent-precision codes -o");
    let decompress = format!("decompress -m {model} -i cpu.baler --fixed -o");
    run(&format!("{compress} cpu.baler"));
    run(&format!("{decompress} cpu.npy"));
    let cpu = std::fs::read(dir.join("cpu.baler")).unwrap();
    let restored = std::fs::read(dir.join("cpu.npy")).unwrap();
    for board in Board::ALL {
        let name = board.name();
        let report = run(&format!("firmware -m {model} --target {name} -o fw"));
        assert!(
            report.contains("the model fits the board's memory"),
            "{report}"
        );
        assert!(report.contains("encoder and decoder"), "{report}");
        let elf = dir.join("fw").join(name).join("baler-firmware.elf");
        // the size reader on a cut or damaged binary: an answer or None, never a panic
        let bytes = std::fs::read(&elf).unwrap();
        assert!(baler::firmware::elf::sizes(&bytes).is_some());
        for n in 0..bytes.len() {
            let _ = baler::firmware::elf::u32_symbol(&bytes[..n], "BALER_BOARD_STATE_BYTES");
        }
        for at in (0..bytes.len()).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xFF;
            let _ = baler::firmware::elf::sizes(&damaged);
            let _ = baler::firmware::elf::u32_symbol(&damaged, "BALER_BOARD_STATE_BYTES");
        }
        let qemu = QemuBoard::start(board, &elf).unwrap();
        let device = format!("--device serial:{}", qemu.path().display());
        run(&format!("{compress} {name}.baler {device}"));
        assert_eq!(
            cpu,
            std::fs::read(dir.join(format!("{name}.baler"))).unwrap(),
            "{name}"
        );
        run(&format!("{decompress} {name}.npy {device}"));
        assert_eq!(
            restored,
            std::fs::read(dir.join(format!("{name}.npy"))).unwrap(),
            "{name}"
        );
        drop(qemu);
    }
}

#[test]
fn a_model_the_engine_cannot_run_or_a_wrong_option_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let model = repo().join("models/cfd-conv-r100").display().to_string();
    fails(
        tmp.path(),
        &["firmware", "-m", &model, "-o", "fw"],
        "the firmware engine runs dense layers only",
    );
    assert!(!tmp.path().join("fw/qemu-virt/baler-firmware.elf").exists());
    let model = repo().join("models/jets-baler-9to5").display().to_string();
    fails(
        tmp.path(),
        &[
            "firmware",
            "-m",
            &model,
            "--fifo-address",
            "0x44a00000",
            "-o",
            "fw",
        ],
        "the HLS IP core runs the encoder: build it with --network encoder",
    );
}

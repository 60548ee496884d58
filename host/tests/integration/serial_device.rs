//! `serial:` devices through the binary: the emulated board on a pseudo-terminal (`serial:twin`, the firmware's
//! frame server and software engine, paced at the baud rate) writes the same compressed file as `cpu-fixed` and
//! restores the same data, through a faulty link too; a port that is not there is a clean error.

use crate::common;

use common::{fails, ok};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_emulated_board_writes_and_restores_what_cpu_fixed_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5").display().to_string();
    let input = repo().join("data/hep_jets_dijet.npy").display().to_string();
    let run = |line: &str| ok(dir, &line.split_whitespace().collect::<Vec<_>>());
    let compress = format!(
        "compress -m {model} -i {input} --fixed --latent-precision codes --chunk-rows 5000 -o"
    );
    run(&format!("{compress} cpu.baler"));
    run(&format!(
        "{compress} board.baler --device serial:twin?baud=3000000"
    ));
    run(&format!(
        "{compress} noisy.baler --device serial:twin?baud=3000000&flip=1e-4&drop=1e-4&garbage=1e-4"
    ));
    let cpu = std::fs::read(dir.join("cpu.baler")).unwrap();
    assert_eq!(cpu, std::fs::read(dir.join("board.baler")).unwrap());
    assert_eq!(cpu, std::fs::read(dir.join("noisy.baler")).unwrap());
    // the decoder on the board restores what cpu-fixed restores
    run(&format!(
        "decompress -m {model} -i cpu.baler --fixed -o cpu.npy"
    ));
    run(&format!(
        "decompress -m {model} -i cpu.baler --fixed -o board.npy --device serial:twin?baud=3000000"
    ));
    assert_eq!(
        std::fs::read(dir.join("cpu.npy")).unwrap(),
        std::fs::read(dir.join("board.npy")).unwrap()
    );
}

#[test]
fn a_missing_port_or_a_bad_setting_is_a_clean_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5").display().to_string();
    let input = repo().join("data/hep_jets_dijet.npy").display().to_string();
    let args = |device: &str| {
        [
            "compress", "-m", &model, "-i", &input, "--fixed", "-o", "x.baler", "--device", device,
        ]
        .map(String::from)
    };
    let missing = args("serial:/dev/baler-no-such-port?baud=921600");
    fails(
        dir,
        &missing.each_ref().map(String::as_str),
        "/dev/baler-no-such-port",
    );
    assert!(!dir.join("x.baler").exists());
    let bad = args("serial:twin?baud=12");
    common::refused_usage(dir, &bad.each_ref().map(String::as_str), "at least 300");
}

//! Chunked files through the binary: a file compressed chunk by chunk restores the same values as one compressed
//! whole (plain and error-bounded, table and fields), any range of rows comes back from the chunks that hold it,
//! and a damaged chunked file, a bad range or a NaN deep in a streamed file is refused by name, leaving no output.

mod common;

use baler::data::Dataset;
use common::{fails, ok};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(dir: &Path, name: &str) -> Dataset {
    Dataset::load_keeping_non_finite(&dir.join(name), &[]).unwrap()
}

/// The samples `rows` of `data`.
fn rows_of(data: &Dataset, rows: std::ops::Range<usize>) -> Vec<f64> {
    let n = data.features();
    data.values[rows.start * n..rows.end * n].to_vec()
}

#[test]
fn a_table_in_chunks_restores_what_it_restores_whole_and_any_range_of_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5");
    let (model, input) = (
        model.to_str().unwrap(),
        repo().join("data/hep_jets_dijet.npy"),
    );
    let input = input.to_str().unwrap();
    let original = Dataset::load(Path::new(input), &[]).unwrap();
    assert_eq!(original.rows, 27214);
    for (mode, extra) in [
        ("plain", &[][..]),
        ("bounded", &["--error-bound", "rel:1e-3"][..]),
    ] {
        let whole = format!("{mode}-whole.baler");
        let chunked = format!("{mode}-chunked.baler");
        let mut args = vec!["compress", "-m", model, "-i", input, "-o", &whole];
        args.extend(extra);
        let printed = ok(dir, &args);
        assert!(!printed.contains("chunks"), "{printed}");
        args[6] = &chunked;
        args.extend(["--chunk-rows", "4000"]);
        let printed = ok(dir, &args);
        assert!(printed.contains("written in 7 chunks"), "{printed}");
        for file in [&whole, &chunked] {
            let out = format!("{file}.npy");
            ok(dir, &["decompress", "-m", model, "-i", file, "-o", &out]);
        }
        let (a, b) = (
            load(dir, &format!("{whole}.npy")),
            load(dir, &format!("{chunked}.npy")),
        );
        assert_eq!(a.shape(), original.shape());
        assert_eq!(
            a.values, b.values,
            "{mode}: chunked and whole restore different values"
        );
        if mode == "bounded" {
            for j in 0..9 {
                let column = |d: &Dataset| {
                    d.values
                        .iter()
                        .skip(j)
                        .step_by(9)
                        .copied()
                        .collect::<Vec<f64>>()
                };
                let (x, y) = (column(&original), column(&b));
                let range = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v))
                    - x.iter().fold(f64::INFINITY, |m, &v| m.min(v));
                let worst = x
                    .iter()
                    .zip(&y)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max);
                assert!(
                    worst <= 1e-3 * range,
                    "variable {j}: error {worst} over {}",
                    1e-3 * range
                );
            }
        }
        // a range across chunk borders, one to the end, one within a chunk written as CSV
        for (range, first, end) in [
            ("3990..8010", 3990, 8010),
            ("27000..", 27000, 27214),
            ("..5", 0, 5),
        ] {
            ok(
                dir,
                &[
                    "decompress",
                    "-m",
                    model,
                    "-i",
                    &chunked,
                    "-o",
                    "part.npy",
                    "--rows",
                    range,
                ],
            );
            let part = load(dir, "part.npy");
            assert_eq!(part.rows, end - first);
            assert_eq!(part.values, rows_of(&a, first..end), "{mode} rows {range}");
        }
        ok(
            dir,
            &[
                "decompress",
                "-m",
                model,
                "-i",
                &chunked,
                "-o",
                "part.csv",
                "--rows",
                "100..110",
            ],
        );
        assert_eq!(load(dir, "part.csv").rows, 10);
    }
    let printed = ok(dir, &["info", "bounded-chunked.baler"]);
    assert!(
        printed.contains("7 chunks of 3214 to 4000 rows"),
        "{printed}"
    );

    // ranges that are not ranges of the file: refused, nothing written
    for range in ["5..5", "0..27215", "9..3"] {
        fails(
            dir,
            &[
                "decompress",
                "-m",
                model,
                "-i",
                "plain-chunked.baler",
                "-o",
                "bad.npy",
                "--rows",
                range,
            ],
            "not a range of its 27214 rows",
        );
    }
    assert!(!dir.join("bad.npy").exists());
}

#[test]
fn a_damaged_chunked_file_is_refused_naming_the_chunk_and_the_rest_still_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5");
    let model = model.to_str().unwrap();
    let input = repo().join("data/hep_jets_dijet.npy");
    ok(
        dir,
        &[
            "compress",
            "-m",
            model,
            "-i",
            input.to_str().unwrap(),
            "-o",
            "c.baler",
            "--chunk-rows",
            "4000",
        ],
    );
    let bytes = std::fs::read(dir.join("c.baler")).unwrap();
    // a byte flipped in the middle of the file: inside the chunk of rows 12000..16000
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x40;
    std::fs::write(dir.join("flipped.baler"), &flipped).unwrap();
    fails(
        dir,
        &[
            "decompress",
            "-m",
            model,
            "-i",
            "flipped.baler",
            "-o",
            "out.npy",
        ],
        "(rows 12000..16000)",
    );
    assert!(!dir.join("out.npy").exists());
    // the rows of the other chunks still come back
    ok(
        dir,
        &[
            "decompress",
            "-m",
            model,
            "-i",
            "flipped.baler",
            "-o",
            "first.npy",
            "--rows",
            "0..8000",
        ],
    );
    assert_eq!(load(dir, "first.npy").rows, 8000);
    // cut short, the index is gone; a flipped index entry fails its checksum
    std::fs::write(dir.join("short.baler"), &bytes[..bytes.len() - 5]).unwrap();
    fails(
        dir,
        &[
            "decompress",
            "-m",
            model,
            "-i",
            "short.baler",
            "-o",
            "out.npy",
        ],
        "index trailer is missing",
    );
    let mut index = bytes.clone();
    let at = bytes.len() - 28 - 3;
    index[at] ^= 1;
    std::fs::write(dir.join("index.baler"), &index).unwrap();
    fails(
        dir,
        &["info", "index.baler"],
        "checksum mismatch in the header or index",
    );
    assert!(!dir.join("out.npy").exists());
}

#[test]
fn a_nan_deep_in_a_streamed_file_is_named_by_its_row_in_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5");
    let mut data = Dataset::load(&repo().join("data/hep_jets_dijet.npy"), &[]).unwrap();
    data.values[9001 * 9 + 2] = f64::NAN;
    data.save(&dir.join("nan.npy")).unwrap();
    fails(
        dir,
        &[
            "compress",
            "-m",
            model.to_str().unwrap(),
            "-i",
            "nan.npy",
            "-o",
            "n.baler",
            "--chunk-rows",
            "4000",
        ],
        "row 9001",
    );
    assert!(!dir.join("n.baler").exists());
}

#[test]
fn fields_in_chunks_restore_what_they_restore_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/cfd-conv-r100");
    let model = model.to_str().unwrap();
    let input = repo().join("data/CFD_animation.npz");
    let input = input.to_str().unwrap();
    for (name, chunk) in [("whole", "60"), ("chunked", "7")] {
        let out = format!("{name}.baler");
        let args = [
            "compress",
            "-m",
            model,
            "-i",
            input,
            "-o",
            &out,
            "--error-bound",
            "rel:1e-3",
            "--predictor",
            "autoencoder+lorenzo",
            "--chunk-rows",
            chunk,
        ];
        ok(dir, &args);
        ok(
            dir,
            &[
                "decompress",
                "-m",
                model,
                "-i",
                &out,
                "-o",
                &format!("{name}.npy"),
            ],
        );
    }
    let (a, b) = (load(dir, "whole.npy"), load(dir, "chunked.npy"));
    assert_eq!(a.shape(), vec![60, 50, 50]);
    assert_eq!(a.values, b.values);
    ok(
        dir,
        &[
            "decompress",
            "-m",
            model,
            "-i",
            "chunked.baler",
            "-o",
            "some.npy",
            "--rows",
            "13..15",
        ],
    );
    assert_eq!(load(dir, "some.npy").values, rows_of(&a, 13..15));
}

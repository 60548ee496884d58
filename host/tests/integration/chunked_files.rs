//! Chunked files through the binary: a file compressed chunk by chunk restores the same values as one compressed
//! whole (plain and error-bounded, table and fields), any range of rows comes back from the chunks that hold it,
//! and a damaged chunked file, a bad range or a NaN deep in a streamed file is refused by name, leaving no output.

use crate::common;

use baler::data::Dataset;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `baler` with the words of `line` (paths here have no spaces), which must succeed.
fn ok(dir: &Path, line: &str) -> String {
    common::ok(dir, &line.split_whitespace().collect::<Vec<_>>())
}

/// `baler` with the words of `line`, which must fail cleanly saying `needle`.
fn fails(dir: &Path, line: &str, needle: &str) -> String {
    common::fails(dir, &line.split_whitespace().collect::<Vec<_>>(), needle)
}

fn load(dir: &Path, name: &str) -> Dataset {
    Dataset::load_keeping_non_finite(&dir.join(name), &[]).unwrap()
}

/// The samples `rows` of `data`.
fn rows_of(data: &Dataset, rows: std::ops::Range<usize>) -> Vec<f64> {
    let n = data.features();
    data.values[rows.start * n..rows.end * n].to_vec()
}

/// The largest |restored − original| of variable `j` of a table of `n` variables, and the variable's range.
fn error_and_range(original: &Dataset, restored: &Dataset, j: usize, n: usize) -> (f64, f64) {
    let column = |d: &Dataset| {
        d.values
            .iter()
            .skip(j)
            .step_by(n)
            .copied()
            .collect::<Vec<f64>>()
    };
    let (x, y) = (column(original), column(restored));
    let range = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v))
        - x.iter().fold(f64::INFINITY, |m, &v| m.min(v));
    let worst = x
        .iter()
        .zip(&y)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    (worst, range)
}

#[test]
fn a_table_in_chunks_restores_what_it_restores_whole_and_any_range_of_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5").display().to_string();
    let input = repo().join("data/hep_jets_dijet.npy").display().to_string();
    let original = Dataset::load(Path::new(&input), &[]).unwrap();
    assert_eq!(original.rows, 27214);
    for (mode, extra) in [("plain", ""), ("bounded", "--error-bound rel:1e-3")] {
        let (whole, chunked) = (
            format!("{mode}-whole.baler"),
            format!("{mode}-chunked.baler"),
        );
        let printed = ok(
            dir,
            &format!("compress -m {model} -i {input} -o {whole} {extra}"),
        );
        assert!(!printed.contains("chunks"), "{printed}");
        // a file of one chunk is compressed once: its figures count the data once
        let lossless = baler::evaluate::lossless_bytes(&original, Path::new(&input)).unwrap();
        let lossless_r = format!("lossless zstd -3 makes R {:.2}", 979704.0 / lossless as f64);
        assert!(printed.contains(&lossless_r), "{lossless_r}: {printed}");
        if mode == "bounded" {
            let bytes = |unit: &str| -> u64 {
                let before = printed.split(unit).next().unwrap();
                before.rsplit(' ').next().unwrap().parse().unwrap()
            };
            let file = std::fs::metadata(dir.join(&whole)).unwrap().len();
            assert!(
                bytes(" B latent") + bytes(" B residuals") < file,
                "{file} B: {printed}"
            );
        }
        let printed = ok(
            dir,
            &format!("compress -m {model} -i {input} -o {chunked} {extra} --chunk-rows 4000"),
        );
        assert!(printed.contains("written in 7 chunks"), "{printed}");
        for file in [&whole, &chunked] {
            ok(
                dir,
                &format!("decompress -m {model} -i {file} -o {file}.npy"),
            );
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
                let (worst, range) = error_and_range(&original, &b, j, 9);
                assert!(
                    worst <= 1e-3 * range,
                    "variable {j}: error {worst} over {}",
                    1e-3 * range
                );
            }
        }
        // a range across chunk borders, one to the end, one from the start, and one written as CSV
        for (range, first, end) in [
            ("3990..8010", 3990, 8010),
            ("27000..", 27000, 27214),
            ("..5", 0, 5),
        ] {
            ok(
                dir,
                &format!("decompress -m {model} -i {chunked} -o part.npy --rows {range}"),
            );
            let part = load(dir, "part.npy");
            assert_eq!(part.values, rows_of(&a, first..end), "{mode} rows {range}");
        }
        ok(
            dir,
            &format!("decompress -m {model} -i {chunked} -o part.csv --rows 100..110"),
        );
        // CSV holds the f32 values' shortest decimals
        let as_f32 = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect::<Vec<_>>();
        assert_eq!(
            as_f32(load(dir, "part.csv").values),
            as_f32(rows_of(&a, 100..110))
        );
    }
    let printed = ok(dir, "info bounded-chunked.baler");
    assert!(
        printed.contains("7 chunks of 3214 to 4000 rows"),
        "{printed}"
    );

    // ranges that are not ranges of the file: refused, nothing written
    for range in ["5..5", "0..27215", "9..3"] {
        let line =
            format!("decompress -m {model} -i plain-chunked.baler -o bad.npy --rows {range}");
        fails(dir, &line, "not a range of its 27214 rows");
    }
    assert!(!dir.join("bad.npy").exists());
}

#[test]
fn a_damaged_chunked_file_is_refused_naming_the_chunk_and_the_rest_still_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5").display().to_string();
    let input = repo().join("data/hep_jets_dijet.npy").display().to_string();
    ok(
        dir,
        &format!("compress -m {model} -i {input} -o c.baler --chunk-rows 4000"),
    );
    let bytes = std::fs::read(dir.join("c.baler")).unwrap();
    // a byte flipped in the middle of the file: inside the chunk of rows 12000..16000
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x40;
    std::fs::write(dir.join("flipped.baler"), &flipped).unwrap();
    let restore = |file: &str| format!("decompress -m {model} -i {file} -o out.npy");
    fails(dir, &restore("flipped.baler"), "(rows 12000..16000)");
    assert!(!dir.join("out.npy").exists());
    // the rows of the other chunks still come back
    ok(dir, &format!("{} --rows 0..8000", restore("flipped.baler")));
    assert_eq!(load(dir, "out.npy").rows, 8000);
    std::fs::remove_file(dir.join("out.npy")).unwrap();
    // cut short, the index is gone; a flipped index entry fails its checksum
    std::fs::write(dir.join("short.baler"), &bytes[..bytes.len() - 5]).unwrap();
    fails(dir, &restore("short.baler"), "index trailer is missing");
    let mut index = bytes.clone();
    index[bytes.len() - 28 - 3] ^= 1;
    std::fs::write(dir.join("index.baler"), &index).unwrap();
    fails(
        dir,
        &restore("index.baler"),
        "checksum mismatch in the header or index",
    );
    fails(
        dir,
        "info index.baler",
        "checksum mismatch in the header or index",
    );
    assert!(!dir.join("out.npy").exists());
}

#[test]
fn a_nan_deep_in_a_streamed_file_is_named_by_its_row_in_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5").display().to_string();
    let mut data = Dataset::load(&repo().join("data/hep_jets_dijet.npy"), &[]).unwrap();
    data.values[9001 * 9 + 2] = f64::NAN;
    data.save(&dir.join("nan.npy")).unwrap();
    let line = format!("compress -m {model} -i nan.npy -o n.baler --chunk-rows 4000");
    fails(dir, &line, "row 9001");
    assert!(!dir.join("n.baler").exists());
}

#[test]
fn fields_in_chunks_restore_what_they_restore_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/cfd-conv-r100").display().to_string();
    let input = repo().join("data/CFD_animation.npz").display().to_string();
    for (name, chunk) in [("whole", 60), ("chunked", 7)] {
        let bound = "--error-bound rel:1e-3 --predictor autoencoder+lorenzo";
        ok(
            dir,
            &format!("compress -m {model} -i {input} -o {name}.baler {bound} --chunk-rows {chunk}"),
        );
        ok(
            dir,
            &format!("decompress -m {model} -i {name}.baler -o {name}.npy"),
        );
    }
    let (a, b) = (load(dir, "whole.npy"), load(dir, "chunked.npy"));
    assert_eq!(a.shape(), vec![60, 50, 50]);
    assert_eq!(a.values, b.values);
    ok(
        dir,
        &format!("decompress -m {model} -i chunked.baler -o some.npy --rows 13..15"),
    );
    assert_eq!(load(dir, "some.npy").values, rows_of(&a, 13..15));
    // interpolation runs over each chunk's frames: a range restores as the whole file does, within the bound
    let bound = "--error-bound abs:1e-5 --predictor interpolation";
    ok(
        dir,
        &format!("compress -m {model} -i {input} -o interp.baler {bound} --chunk-rows 7"),
    );
    ok(
        dir,
        &format!("decompress -m {model} -i interp.baler -o interp.npy"),
    );
    ok(
        dir,
        &format!("decompress -m {model} -i interp.baler -o some.npy --rows 13..15"),
    );
    let c = load(dir, "interp.npy");
    assert_eq!(load(dir, "some.npy").values, rows_of(&c, 13..15));
    let original = Dataset::load(Path::new(&input), &[]).unwrap();
    for (v, r) in original.values.iter().zip(&c.values) {
        assert!((v - r).abs() <= 1e-5, "{v} restored as {r}");
    }
}

//! End-to-end tests of the `baler` binary on small generated data: the offline and online workflows,
//! and the errors users get for bad input (non-zero exit, a message naming the culprit, no partial files).

use crate::common;

use baler::data::{DataKind, Dataset, FloatType};
use common::{fails, ok};
use std::path::{Path, PathBuf};

/// Rows of three smooth functions of two hidden factors, plus an integer column.
fn table(rows: usize, seed: u64) -> Dataset {
    let mut values = Vec::with_capacity(rows * 4);
    for i in 0..rows {
        let a = ((i as u64 * 7919 + seed * 104729) % 1000) as f64 / 1000.0;
        let b = ((i as u64 * 6271 + seed * 3571) % 997) as f64 / 997.0;
        values.extend([
            10.0 + 90.0 * a,
            a * b + 1.0,
            (3.0 * b).sin() + 2.0,
            (5.0 * a).round(),
        ]);
    }
    Dataset {
        kind: DataKind::Table,
        names: ["pt", "x", "y", "n"].map(String::from).to_vec(),
        dtype: FloatType::F32,
        rows,
        values,
    }
}

fn fields(frames: usize) -> Dataset {
    let (h, w) = (12, 10);
    let values = (0..frames * h * w)
        .map(|i| {
            let (f, y, x) = (i / (h * w), (i / w) % h, i % w);
            ((x as f64 + f as f64 * 0.3) * 0.5).sin() * (y as f64 * 0.3).cos()
        })
        .collect();
    Dataset {
        kind: DataKind::Fields {
            height: h,
            width: w,
        },
        names: vec![],
        dtype: FloatType::F64,
        rows: frames,
        values,
    }
}

fn project(root: &Path, name: &str, data: &Dataset, file: &str, extra: &[&str]) -> PathBuf {
    let input = root.join(file);
    data.save(&input).unwrap();
    let mut args = vec!["new-project", name, "--input", input.to_str().unwrap()];
    args.extend(extra);
    ok(root, &args);
    let config = root.join(name).join("baler.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("epochs = 500", "epochs = 4");
    std::fs::write(&config, text.replace("batch_size = 512", "batch_size = 64")).unwrap();
    root.join(name)
}

#[test]
fn table_workflow_offline_and_online() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = project(
        root,
        "jets",
        &table(600, 1),
        "train.csv",
        &["--latent", "2"],
    );
    let p = dir.to_str().unwrap();
    ok(root, &["train", "-p", p]);
    for f in [
        "model/encoder.json",
        "model/encoder.safetensors",
        "model/decoder.json",
        "model/decoder.safetensors",
        "training/history.json",
        "training/loss.png",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    // unset, the precision is measured: f32 and f16 (the float model has no codes), the figures printed
    let summary = ok(root, &["compress", "-p", p]);
    assert!(
        summary.contains("latent precision f")
            && summary
                .contains("samples against f32 latents: f32 MSE 1.0000×, size 1.00×; f16 MSE ")
            && !summary.contains("codes MSE"),
        "{summary}"
    );
    let half = ok(
        root,
        &[
            "compress",
            "-p",
            p,
            "--latent-precision",
            "f16",
            "-o",
            "half.baler",
        ],
    );
    assert!(half.contains("latent values each (f16)"), "{half}");
    assert!(ok(root, &["info", "half.baler", "--json"]).contains("\"f16\""));
    let text = ok(root, &["info", "half.baler"]);
    assert!(
        text.contains("latent: 2 values per sample, f16")
            && text.contains("(the decoder's files not counted)"),
        "{text}"
    );
    ok(root, &["decompress", "-p", p]);
    let report = ok(root, &["evaluate", "-p", p]);
    assert!(
        report.contains("R_actual") && report.contains("pt"),
        "{report}"
    );
    assert!(dir.join("output/plots/00_pt.png").is_file());
    assert!(dir.join("output/plots/summary.png").is_file());
    // outside a project: the three files given; R_actual only with the model folder
    let out = root.join("outside");
    let mut outside = vec![
        "evaluate",
        "--original",
        "train.csv",
        "--reconstructed",
        "jets/output/decompressed.csv",
        "--compressed",
        "jets/output/compressed.baler",
        "-o",
        "outside",
    ];
    let report = ok(root, &outside);
    assert!(
        report.contains("R_actual = not reported (no model folder given: -m)"),
        "{report}"
    );
    assert!(out.join("evaluation.json").is_file() && out.join("plots/00_pt.png").is_file());
    outside.extend(["-m", "jets/model"]);
    let report = ok(root, &outside);
    assert!(report.contains("of decoder files)"), "{report}");
    let restored = Dataset::load(&dir.join("output/decompressed.csv"), &[]).unwrap();
    assert_eq!(restored.names, table(1, 1).names);
    assert!(
        restored
            .values
            .iter()
            .skip(3)
            .step_by(4)
            .all(|v| v.fract() == 0.0),
        "integer column rounded"
    );

    // online: new data of the same kind, decompressed with a folder holding only the decoder
    let new_data = root.join("new.npz");
    table(300, 2).save(&new_data).unwrap();
    ok(
        root,
        &[
            "compress",
            "-p",
            p,
            "-i",
            new_data.to_str().unwrap(),
            "-o",
            "new.baler",
        ],
    );
    let decoder_only = root.join("decoder-only");
    std::fs::create_dir(&decoder_only).unwrap();
    for f in ["decoder.json", "decoder.safetensors"] {
        std::fs::copy(dir.join("model").join(f), decoder_only.join(f)).unwrap();
    }
    ok(
        root,
        &[
            "decompress",
            "-m",
            "decoder-only",
            "-i",
            "new.baler",
            "-o",
            "new-restored.npy",
        ],
    );
    let back = Dataset::load(&root.join("new-restored.npy"), &[]).unwrap();
    assert_eq!((back.rows, back.dtype), (300, FloatType::F32));
    let info = ok(root, &["info", "new.baler", "--json"]);
    assert!(info.contains("\"latent_size\": 2"), "{info}");
    assert!(ok(root, &["info", "decoder-only"]).contains("decoder only"));
}

#[test]
fn field_workflow_with_conv_model_and_f16_latent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = project(root, "cfd", &fields(24), "cfd.npz", &["--ratio", "10"]);
    let config = dir.join("baler.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("# latent_precision = \"f16\"", "latent_precision = \"f16\"");
    std::fs::write(&config, text).unwrap();
    let p = dir.to_str().unwrap();
    ok(root, &["train", "-p", p]);
    ok(root, &["compress", "-p", p]);
    let info = ok(
        root,
        &[
            "info",
            dir.join("output/compressed.baler").to_str().unwrap(),
            "--json",
        ],
    );
    assert!(
        info.contains("\"latent_size\": 12") && info.contains("f16"),
        "{info}"
    );
    ok(root, &["decompress", "-p", p]);
    let report = ok(root, &["evaluate", "-p", p]);
    assert!(report.contains("PSNR"), "{report}");
    assert!(dir.join("output/plots/field_0_frame0.png").is_file());
}

#[test]
fn bad_input_fails_cleanly_without_partial_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = project(root, "p", &table(200, 1), "t.npy", &["--latent", "2"]);
    let p = dir.to_str().unwrap();
    ok(root, &["train", "-p", p]);
    ok(root, &["compress", "-p", p]);
    let compressed = dir.join("output/compressed.baler");

    // data with other variables than the model was trained on
    let mut other = table(50, 3);
    other.names[1] = "eta".into();
    other.save(&root.join("other.npz")).unwrap();
    fails(
        root,
        &["compress", "-p", p, "-i", "other.npz", "-o", "x.baler"],
        "cannot encode the data",
    );
    assert!(!root.join("x.baler").exists());

    // a corrupted and a truncated compressed file
    let bytes = std::fs::read(&compressed).unwrap();
    let mut flipped = bytes.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 1;
    std::fs::write(root.join("bad.baler"), &flipped).unwrap();
    fails(
        root,
        &["decompress", "-p", p, "-i", "bad.baler", "-o", "bad.npy"],
        "corrupted",
    );
    std::fs::write(root.join("short.baler"), &bytes[..bytes.len() / 2]).unwrap();
    fails(
        root,
        &["decompress", "-p", p, "-i", "short.baler", "-o", "bad.npy"],
        "short.baler",
    );
    assert!(!root.join("bad.npy").exists());

    // a compressed file from another model
    let dir2 = project(root, "q", &table(200, 5), "t2.npy", &["--latent", "3"]);
    ok(root, &["train", "-p", dir2.to_str().unwrap()]);
    fails(
        root,
        &[
            "decompress",
            "-p",
            dir2.to_str().unwrap(),
            "-i",
            compressed.to_str().unwrap(),
            "-o",
            "wrong.npy",
        ],
        "use the model that compressed it",
    );

    // NaN, truncated .npy, missing file, unwritable output folder
    let mut nan = table(20, 1);
    nan.values[4 * 7 + 2] = f64::NAN;
    nan.save(&root.join("nan.npy")).unwrap();
    fails(
        root,
        &["compress", "-p", p, "-i", "nan.npy", "-o", "n.baler"],
        "variable 'var2' in row 7",
    );
    let npy = std::fs::read(dir.parent().unwrap().join("t.npy")).unwrap();
    std::fs::write(root.join("trunc.npy"), &npy[..npy.len() - 5]).unwrap();
    fails(
        root,
        &["compress", "-p", p, "-i", "trunc.npy", "-o", "n.baler"],
        "truncated",
    );
    fails(
        root,
        &["compress", "-p", p, "-i", "missing.npy", "-o", "n.baler"],
        "missing.npy",
    );
    fails(
        root,
        &[
            "decompress",
            "-p",
            p,
            "-o",
            "/proc/baler-cannot-write-here/out.npy",
        ],
        "baler-cannot-write-here",
    );
    fails(
        root,
        &["train", "-p", "no-such-project"],
        "not a project folder",
    );
    assert!(!root.join("n.baler").exists());
}

#[test]
fn crafted_data_headers_exit_1_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // a ~100-byte file claiming 10^11 variables and no rows: once 10^11 default names (out of memory)
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 100000000000), }\n";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    std::fs::write(root.join("crafted.npy"), &bytes).unwrap();
    fails(
        root,
        &["info", "crafted.npy"],
        "crafted.npy: array 'data': is empty (shape [0, 100000000000])",
    );
    // a header of 4 GiB claimed in an 18-byte file
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend(u32::MAX.to_le_bytes());
    bytes.extend(b"{'descr'");
    std::fs::write(root.join("long.npy"), &bytes).unwrap();
    fails(
        root,
        &["info", "long.npy"],
        "long.npy: array 'data': header of 4294967295 bytes is longer than numpy's limit",
    );
}

#[test]
fn info_prints_text_or_json_and_stops_quietly_when_its_reader_goes_away() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 2,000 variables: more text than a pipe holds
    let wide = Dataset {
        kind: DataKind::Table,
        names: (0..2000).map(|i| format!("v{i}")).collect(),
        dtype: FloatType::F32,
        rows: 3,
        values: (0..6000).map(f64::from).collect(),
    };
    wide.save(&dir.join("wide.npy")).unwrap();
    let text = ok(dir, &["info", "wide.npy"]);
    assert!(
        text.starts_with("table, shape [3, 2000], f32, 24000 bytes"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir, &["info", "wide.npy", "--json"])).unwrap();
    assert_eq!(json["variables"][1999]["max"], 5999.0);
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/cfd-conv-r100");
    let text = ok(dir, &["info", model.to_str().unwrap()]);
    assert!(text.contains("data: fields of 50 × 50, f64"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir, &["info", model.to_str().unwrap(), "--json"])).unwrap();
    assert!(
        json["decoder"]["parameters"].as_u64().unwrap() > 0,
        "{json}"
    );
    // the reader takes one line and goes away: no panic, the process ends by SIGPIPE as other Unix tools do
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_baler"))
        .current_dir(dir)
        .args(["info", "wide.npy"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 40];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
}

/// One 2-D image of `height × width` (wider than high, as a table it would have few rows per variable).
fn image(height: usize, width: usize) -> Dataset {
    let values = (0..height * width)
        .map(|i| 100.0 + ((i % width) as f64 * 0.1).sin() * ((i / width) as f64 * 0.2).cos())
        .collect();
    Dataset {
        kind: DataKind::Table,
        names: (0..width).map(|i| format!("var{i}")).collect(),
        dtype: FloatType::F32,
        rows: height,
        values,
    }
}

#[test]
fn a_single_image_is_one_field_and_every_cost_is_stated_before_and_after() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let input = root.join("terrain.npy");
    image(40, 80).save(&input).unwrap();
    let input = input.to_str().unwrap();
    // a path relative to the project folder, which does not exist yet, or only to the working directory
    ok(root, &["new-project", "rel", "--input", "../terrain.npy"]);
    let text = std::fs::read_to_string(root.join("rel/baler.toml")).unwrap();
    assert!(text.contains("input = \"../terrain.npy\""), "{text}");
    ok(root, &["new-project", "cwd", "--input", "terrain.npy"]);
    let text = std::fs::read_to_string(root.join("cwd/baler.toml")).unwrap();
    assert!(text.contains(&format!("input = \"{input}\"")), "{text}");
    // guessed, with the reason, the model's cost and the warnings before any training
    let created = ok(root, &["new-project", "img", "--input", input]);
    for needle in [
        "as one field (image) of 40 × 80: as a table it would have 80 variables and only 40 rows",
        "model: encoder ",
        "training memory about ",
        "warning: the decoder (",
        "warning: only 1 sample to train on",
        "warning: no sample is held out",
    ] {
        assert!(created.contains(needle), "{needle}:\n{created}");
    }
    let config = root.join("img/baler.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("layout = \"fields\""), "{text}");
    let text = text
        .replace("epochs = 500", "epochs = 3")
        .replace("origin = \"upper\"", "origin = \"lower\"");
    std::fs::write(&config, text).unwrap();
    let trained = ok(root, &["train", "-p", "img"]);
    assert!(
        trained.contains("data: ") && trained.contains("warning: the decoder ("),
        "{trained}"
    );
    // a piped log shows the time left; three epochs on one image still improve at the last (seeded: reproducible)
    assert!(trained.contains("s/epoch, at most 0m"), "{trained}");
    assert!(
        trained.contains("note: the best epoch (3) is among the last of the 3 allowed"),
        "{trained}"
    );
    let compressed = ok(root, &["compress", "-p", "img"]);
    assert!(compressed.contains("1 fields → "), "{compressed}");
    assert!(
        compressed.contains("warning: R_actual ")
            && compressed.contains("is below lossless compression's: zstd -3")
            && compressed.contains("are larger than the data"),
        "{compressed}"
    );
    let restored = ok(root, &["decompress", "-p", "img"]);
    assert!(
        restored.contains("restored 1 fields (f32, shape [1, 40, 80])"),
        "{restored}"
    );
    // the 2-D original is compared as the one field the model restores
    let report = ok(root, &["evaluate", "-p", "img"]);
    assert!(
        report.contains("PSNR") && report.contains("lossless zstd -3: R = "),
        "{report}"
    );
    assert!(report.contains("warning: R_actual "), "{report}");
    assert!(root.join("img/output/plots/field_0_frame0.png").is_file());

    // said otherwise, the same array is a table; a 3-D array cannot be one
    let as_table = ok(
        root,
        &["new-project", "tab", "--input", input, "--layout", "table"],
    );
    assert!(
        as_table.contains("a table of 40 rows × 80 variables (layout = table)"),
        "{as_table}"
    );
    let stack = root.join("stack.npy");
    fields(2).save(&stack).unwrap();
    let stack = stack.to_str().unwrap();
    fails(
        root,
        &["new-project", "st", "--input", stack, "--layout", "table"],
        "cannot be read as a table",
    );
    assert!(!root.join("st").exists());
    // a model trained on a stack refuses a table, in words
    let cfd = project(root, "cfd", &fields(4), "cfd.npy", &["--ratio", "10"]);
    ok(root, &["train", "-p", cfd.to_str().unwrap()]);
    let rows = root.join("rows.csv");
    table(10, 1).save(&rows).unwrap();
    let err = fails(
        root,
        &[
            "compress",
            "-p",
            cfd.to_str().unwrap(),
            "-i",
            rows.to_str().unwrap(),
            "-o",
            "x.baler",
        ],
        "it is a table but the model was trained on fields of 12 × 10",
    );
    assert!(!err.contains("Fields {"), "{err}");
}

#[test]
fn variable_names_come_from_the_command_line_a_file_or_a_sidecar() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut data = table(50, 3);
    data.names = (0..4).map(|i| format!("var{i}")).collect();
    let input = root.join("tracks.npy");
    data.save(&input).unwrap();
    let input = input.to_str().unwrap();
    let names_of = |project: &str| {
        let text = std::fs::read_to_string(root.join(project).join("baler.toml")).unwrap();
        let line = text.lines().find(|l| l.starts_with("names = "));
        line.map(|l| l.split("   #").next().unwrap().to_string())
    };
    ok(
        root,
        &[
            "new-project",
            "given",
            "--input",
            input,
            "--names",
            "pt, eta,phi,q",
        ],
    );
    assert_eq!(
        names_of("given").as_deref(),
        Some(r#"names = ["pt", "eta", "phi", "q"]"#)
    );
    std::fs::write(root.join("list.txt"), "a\nb\n\nc\nd\n").unwrap();
    ok(
        root,
        &[
            "new-project",
            "listed",
            "--input",
            input,
            "--names",
            "@list.txt",
        ],
    );
    assert_eq!(
        names_of("listed").as_deref(),
        Some(r#"names = ["a", "b", "c", "d"]"#)
    );
    std::fs::write(root.join("tracks.names.txt"), "px,py,pz,e\n").unwrap();
    let found = ok(root, &["new-project", "sidecar", "--input", input]);
    assert!(
        found.contains("(names from ") && found.contains("tracks.names.txt"),
        "{found}"
    );
    assert_eq!(
        names_of("sidecar").as_deref(),
        Some(r#"names = ["px", "py", "pz", "e"]"#)
    );
    fails(
        root,
        &["new-project", "short", "--input", input, "--names", "a,b"],
        "2 variable names were given but the data has 4 variables",
    );
    assert!(!root.join("short").exists());
    // a file's own names win over a sidecar; a sidecar of the wrong length is named
    let csv = root.join("tracks.csv");
    let mut named = data.clone();
    named.names = ["a", "b", "c", "d"].map(String::from).to_vec();
    named.save(&csv).unwrap();
    std::fs::write(root.join("tracks.names.txt"), "px,py\n").unwrap();
    let own = ok(
        root,
        &["new-project", "own", "--input", csv.to_str().unwrap()],
    );
    assert!(!own.contains("names from"), "{own}");
    assert_eq!(names_of("own"), None);
    fails(
        root,
        &["new-project", "side2", "--input", input],
        "tracks.names.txt: 2 names for the 4 variables",
    );
    assert!(!root.join("side2").exists());
}

#[test]
fn a_wide_table_gets_a_summary_page_and_pages_for_its_worst_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (rows, columns) = (120, 143);
    let values = (0..rows * columns)
        .map(|i| {
            let (r, c) = ((i / columns) as f64, (i % columns) as f64);
            (c + 1.0) * ((r * 0.37 + c).sin() + 2.0)
        })
        .collect();
    let wide = Dataset {
        kind: DataKind::Table,
        names: (0..columns).map(|c| format!("v{c}")).collect(),
        dtype: FloatType::F32,
        rows,
        values,
    };
    let dir = project(root, "wide", &wide, "wide.csv", &[]);
    let config = dir.join("baler.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("variable_pages = 8", "variable_pages = 3"),
    )
    .unwrap();
    let p = dir.to_str().unwrap();
    for verb in ["train", "compress", "decompress"] {
        ok(root, &[verb, "-p", p]);
    }
    let report = ok(root, &["evaluate", "-p", p]);
    assert!(
        report.contains("resp. ±68%") && report.contains("median|resp|"),
        "{report}"
    );
    let mut pages: Vec<String> = std::fs::read_dir(dir.join("output/plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    // the summary and three variables' pages, numbered with three digits so that they sort past 99
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert!(pages.contains(&"summary.png".to_string()), "{pages:?}");
    assert!(
        pages
            .iter()
            .filter(|p| *p != "summary.png")
            .all(|p| p.len() > 4 && p[..3].bytes().all(|b| b.is_ascii_digit()) && &p[3..5] == "_v"),
        "{pages:?}"
    );
}

#[test]
fn heavy_tailed_variables_are_normalised_through_asinh_and_the_choice_is_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // pt falls like a power law over four decades; eta is bounded and signed
    let rows = 400;
    let values = (0..rows)
        .flat_map(|i| {
            let u = (i as f64 * 0.618).fract() + 1e-3;
            [0.2 / u.powf(1.5), ((i % 50) as f64 - 25.0) / 10.0]
        })
        .collect();
    let tracks = Dataset {
        kind: DataKind::Table,
        names: vec!["pt".into(), "eta".into()],
        dtype: FloatType::F32,
        rows,
        values,
    };
    let dir = project(root, "tracks", &tracks, "tracks.csv", &["--latent", "1"]);
    let p = dir.to_str().unwrap();
    let trained = ok(root, &["train", "-p", p]);
    assert!(
        trained.contains("normalisation: asinh(x / median) before the affine map for pt ("),
        "{trained}"
    );
    let decoder = std::fs::read_to_string(dir.join("model/decoder.json")).unwrap();
    assert!(decoder.contains("asinh_scale"), "{decoder}");
    for verb in ["compress", "decompress", "evaluate"] {
        ok(root, &[verb, "-p", p]);
    }
    // told otherwise: none, or a variable that does not exist
    let config = dir.join("baler.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("asinh = \"auto\"", "asinh = \"none\""),
    )
    .unwrap();
    assert!(ok(root, &["train", "-p", p]).contains("normalisation: affine only"));
    std::fs::write(
        &config,
        text.replace("asinh = \"auto\"", "asinh = [\"phi\"]"),
    )
    .unwrap();
    fails(
        root,
        &["train", "-p", p],
        "training.asinh names 'phi', which is not a variable",
    );
}

/// The README's first command, `cargo run -- demo` at the repository root, has one program to run: `baler` (the
/// benches' programs are not among the workspace's default members).
#[test]
fn cargo_run_at_the_root_has_one_program_to_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let defaults = metadata["workspace_default_members"].as_array().unwrap();
    let programs: Vec<&str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| defaults.contains(&p["id"]))
        .flat_map(|p| p["targets"].as_array().unwrap())
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(programs, ["baler"]);
}

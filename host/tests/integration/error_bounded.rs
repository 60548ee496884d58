//! Error-bounded mode through the binary: every restored value within its bound on the shipped table and field,
//! with NaN, ±Inf, denormals, a constant variable and a huge-range variable in the data; and the refusals.

use crate::common;

use baler::data::{DataKind, Dataset};
use common::{fails, ok, refused_usage};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Asserts that every value of `restored` is within `bound(variable, value)` of `original` (NaN for NaN, an
/// infinity exactly).
fn assert_within(original: &Dataset, restored: &Dataset, bound: impl Fn(usize, f64) -> f64) {
    assert_eq!(original.shape(), restored.shape());
    let n = match original.kind {
        DataKind::Table => original.features(),
        DataKind::Fields { .. } => 1,
    };
    for (i, (&v, &r)) in original.values.iter().zip(&restored.values).enumerate() {
        let held = if v.is_nan() {
            r.is_nan()
        } else if v.is_infinite() {
            r == v
        } else {
            (r - v).abs() <= bound(i % n, v)
        };
        assert!(
            held,
            "value {i}: {v} restored as {r}, bound {}",
            bound(i % n, v)
        );
    }
}

#[test]
fn every_value_keeps_to_its_bound_on_the_jet_table_with_special_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/jets-baler-9to5");
    let model = model.to_str().unwrap();
    let mut data = Dataset::load(&repo().join("data/hep_jets_dijet.npy"), &[]).unwrap();
    // 3,000 rows, with NaN, ±Inf and an f32 denormal in pt, a constant eta, and a phi of 1e12–4e16
    data.rows = 3000;
    data.values.truncate(3000 * 9);
    let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-40];
    for (k, special) in specials.iter().enumerate() {
        data.values[(17 + 100 * k) * 9] = f64::from(*special);
    }
    for r in 0..3000 {
        data.values[r * 9 + 1] = 0.5;
        data.values[r * 9 + 2] = f64::from((1e12 + (r as f64) * 1.33e13) as f32);
    }
    data.save(&dir.join("jets.npy")).unwrap();
    // compresses with `bounds` (then `extra` arguments), checks the count of values stored exactly when given,
    // and restores
    let compress_with = |bounds: &[&str], extra: &[&str], exact: Option<usize>, out: &str| {
        let mut args = vec!["compress", "-m", model, "-i", "jets.npy", "-o", out];
        for b in bounds {
            args.extend(["--error-bound", b]);
        }
        args.extend(extra);
        let printed = ok(dir, &args);
        assert!(
            printed.contains("error-bounded: every value within its bound"),
            "{printed}"
        );
        if let Some(exact) = exact {
            let count = format!(" {exact} values stored exactly");
            assert!(printed.contains(&count), "{count}: {printed}");
        }
        ok(
            dir,
            &[
                "decompress",
                "-m",
                model,
                "-i",
                out,
                "-o",
                &format!("{out}.npy"),
            ],
        );
        Dataset::load_keeping_non_finite(&dir.join(format!("{out}.npy")), &[]).unwrap()
    };
    let compress = |bounds: &[&str], out: &str| compress_with(bounds, &[], None, out);
    let range = |j: usize| {
        let (lo, hi) = data
            .values
            .iter()
            .skip(j)
            .step_by(9)
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        hi - lo
    };
    for rel in [1e-2, 1e-4] {
        let restored = compress(&[&format!("rel:{rel}")], "rel.baler");
        assert_within(&data, &restored, |j, _| rel * range(j));
    }
    // per-variable bounds over a global one, a point-wise one; integer variables under ½ come back exact
    let restored = compress(
        &["rel:1e-3", "pt=abs:0.5", "mass=pw:1e-3", "jet_id=abs:0"],
        "mixed.baler",
    );
    assert_within(&data, &restored, |j, v| match j {
        0 => 0.5,
        3 => 1e-3 * v.abs(),
        4 => 0.0,
        _ => 1e-3 * range(j),
    });
    let restored = compress(&["pw:1e-4"], "pointwise.baler");
    assert_within(&data, &restored, |_, v| 1e-4 * v.abs());
    // with nothing predicting, a point-wise bound codes each value's magnitude: only NaN and ±Inf stored exactly
    let none = ["--predictor", "none"];
    let restored = compress_with(&["pw:1e-3"], &none, Some(3), "pointwise-none.baler");
    assert_within(&data, &restored, |_, v| 1e-3 * v.abs());
    // a file whose predictor reads no latent is restored without the model, its integer variables too (the file
    // says which they are)
    compress_with(&["rel:1e-3", "jet_id=abs:0"], &none, None, "none.baler");
    ok(dir, &["decompress", "-i", "none.baler", "-o", "alone.npy"]);
    assert_eq!(
        std::fs::read(dir.join("alone.npy")).unwrap(),
        std::fs::read(dir.join("none.baler.npy")).unwrap()
    );
    let alone = Dataset::load_keeping_non_finite(&dir.join("alone.npy"), &[]).unwrap();
    assert_within(
        &data,
        &alone,
        |j, _| if j == 4 { 0.0 } else { 1e-3 * range(j) },
    );
    let autoencoder = ["--predictor", "autoencoder"];
    compress_with(&["rel:1e-2"], &autoencoder, None, "autoencoder.baler");
    let needs = ["decompress", "-i", "autoencoder.baler", "-o", "y.npy"];
    fails(dir, &needs, "needs the model that compressed it (model ");

    // a receiver with only the packed decoder restores the same bytes
    let receiver = dir.join("receiver");
    std::fs::create_dir(&receiver).unwrap();
    let pack = "quantized-decoder.pack";
    std::fs::copy(Path::new(model).join(pack), receiver.join(pack)).unwrap();
    ok(
        dir,
        &[
            "decompress",
            "-m",
            "receiver",
            "-i",
            "mixed.baler",
            "-o",
            "received.npy",
        ],
    );
    assert_eq!(
        std::fs::read(dir.join("received.npy")).unwrap(),
        std::fs::read(dir.join("mixed.baler.npy")).unwrap()
    );

    // the refusals: exit status and message, nothing written
    let compress_x = |extra: &[&'static str]| {
        let mut args = vec!["compress", "-m", model, "-i", "jets.npy", "-o", "x.baler"];
        args.extend(extra);
        args
    };
    fails(
        dir,
        &compress_x(&["--error-bound", "ptt=abs:1"]),
        "no variable 'ptt'",
    );
    let message = "variable 'eta' has no error bound";
    fails(dir, &compress_x(&["--error-bound", "pt=abs:1"]), message);
    let message = "a bound must be a finite number";
    refused_usage(dir, &compress_x(&["--error-bound", "abs:-1"]), message);
    let both = ["--error-bound", "rel:1e-3", "--latent-precision", "f16"];
    refused_usage(dir, &compress_x(&both), "cannot be used with");
    // a model folder without the quantised model says what to run
    let float_only = dir.join("float-only");
    std::fs::create_dir(&float_only).unwrap();
    for f in [
        "decoder.json",
        "decoder.safetensors",
        "encoder.json",
        "encoder.safetensors",
    ] {
        std::fs::copy(Path::new(model).join(f), float_only.join(f)).unwrap();
    }
    let args = [
        "compress",
        "-m",
        "float-only",
        "-i",
        "jets.npy",
        "-o",
        "x.baler",
        "--error-bound",
        "rel:1e-3",
    ];
    fails(dir, &args, "no quantised model here");
    // without error bounds, NaN is refused as before
    fails(dir, &compress_x(&["--fixed"]), "NaN");
    assert!(!dir.join("x.baler").exists());
    fails(
        dir,
        &[
            "decompress",
            "-m",
            model,
            "-i",
            "rel.baler",
            "-o",
            "y.npy",
            "--device",
            "cpu-f32",
        ],
        "restored by the fixed-point decoder",
    );
    assert!(!dir.join("y.npy").exists());
}

#[test]
fn every_value_keeps_to_its_bound_on_the_cfd_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = repo().join("models/cfd-conv-r100");
    let input = repo().join("data/CFD_animation.npz");
    let data = Dataset::load(&input, &[]).unwrap();
    let (lo, hi) = data
        .values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // every predictor, then the default choice: the smallest file (the 60 frames are all in the search's sample)
    let mut sizes = Vec::new();
    let predictors = [
        "autoencoder",
        "autoencoder+lorenzo",
        "autoencoder+interpolation",
        "lorenzo",
        "interpolation",
        "none",
        "",
    ];
    for predictor in predictors {
        let model = model.to_str().unwrap();
        let input = input.to_str().unwrap();
        let mut args = vec![
            "compress",
            "-m",
            model,
            "-i",
            input,
            "-o",
            "f.baler",
            "--error-bound",
            "rel:1e-3",
        ];
        if !predictor.is_empty() {
            args.extend(["--predictor", predictor]);
        }
        let printed = ok(dir, &args);
        let size = std::fs::metadata(dir.join("f.baler")).unwrap().len();
        let chosen = match predictor {
            "" => sizes
                .iter()
                .min_by_key(|(_, size)| *size)
                .map(|(p, _)| *p)
                .unwrap(),
            p => p,
        };
        // the interpolation predictors say how they walked
        let named = match chosen.ends_with("interpolation") {
            true => format!("predictor {chosen} (axes "),
            false => format!("predictor {chosen};"),
        };
        assert!(printed.contains(&named), "{printed}");
        sizes.push((predictor, size));
        ok(
            dir,
            &["decompress", "-m", model, "-i", "f.baler", "-o", "f.npz"],
        );
        let restored = Dataset::load(&dir.join("f.npz"), &[]).unwrap();
        assert_within(&data, &restored, |_, _| 1e-3 * (hi - lo));
        // a predictor that reads no latent needs no model to restore; the others name the model they need
        let without_model = ["decompress", "-i", "f.baler", "-o", "g.npz"];
        if ["lorenzo", "interpolation", "none"].contains(&chosen) {
            ok(dir, &without_model);
            let alone = Dataset::load(&dir.join("g.npz"), &[]).unwrap();
            assert_eq!(alone.values, restored.values, "{chosen}");
        } else {
            fails(dir, &without_model, "needs the model that compressed it");
        }
    }
    let smallest = sizes[..6].iter().map(|(_, size)| *size).min().unwrap();
    assert_eq!(sizes[6].1, smallest, "{sizes:?}");
    // SZ3's predictor with codes coded in context beats 2-D Lorenzo on this smooth field
    assert!(sizes[4].1 < sizes[3].1, "{sizes:?}");
    // evaluate checks the file's promise
    let args = [
        "evaluate",
        "--original",
        input.to_str().unwrap(),
        "--reconstructed",
        "f.npz",
        "--compressed",
        "f.baler",
    ];
    let printed = ok(dir, &args);
    assert!(
        printed.contains("error bounds held on every variable (largest |error| / bound"),
        "{printed}"
    );
    // a table has no local predictor
    let jets = repo().join("models/jets-baler-9to5");
    let table = repo().join("data/hep_jets_dijet.npy");
    let args = [
        "compress",
        "-m",
        jets.to_str().unwrap(),
        "-i",
        table.to_str().unwrap(),
        "-o",
        "t.baler",
        "--error-bound",
        "rel:1e-3",
        "--predictor",
        "lorenzo",
    ];
    fails(dir, &args, "is for fields; a table's rows are independent");
}

#[test]
fn compress_without_a_model_restores_what_the_model_path_restores() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let restored = |file: &str| {
        let out = format!("{file}.npy");
        ok(dir, &["decompress", "-i", file, "-o", &out]);
        std::fs::read(dir.join(out)).unwrap()
    };
    // the jet table, named by a sidecar file: the quantiser alone, the integer variable found in the data
    let mut jets = Dataset::load(&repo().join("data/hep_jets_dijet.npy"), &[]).unwrap();
    jets.rows = 3000;
    jets.values.truncate(3000 * 9);
    jets.save(&dir.join("jets.npy")).unwrap();
    let names = "pt,eta,phi,mass,jet_id,chg_mult,tot_chg,cut_chg,n_trk_stored";
    std::fs::write(dir.join("jets.names.txt"), names).unwrap();
    let bounds = ["--error-bound", "rel:1e-3", "--error-bound", "jet_id=abs:0"];
    let compress = |model: Option<&Path>, input: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["compress", "-i", input, "-o", out];
        let model = model.map(|m| m.to_str().unwrap().to_string());
        if let Some(m) = &model {
            args.extend(["-m", m]);
        }
        args.extend(extra);
        ok(dir, &args)
    };
    let printed = compress(None, "jets.npy", "alone.baler", &bounds);
    assert!(
        printed.contains("; no model") && printed.contains("predictor none;"),
        "{printed}"
    );
    let model = repo().join("models/jets-baler-9to5");
    let with_model = [&bounds[..], &["--predictor", "none"]].concat();
    compress(Some(&model), "jets.npy", "model.baler", &with_model);
    assert_eq!(restored("alone.baler"), restored("model.baler"));
    let alone = Dataset::load(&dir.join("alone.baler.npy"), &[]).unwrap();
    for (i, (v, r)) in jets.values.iter().zip(&alone.values).enumerate() {
        if i % 9 == 4 {
            assert_eq!(v, r, "jet_id of row {}", i / 9);
        }
    }
    let info = ok(dir, &["info", "alone.baler"]);
    assert!(
        info.contains("f32, no model") && info.contains("jet_id"),
        "{info}"
    );
    // the suitability study without a model: baler's modes that need none, checked like the others
    let args = [
        "evaluate",
        "--baselines",
        "--original",
        "jets.npy",
        "--bounds",
        "1e-3",
        "-o",
        "study",
    ];
    let printed = ok(dir, &args);
    assert!(
        printed.contains("baler none (quantiser alone)")
            && !printed.contains("baler autoencoder")
            && printed.contains("the autoencoder was not tried (no model given"),
        "{printed}"
    );
    assert!(dir.join("study/suitability.png").exists());

    // the CFD field: the smaller of Lorenzo and interpolation, the same scheme as with the model; in chunks too
    let input = repo().join("data/CFD_animation.npz");
    let input = input.to_str().unwrap();
    let bound = ["--error-bound", "rel:1e-3"];
    let printed = compress(None, input, "field.baler", &bound);
    assert!(
        printed.contains("predictor interpolation (axes"),
        "{printed}"
    );
    let model = repo().join("models/cfd-conv-r100");
    let interpolation = [&bound[..], &["--predictor", "interpolation"]].concat();
    compress(Some(&model), input, "field-model.baler", &interpolation);
    let chunked = [&bound[..], &["--chunk-rows", "16"]].concat();
    let printed = compress(None, input, "field-chunks.baler", &chunked);
    assert!(printed.contains("written in 4 chunks"), "{printed}");
    assert_eq!(restored("field.baler"), restored("field-model.baler"));
    // each chunk is its own grid: other values, the same bound
    restored("field-chunks.baler");
    let data = Dataset::load(&repo().join("data/CFD_animation.npz"), &[]).unwrap();
    let (lo, hi) = data
        .values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    for file in ["field.baler.npy", "field-chunks.baler.npy"] {
        let restored = Dataset::load(&dir.join(file), &[]).unwrap();
        assert_within(&data, &restored, |_, _| 1e-3 * (hi - lo));
    }

    // a wide 2-D array without names is read as one image (auto), or as a table when asked
    let image = Dataset {
        kind: DataKind::Table,
        names: (0..300).map(|j| format!("var{j}")).collect(),
        dtype: baler::data::FloatType::F32,
        rows: 40,
        values: (0..40 * 300)
            .map(|i| ((i % 300) as f64 * 0.05).sin() + ((i / 300) as f64 * 0.1).cos())
            .collect(),
    };
    image.save(&dir.join("image.npy")).unwrap();
    let printed = compress(None, "image.npy", "image.baler", &bound);
    assert!(
        printed.contains("read image.npy as one field (image) of 40 × 300")
            && printed.contains("predictor interpolation"),
        "{printed}"
    );
    restored("image.baler");
    let one_field = Dataset::load(&dir.join("image.baler.npy"), &[]).unwrap();
    assert_eq!(one_field.shape(), [1, 40, 300]);
    let (lo, hi) = image
        .values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    for (v, r) in image.values.iter().zip(&one_field.values) {
        assert!((r - v).abs() <= 1e-3 * (hi - lo), "{v} restored as {r}");
    }
    let table = [&bound[..], &["--layout", "table"]].concat();
    let printed = compress(None, "image.npy", "image-table.baler", &table);
    assert!(printed.contains("predictor none;"), "{printed}");

    // a project not yet trained: error-bounded compression goes on without a model and says so; plain
    // compression names what to run
    ok(dir, &["new-project", "fresh", "--input", input]);
    let printed = ok(
        dir,
        &["compress", "-p", "fresh", "--error-bound", "rel:1e-3"],
    );
    assert!(
        printed.contains("no quantised model yet: compressing without one")
            && printed.contains("; no model"),
        "{printed}"
    );
    fails(
        dir,
        &["compress", "-p", "fresh"],
        "no model folder here: train a model (`baler train`",
    );

    // without a model: error bounds are needed, and a predictor that reads no latent; nothing is written
    let message = "compressing without a model needs error bounds";
    fails(dir, &["compress", "-i", input, "-o", "x.baler"], message);
    let autoencoder = [&bound[..], &["--predictor", "autoencoder+interpolation"]].concat();
    let args = [
        &["compress", "-i", input, "-o", "x.baler"][..],
        &autoencoder,
    ]
    .concat();
    let message =
        "predictor autoencoder+interpolation reads the latent: it needs a model (-m or -p)";
    fails(dir, &args, message);
    assert!(!dir.join("x.baler").exists());
}

#[test]
fn the_suitability_study_runs_every_method_and_checks_every_value() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut data = Dataset::load(&repo().join("data/hep_jets_dijet.npy"), &[]).unwrap();
    data.rows = 2000;
    data.values.truncate(2000 * 9);
    data.save(&dir.join("jets.npy")).unwrap();
    let model = repo().join("models/jets-baler-9to5");
    let model = model.to_str().unwrap();
    let study = [
        "evaluate",
        "-m",
        model,
        "--original",
        "jets.npy",
        "-o",
        "study",
        "--baselines",
    ];
    let printed = ok(dir, &[&study[..], &["--bounds", "1e-2,1e-3"]].concat());
    let json = std::fs::read(dir.join("study/suitability.json")).unwrap();
    let report: baler::suitability::Study = serde_json::from_slice(&json).unwrap();
    let png = std::fs::read(dir.join("study/suitability.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let mut methods = vec![
        "zstd -3",
        "zstd -19",
        "baler autoencoder",
        "baler none (quantiser alone)",
    ];
    // the optional baselines ran where built, and say why not where not
    for (feature, built, names) in [
        (
            "sz3",
            cfg!(feature = "sz3"),
            &["SZ3", "SZ3 without prediction"][..],
        ),
        ("zfp", cfg!(feature = "zfp"), &["ZFP"][..]),
    ] {
        match built {
            true => methods.extend(names),
            false => assert!(
                printed.contains(&format!("without the feature {feature}")),
                "{printed}"
            ),
        }
    }
    for method in methods {
        let points: Vec<_> = report
            .points
            .iter()
            .filter(|p| p.method == method)
            .collect();
        let expected = if method.starts_with("zstd") { 1 } else { 2 };
        assert_eq!(points.len(), expected, "{method}: {points:?}");
        for p in points {
            // every error-bounded method restored every value within its bound, the lossless ones exactly
            // (ZFP's fixed accuracy is a bound it usually beats, and SZ3's is its promise)
            assert!(p.held(), "{p:?}");
            assert!(
                p.ratio > 1.0 && p.compress_mb_s > 0.0 && p.decompress_mb_s > 0.0,
                "{p:?}"
            );
            let lossless = p.level.is_none();
            assert_eq!(lossless, p.worst_error_over_bound == 0.0, "{p:?}");
        }
    }
    let baler = report.points.iter().find(|p| p.autoencoder).unwrap();
    let decoder =
        std::fs::metadata(repo().join("models/jets-baler-9to5/quantized-decoder.pack")).unwrap();
    assert_eq!(baler.decoder_bytes, decoder.len());
    assert_eq!(report.verdicts.len(), 2);
    assert!(
        printed.contains("at 1e-2 × range: best without the autoencoder"),
        "{printed}"
    );
    // refusals: a bound that is not positive, --bounds without --baselines, a model for other data
    fails(
        dir,
        &[&study[..], &["--bounds", "0"]].concat(),
        "a bound must be a positive number",
    );
    refused_usage(dir, &["evaluate", "--bounds", "1e-3"], "--baselines");
    let cfd = repo().join("models/cfd-conv-r100");
    let wrong = [
        "evaluate",
        "-m",
        cfd.to_str().unwrap(),
        "--original",
        "jets.npy",
        "--baselines",
    ];
    fails(dir, &wrong, "jets.npy");
}

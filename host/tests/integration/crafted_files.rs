//! Crafted compressed files and model files, as an attacker or a damaged disk would give them: each is
//! refused with an error naming the file and the part at fault, quickly, without a panic and without
//! allocating what the file merely claims (measured by a counting allocator).

use crate::common;

use baler::Error;
use baler::container::{
    ChunkWriter, CompressedFile, CompressedSource, MEMORY_BUDGET_ENV, ResidualCodes,
};
use baler::data::{DataKind, Dataset, FloatType};
use baler::model::{DataSignature, Decoder};
use baler::model::{QUANTIZED_DECODER, QuantizedDecoder};
use baler_core::quantized::{QuantizedNetwork, quantized_model_id};
use baler_core::{NetworkSpec, Normalization};
use common::fails;
use serde_json::{Value, json};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Counts the bytes this thread holds and their peak, so that tests running beside it do not disturb it.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn track(grow: usize, shrink: usize) {
    let _ = LIVE.try_with(|live| {
        let now = (live.get() + grow).saturating_sub(shrink);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are plain thread-locals
// without destructors, which allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout goes to the system allocator unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size(), 0);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from the system allocator, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        track(0, layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the new size is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size, layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most bytes this thread held meanwhile beyond what it held before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let result = f();
    (result, PEAK.with(Cell::get) - before)
}

/// A `.baler` file with this header and payload and a valid CRC-32 (layout in docs/format.md).
fn crafted(rows: u64, latent_size: u64, payload: &[u8]) -> Vec<u8> {
    let header = json!({
        "model_id": "00112233445566778899aabbccddeeff",
        "kind": {"kind": "table"},
        "shape": [rows, 1],
        "dtype": "f32",
        "names": ["x"],
        "latent_size": latent_size,
        "latent_precision": "f32",
    });
    CompressedFile::assemble(&serde_json::from_value(header).unwrap(), payload)
}

/// One zstd frame of `n` zero bytes, compressed as a stream.
fn zeros(n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    zstd::stream::copy_encode(std::io::repeat(0).take(n), &mut out, 1).unwrap();
    out
}

#[test]
fn decompression_bombs_are_refused_without_a_big_allocation() {
    const MIB: usize = 1 << 20;
    // ~64 GiB of latent claimed by the header: beyond the budget, refused before any decoding
    let bomb = crafted(1 << 34, 1, &zeros(1 << 30));
    assert!(bomb.len() < 256 << 10, "{} bytes", bomb.len());
    let (result, peak) =
        peak_of(|| CompressedFile::from_bytes_within(&bomb, Path::new("bomb.baler"), 8 << 30));
    assert!(
        matches!(result, Err(Error::OverBudget { .. })),
        "{result:?}"
    );
    assert!(peak < MIB, "{peak} bytes");

    // 1 GiB of zeros behind a header that announces 1 MiB: decoding stops once 1 MiB is exceeded
    let inflating = crafted(1 << 18, 1, &zeros(1 << 30));
    let (result, peak) =
        peak_of(|| CompressedFile::from_bytes_within(&inflating, Path::new("x"), u64::MAX));
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("decodes to more than the 1048576 bytes"),
        "{err}"
    );
    assert!(peak < 2 * MIB, "{peak} bytes");

    // the same frame behind a header that announces 4 bytes: its window is larger than such a payload
    // needs, refused before the decoder allocates it
    let inflating = crafted(1, 1, &zeros(1 << 30));
    let (result, peak) =
        peak_of(|| CompressedFile::from_bytes_within(&inflating, Path::new("x"), u64::MAX));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("payload"), "{err}");
    assert!(peak < MIB, "{peak} bytes");

    // 2 GiB announced within a generous budget, but the payload holds 16 bytes: nothing is reserved for
    // values that never arrive
    let empty = crafted(1 << 27, 4, &zeros(16));
    let (result, peak) =
        peak_of(|| CompressedFile::from_bytes_within(&empty, Path::new("x"), u64::MAX));
    let err = result.unwrap_err().to_string();
    assert!(err.contains("holds 16 bytes"), "{err}");
    assert!(peak < MIB, "{peak} bytes");
}

#[test]
fn baler_info_refuses_a_bomb_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("bomb.baler"), crafted(1 << 34, 1, &zeros(1 << 30))).unwrap();
    let start = std::time::Instant::now();
    let stderr = fails(dir, &["info", "bomb.baler"], "bomb.baler");
    assert!(stderr.contains("memory budget"), "{stderr}");
    assert!(stderr.contains(MEMORY_BUDGET_ENV), "{stderr}");
    assert!(start.elapsed().as_secs() < 20);

    std::fs::write(
        dir.join("inflating.baler"),
        crafted(1 << 18, 1, &zeros(1 << 30)),
    )
    .unwrap();
    fails(
        dir,
        &["info", "inflating.baler"],
        "decodes to more than the 1048576 bytes the header announces",
    );
}

#[test]
fn a_damaged_stream_of_residual_codes_is_refused_as_it_is_restored() {
    // a field compressed by interpolation without a model, its range-coded codes cut short or lengthened and the
    // file's checksum made valid again: the parser keeps the stream, the restore walk finds the damage
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let field = Dataset {
        kind: DataKind::Fields {
            height: 12,
            width: 16,
        },
        names: vec![],
        dtype: FloatType::F32,
        rows: 6,
        values: (0..6 * 12 * 16)
            .map(|i| f64::from(((i % 16) as f32 * 0.3).sin() + (i / 192) as f32 * 0.1))
            .collect(),
    };
    field.save(&dir.join("f.npy")).unwrap();
    let compress = "compress -i f.npy -o f.baler --error-bound rel:1e-3 --predictor interpolation";
    common::ok(dir, &compress.split(' ').collect::<Vec<_>>());
    common::ok(dir, &["decompress", "-i", "f.baler", "-o", "f.npy.out.npy"]);
    let file = CompressedFile::read(&dir.join("f.baler")).unwrap();
    let Some(ResidualCodes::Grid(stream)) = file.residuals.as_ref().map(|r| &r.codes) else {
        panic!("not a grid's codes: {:?}", file.residuals);
    };
    let short = stream[..stream.len() - 1].to_vec();
    let long = [stream.as_slice(), &[0]].concat();
    for (name, stream, message) in [
        ("short", short, "the coded stream is truncated"),
        ("long", long, "bytes after the end of the coded stream"),
    ] {
        let mut damaged = file.clone();
        damaged.residuals.as_mut().unwrap().codes = ResidualCodes::Grid(stream);
        let path = format!("{name}.baler");
        std::fs::write(dir.join(&path), damaged.to_bytes(3)).unwrap();
        let stderr = fails(dir, &["decompress", "-i", &path, "-o", "out.npy"], message);
        assert!(
            stderr.contains(&format!("{path}: not a valid compressed file: residuals")),
            "{stderr}"
        );
        assert!(!dir.join("out.npy").exists());
    }

    // in a chunked file, the damaged chunk is named by its rows and the others still read
    let chunked = format!("{compress} --chunk-rows 2").replace("f.baler", "c.baler");
    common::ok(dir, &chunked.split(' ').collect::<Vec<_>>());
    let mut source = CompressedSource::open(&dir.join("c.baler")).unwrap();
    let out = std::fs::File::create(dir.join("damaged.baler")).unwrap();
    let mut writer = ChunkWriter::new(out, Path::new("damaged.baler"), 6, 2);
    for chunk in source.chunks.clone() {
        let mut file = source.read(chunk).unwrap();
        if chunk.first_row == 2 {
            let Some(ResidualCodes::Grid(stream)) = file.residuals.as_mut().map(|r| &mut r.codes)
            else {
                panic!("not a grid's codes");
            };
            stream.pop();
        }
        writer.push(&file.header, &file.to_bytes(3)).unwrap();
    }
    writer.finish().unwrap();
    let restore = ["decompress", "-i", "damaged.baler", "-o", "out.npy"];
    let stderr = fails(dir, &restore, "the coded stream is truncated");
    assert!(stderr.contains("damaged.baler (rows 2..4)"), "{stderr}");
    assert!(!dir.join("out.npy").exists());
    common::ok(dir, &[&restore[..], &["--rows", "4..6"]].concat());
}

#[test]
fn the_memory_budget_follows_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 1000 rows × 1 latent f32 + 1000 f64 data values: 12,000 bytes
    let mut raw = Vec::new();
    for i in 0..1000u32 {
        raw.extend((i as f32).to_le_bytes());
    }
    std::fs::write(
        dir.join("ok.baler"),
        crafted(1000, 1, &zstd::encode_all(&raw[..], 3).unwrap()),
    )
    .unwrap();
    let info = |budget: &str| {
        Command::new(env!("CARGO_BIN_EXE_baler"))
            .current_dir(dir)
            .env(MEMORY_BUDGET_ENV, budget)
            .args(["info", "ok.baler"])
            .output()
            .unwrap()
    };
    assert!(info("12000").status.success());
    for (budget, needle) in [
        ("11999", "more than the memory budget of 11999 bytes"),
        ("11K", "more than the memory budget of 11264 bytes"),
        ("plenty", "'plenty' is not a byte count"),
    ] {
        let out = info(budget);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(needle), "{budget}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

fn jets() -> PathBuf {
    common::root().join("models/jets-baler-9to5")
}

/// The reference jet decoder with `edit` applied, saved into `dir` with the id its contents hash to (as a
/// crafted file would carry, so that only the checks on load stand in the way).
fn crafted_float_decoder(dir: &Path, edit: fn(&mut Decoder)) {
    let mut d = Decoder::load(&jets()).unwrap();
    edit(&mut d);
    std::fs::create_dir_all(dir).unwrap();
    Decoder::new(d.network, d.params, d.normalization, d.data)
        .save(dir)
        .unwrap();
}

#[test]
fn baler_info_refuses_crafted_model_files_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    type Edit = fn(&mut Decoder);
    let cases: [(&str, Edit, &str); 5] = [
        (
            "no-layers",
            |d| {
                d.network = NetworkSpec {
                    input_shape: vec![],
                    layers: vec![],
                };
                d.params.clear();
            },
            "no-layers/decoder.json: network.input_shape: input_shape []",
        ),
        (
            "empty-normalization",
            |d| {
                d.normalization.offset.clear();
                d.normalization.scale.clear();
            },
            "decoder.json: normalization: normalization.offset has 0 entries, the data needs 9",
        ),
        (
            "short-normalization",
            |d| d.normalization.scale.truncate(2),
            "decoder.json: normalization: normalization.scale has 2 entries, the data needs 9",
        ),
        (
            "short-flags",
            |d| d.data.integer.truncate(1),
            "decoder.json: data.integer: 1 flags for 9 variables",
        ),
        (
            "latent-mismatch",
            |d| d.network.input_shape = vec![6],
            "decoder.json: network.layers[0]: layer 0 cannot take input shape [6]",
        ),
    ];
    for (name, edit, needle) in cases {
        crafted_float_decoder(&root.join(name), edit);
        fails(root, &["info", name], needle);
    }

    // a renamed variable, the id left as it was: the id no longer matches
    let renamed = root.join("renamed");
    crafted_float_decoder(&renamed, |_| {});
    let mut json: Value =
        serde_json::from_slice(&std::fs::read(renamed.join("decoder.json")).unwrap()).unwrap();
    json["data"]["names"][0] = json!("pT");
    std::fs::write(
        renamed.join("decoder.json"),
        serde_json::to_vec(&json).unwrap(),
    )
    .unwrap();
    fails(root, &["info", "renamed"], "does not match the decoder");
}

/// Parses the reference jet model's quantised decoder with `edit` applied; with `stamp`, the file carries
/// the id its edited contents hash to (as a crafted file would).
fn quantized_decoder(edit: fn(&mut Value), stamp: bool) -> Result<QuantizedDecoder, Error> {
    let path = jets().join(QUANTIZED_DECODER);
    let mut json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut json);
    if stamp {
        let part = |name: &str| json[name].clone();
        let network: QuantizedNetwork = serde_json::from_value(part("network")).unwrap();
        let normalization: Normalization = serde_json::from_value(part("normalization")).unwrap();
        let data: DataSignature = serde_json::from_value(part("data")).unwrap();
        let id = quantized_model_id(&network, &normalization, &data.layout());
        json["model_id"] = json!(id.to_string());
    }
    QuantizedDecoder::from_bytes(Path::new("q"), &serde_json::to_vec(&json).unwrap())
}

#[test]
fn crafted_quantized_decoders_are_refused() {
    quantized_decoder(|_| {}, false).unwrap();
    quantized_decoder(|_| {}, true).unwrap();
    let field = |edit: fn(&mut Value)| match quantized_decoder(edit, true) {
        Err(Error::InvalidModel {
            path,
            field,
            message,
        }) => {
            assert_eq!(path, Path::new("q").join(QUANTIZED_DECODER));
            (field, message)
        }
        other => panic!("{other:?}"),
    };
    let (f, m) = field(|v| {
        v["network"]["input_shape"] = json!([]);
        v["network"]["layers"] = json!([]);
    });
    assert_eq!(f, "network");
    assert!(m.contains("input_shape []"), "{m}");
    let (f, m) = field(|v| {
        v["normalization"]["offset"] = json!([]);
        v["normalization"]["scale"] = json!([]);
    });
    assert_eq!(f, "normalization");
    assert!(m.contains("0 entries, the data needs 9"), "{m}");
    let (f, m) = field(|v| v["normalization"]["offset"] = json!([0.0, 1.0]));
    assert_eq!(f, "normalization");
    assert!(m.contains("offset has 2 entries"), "{m}");
    let (f, m) = field(|v| v["network"]["input_shape"] = json!([5, 1, 1]));
    assert_eq!(f, "network");
    assert!(m.contains("layer 0"), "{m}");
    let (f, _) = field(|v| v["data"]["names"] = json!(["pt"]));
    assert_eq!(f, "data.integer");
    let (f, _) = field(|v| v["data"]["kind"] = json!({"kind": "fields", "height": 3, "width": 3}));
    assert_eq!(f, "data.names");

    // edited names or flags, the id left as it was: the id no longer matches
    for edit in [
        (|v: &mut Value| v["data"]["names"][2] = json!("Phi")) as fn(&mut Value),
        |v| v["data"]["integer"][0] = json!(true),
    ] {
        let err = quantized_decoder(edit, false).unwrap_err().to_string();
        assert!(err.contains("edited or damaged"), "{err}");
    }
}

//! `baler hls` on the shipped quantised jet model: projects for both halves whose C simulation agrees with
//! the Rust reference on frames from the data, and clean refusals that leave the previous projects intact.

use crate::common;

use common::{fails, ok};

#[test]
fn hls_writes_and_simulates_encoder_and_decoder() {
    let root = common::root();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hls");
    let model = root.join("models/jets-baler-9to5");
    let data = root.join("data/hep_jets_dijet.npy");
    let (model, data, out_arg) = (
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    // `baler hls -m <model> -i <data> -o <out>` and `extra`
    let hls = |extra: &[&'static str]| {
        let mut args = vec!["hls", "-m", model, "-i", data, "-o", out_arg];
        args.extend_from_slice(extra);
        args
    };
    let text = ok(
        tmp.path(),
        &hls(&[
            "--frames",
            "300",
            "--strategy",
            "resource",
            "--target-ii",
            "10",
            "--io",
            "stream",
            "--csim",
        ]),
    );
    for half in ["encoder", "decoder"] {
        let summary = format!(
            "baler_{half}: 300 frames through the network, the IP core and the kernel: 0 mismatches"
        );
        assert!(text.contains(&summary), "{text}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(half).join("report.json")).unwrap())
                .unwrap();
        assert_eq!(report["test_frames"], 300);
        assert_eq!(
            report["estimate"]["network"]["ii"], 10,
            "reuse factors up to 10"
        );
        assert!(
            out.join(half)
                .join(format!("build/csim/libbaler_{half}.so"))
                .is_file()
        );
    }
    assert!(
        text.contains("total:") && text.contains("IP core (AXI4-Stream): II 10 cycles"),
        "{text}"
    );
    // the project's own `make csim` finds the headers where the test command fetched them
    let make = |extra: &[&str]| {
        std::process::Command::new("make")
            .arg("csim")
            .args(extra)
            .current_dir(out.join("encoder"))
            .env_remove("BALER_AP_TYPES")
            .output()
            .unwrap()
    };
    let run = make(&[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("300 frames") && stdout.contains(": 0 mismatches"),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::remove_file(out.join("encoder/build/csim/baler_encoder_test")).unwrap();
    let run = make(&["AP_TYPES=/nonexistent"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success() && stderr.contains("no ap_fixed.h in '/nonexistent'"),
        "{stderr}"
    );

    // the C-simulated kernel as a device: `compress --fixed` writes the same bytes as on cpu-fixed
    let (rows_path, _) = common::jets_rows(tmp.path(), 2000);
    let rows_arg = rows_path.to_str().unwrap();
    let compressed = |device: &str, file: &str| {
        let path = tmp.path().join(file);
        let args = [
            "compress",
            "-m",
            model,
            "-i",
            rows_arg,
            "-o",
            path.to_str().unwrap(),
            "--fixed",
            "--device",
            device,
        ];
        ok(tmp.path(), &args);
        std::fs::read(path).unwrap()
    };
    let csim = format!("csim:{}", out.join("encoder").display());
    assert_eq!(
        compressed("cpu-fixed", "cpu.baler"),
        compressed(&csim, "csim.baler")
    );
    let decoder_kernel = format!("csim:{}", out.join("decoder").display());
    let args = [
        "compress",
        "-m",
        model,
        "-i",
        rows_arg,
        "-o",
        "x.baler",
        "--fixed",
        "--device",
        &decoder_kernel,
    ];
    fails(tmp.path(), &args, "the kernel was built for model");
    assert!(!tmp.path().join("x.baler").exists());
    // decompression into `out` on `device`
    fn decompress<'a>(
        model: &'a str,
        device: &'a str,
        out: &'a str,
        extra: &[&'a str],
    ) -> Vec<&'a str> {
        let mut args = vec![
            "decompress",
            "-m",
            model,
            "-i",
            "cpu.baler",
            "-o",
            out,
            "--device",
            device,
        ];
        args.extend(extra);
        args
    }
    // decompression runs the decoder kernel, to the same bytes as the fixed-point reference
    let decompressed = |device: &str, name: &str| {
        ok(tmp.path(), &decompress(model, device, name, &["--fixed"]));
        std::fs::read(tmp.path().join(name)).unwrap()
    };
    assert_eq!(
        decompressed("cpu-fixed", "cpu.npy"),
        decompressed(&decoder_kernel, "csim.npy")
    );
    // the encoder kernel and the loopback run no decoder of this model
    let message = "the kernel was built for model";
    fails(
        tmp.path(),
        &decompress(model, &csim, "z.npy", &["--fixed"]),
        message,
    );
    let message = "device loopback runs no decoder";
    fails(
        tmp.path(),
        &decompress(model, "loopback", "z.npy", &[]),
        message,
    );
    assert!(!tmp.path().join("z.npy").exists());
    common::refused_usage(
        tmp.path(),
        &[
            "compress", "-m", model, "-i", rows_arg, "-o", "y.baler", "--fixed", "--device", "fpga",
        ],
        "device fpga: unknown device",
    );
    // a float device for the quantised model, and the other way round: refused by name
    fails(
        tmp.path(),
        &[
            "compress", "-m", model, "-i", rows_arg, "-o", "y.baler", "--fixed", "--device",
            "cpu-f32",
        ],
        "device cpu-f32 runs the float model: drop --fixed",
    );
    fails(
        tmp.path(),
        &[
            "compress", "-m", model, "-i", rows_arg, "-o", "y.baler", "--device", &csim,
        ],
        "runs the quantised model (from `baler quantize`): add --fixed",
    );
    assert!(!tmp.path().join("y.baler").exists());

    // refusals: exit 1, the reason, and the previous projects untouched
    let expected = out.join("encoder/tb_data/expected_codes.txt");
    let before = std::fs::read(&expected).unwrap();
    fails(
        tmp.path(),
        &hls(&["--strategy", "resource", "--reuse-factor", "7"]),
        "encoder: layer 0: reuse factor 7 is not possible for a 9×200 dense layer; legal values: 1, 3, 9, 18,",
    );
    assert_eq!(std::fs::read(&expected).unwrap(), before);
    // reuse factors legal for the encoder but not for the decoder: nothing is written, the encoder included
    let report = out.join("encoder/report.json");
    let report_before = std::fs::read(&report).unwrap();
    fails(
        tmp.path(),
        &hls(&["--strategy", "resource", "--reuse-factor", "3,20,10,250"]),
        "decoder: layer",
    );
    assert_eq!(std::fs::read(&report).unwrap(), report_before);
    fails(tmp.path(), &hls(&["--clock-mhz=-5"]), "clock -5 MHz");
    // an empty pipeline stage is refused by name, writing nothing
    fails(
        tmp.path(),
        &hls(&["--rtl", "--network", "encoder", "--levels-per-stage", "0"]),
        "adder levels per stage must be at least 1",
    );
    assert_eq!(std::fs::read(&report).unwrap(), report_before);
    common::refused_usage(
        tmp.path(),
        &hls(&["--rtl", "--synth", "xc9"]),
        "invalid value 'xc9' for '--synth",
    );
    common::refused_usage(tmp.path(), &hls(&["--verilate"]), "--rtl");

    // the Verilog beside the HLS project, its design in report.json
    let text = ok(
        tmp.path(),
        &hls(&["--network", "encoder", "--frames", "20", "--rtl"]),
    );
    assert!(
        text.contains("baler_encoder_axis: Verilog (rtl/): latency"),
        "{text}"
    );
    let verilog = std::fs::read_to_string(out.join("encoder/rtl/baler_encoder.v")).unwrap();
    for module in [
        "baler_encoder_add",
        "baler_encoder_layer4",
        "baler_encoder_network",
        "baler_encoder_axis",
    ] {
        assert!(verilog.contains(&format!("module {module}")), "{module}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("encoder/report.json")).unwrap()).unwrap();
    let design = &report["rtl"]["design"];
    assert_eq!(design["layers"].as_array().unwrap().len(), 4);
    assert_eq!(design["ii"], 1);
    assert!(report["rtl"]["verilator"].is_null());
    // time-multiplexed: a frame every 250 cycles, the last layer's reuse factor
    ok(
        tmp.path(),
        &hls(&[
            "--network",
            "encoder",
            "--frames",
            "20",
            "--rtl",
            "--strategy",
            "resource",
            "--reuse-factor",
            "3,20,10,250",
        ]),
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("encoder/report.json")).unwrap()).unwrap();
    assert_eq!(report["rtl"]["design"]["ii"], 250);
    assert_eq!(report["rtl"]["design"]["layers"][3]["multipliers"], 1);
    // a model folder with the float model only
    let float_only = tmp.path().join("float-only");
    std::fs::create_dir(&float_only).unwrap();
    for f in [
        "encoder.json",
        "encoder.safetensors",
        "decoder.json",
        "decoder.safetensors",
    ] {
        std::fs::copy(
            root.join("models/jets-baler-9to5").join(f),
            float_only.join(f),
        )
        .unwrap();
    }
    fails(
        tmp.path(),
        &[
            "hls",
            "-m",
            float_only.to_str().unwrap(),
            "-i",
            data,
            "-o",
            out_arg,
        ],
        "no quantised model here; run `baler quantize` first",
    );
}

//! `rtl:<project>`: the Verilog IP core in Verilator as a device. A 4-3-2 network (small enough to verilate in
//! seconds) must give the codes `cpu-fixed` gives, report the cycles the design has, and refuse another model.

use baler::bench::{BenchFrames, BenchOptions, bench_point, table};
use baler::runtime::{CpuFixed, DEVICE_TIMEOUT, Device, DeviceSpec, DeviceStream, open_quantized};
use baler_core::ModelId;
use baler_core::quantized::QuantizedNetwork;
use baler_hls::rtl::{RtlChecks, RtlConfig, build, generate};
use baler_hls::{HlsConfig, HlsDesign, TestFrames, write_project};

/// A 4 → 3 (ReLU) → 2 network in the formats `baler quantize` chooses.
const TINY: &str = r#"{
  "input_shape": [4],
  "input": "ap_fixed<10,2,AP_RND,AP_SAT>",
  "layers": [
    {"spec": {"kind": "dense", "inputs": 4, "outputs": 3, "activation": {"kind": "relu"}},
     "fixed": {"weight": "ap_fixed<8,1,AP_RND,AP_SAT>", "bias": "ap_fixed<8,1,AP_RND,AP_SAT>",
               "accum": "ap_fixed<20,5>", "result": "ap_fixed<10,3,AP_RND,AP_SAT>",
               "activation": "ap_fixed<10,3,AP_RND,AP_SAT>", "reuse_factor": 1,
               "weights": [17, -45, 3, 100, -128, 64, 0, 5, -7, 33, 90, -12],
               "biases": [10, -20, 30]}},
    {"spec": {"kind": "dense", "inputs": 3, "outputs": 2, "activation": {"kind": "linear"}},
     "fixed": {"weight": "ap_fixed<8,1,AP_RND,AP_SAT>", "bias": "ap_fixed<8,1,AP_RND,AP_SAT>",
               "accum": "ap_fixed<20,5>", "result": "ap_fixed<12,4,AP_RND,AP_SAT>", "reuse_factor": 1,
               "weights": [-60, 21, 127, -3, 8, -90],
               "biases": [-5, 44]}}
  ]
}"#;

#[test]
fn the_verilog_core_runs_as_the_rtl_device() {
    let network: QuantizedNetwork = serde_json::from_str(TINY).unwrap();
    network.validate().unwrap();
    let id = ModelId([7; 16]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    let design = HlsDesign::new(
        &network,
        HlsConfig {
            name: "tiny".into(),
            model_id: Some(id.to_string()),
            ..HlsConfig::default()
        },
    )
    .unwrap();
    let values: Vec<f64> = (0..4 * 200)
        .map(|i| ((i * 37 % 101) as f64 / 50.0 - 1.0) * 1.7)
        .collect();
    let frames = TestFrames::from_reference(&network, &values).unwrap();
    let project = write_project(&dir, &design, &frames).unwrap();
    let rtl = generate(&design, &RtlConfig::default()).unwrap();
    let latency = rtl.core_latency as f64;
    let checks = RtlChecks {
        verilate: true,
        ..RtlChecks::default()
    };
    build(&project, rtl, &checks, |_| {}).unwrap();

    let spec: DeviceSpec = format!("rtl:{}", dir.display()).parse().unwrap();
    let device = open_quantized(&spec, &network, id).unwrap();
    assert!(device.info().detail.contains("tiny_axis in Verilator"));
    let expected = CpuFixed::new(network.clone(), &id.to_string())
        .run(&values)
        .unwrap();
    let mut stream = DeviceStream::new(device, 2, DEVICE_TIMEOUT);
    stream.submit(values.clone()).unwrap();
    let (output, timing) = stream.receive_timed().unwrap();
    assert_eq!(output, expected);
    let cycles = timing.cycles.expect("the rtl device counts cycles");
    assert_eq!(cycles.latency_cycles, latency);
    assert_eq!(cycles.cycles_per_frame, Some(1.0));
    assert_eq!(cycles.clock_mhz, 200.0);

    // `baler bench`'s table adds the cycles beside the simulator's frames/s
    let options = BenchOptions {
        devices: vec![spec.clone()],
        batch_sizes: vec![50],
        seconds: 0.05,
        depth: 2,
        rows: 200,
    };
    let bench_frames = BenchFrames {
        values: &values,
        value_bytes: 4,
        multiply_adds: 18,
    };
    let point = bench_point(
        &mut stream,
        &Err("none here".into()),
        &bench_frames,
        50,
        &options,
    )
    .unwrap();
    let text = table(&[point]);
    let line = format!(
        "cycles — rtl:{} batch 50: latency {latency} cycles",
        dir.display()
    );
    assert!(text.contains(&line), "{text}");
    assert!(
        text.contains("1.000 cycles per frame (200.0 M frames/s at 200 MHz)"),
        "{text}"
    );

    // another model's core, and a project without the library, are refused by name
    let e = open_quantized(&spec, &network, ModelId([8; 16]))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("the kernel was built for model"), "{e}");
    std::fs::remove_file(baler_hls::rtl::device_library(&dir)).unwrap();
    let e = open_quantized(&spec, &network, id)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("baler hls --rtl --verilate"), "{e}");
}

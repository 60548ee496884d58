//! The C-simulated kernel as a shared library, loaded at run time the way the host runtime loads it: its
//! description names the buffers' C types, and its `extern "C"` kernel computes the reference codes.

mod common;

use baler_core::Activation;
use baler_hls::{HlsConfig, HlsDesign, TestFrames, run_csim, write_project};
use common::*;

type Kernel = unsafe extern "C" fn(*const i16, *mut i16, u32);
type Description = unsafe extern "C" fn() -> *const std::ffi::c_char;

#[test]
fn the_kernel_library_computes_the_reference_codes() {
    let net = random_network(&[24, 32, 16, 14], &HLS4ML_DEFAULT, Activation::Relu, 1, 9);
    let config = HlsConfig {
        name: "library".into(),
        model_id: Some("0123abcd".into()),
        ..HlsConfig::default()
    };
    let design = HlsDesign::new(&net, config).unwrap();
    let frames = TestFrames::from_reference(&net, &random_frames(24, 500, 4)).unwrap();
    let project = write_project(&project_dir("library"), &design, &frames).unwrap();
    let report = run_csim(&project, &csim_options(true)).unwrap();
    let path = report.library.expect("library built");

    // SAFETY: the library was just built from the generated kernel; the signatures are the ones it declares
    // (ap_fixed<16,6> codes travel as int16_t), and the buffers hold 500 whole frames.
    unsafe {
        let lib = libloading::Library::new(&path).unwrap();
        let describe: libloading::Symbol<Description> =
            lib.get(b"library_kernel_description").unwrap();
        let text = std::ffi::CStr::from_ptr(describe())
            .to_str()
            .unwrap()
            .to_owned();
        let description: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(description["kernel"], "library_kernel");
        assert_eq!(description["model_id"], "0123abcd");
        assert_eq!(
            (
                description["inputs"].as_u64(),
                description["outputs"].as_u64()
            ),
            (Some(24), Some(14))
        );
        assert_eq!(description["input_container"], "int16_t");
        assert_eq!(description["output_container"], "int16_t");

        let kernel: libloading::Symbol<Kernel> = lib.get(b"library_kernel").unwrap();
        let input: Vec<i16> = frames.inputs.iter().map(|&c| c as i16).collect();
        let mut output = vec![0i16; frames.expected.len()];
        kernel(input.as_ptr(), output.as_mut_ptr(), 500);
        let expected: Vec<i16> = frames.expected.iter().map(|&c| c as i16).collect();
        assert_eq!(output, expected);
    }
}

//! A generated HLS project on disk: every file of the design, the test frames with their expected codes, and
//! report.json; written into a temporary folder and renamed, so a failure never leaves half a project.

use crate::design::HlsDesign;
use crate::error::HlsError;
use crate::estimate::{DesignEstimate, estimate};
use crate::firmware;
use crate::testbench::{self, EXPECTED_CODES, INPUT_CODES};
use crate::tops::{self, StreamLayout, kernel_top, stream_layouts};
use crate::types::container;
use crate::{scripts, testbench::testbench};
use baler_core::quantized::QuantizedNetwork;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Frames for the testbench: input codes and the output codes the Rust reference computes from them.
#[derive(Clone, Debug, PartialEq)]
pub struct TestFrames {
    /// Input codes, frame after frame.
    pub inputs: Vec<i64>,
    /// Expected output codes, frame after frame.
    pub expected: Vec<i64>,
}

impl TestFrames {
    /// Converts `values` (normalised inputs, frame after frame) to the network's input codes and runs the
    /// bit-exact reference on them. The network must be valid.
    pub fn from_reference(network: &QuantizedNetwork, values: &[f64]) -> Result<Self, HlsError> {
        let inputs: usize = network.input_shape.iter().product();
        if values.is_empty() || !values.len().is_multiple_of(inputs) {
            return Err(HlsError::Frames(format!(
                "{} values are not whole frames of {inputs}",
                values.len()
            )));
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(HlsError::Frames(format!("input value {bad} is not finite")));
        }
        let runner = network.runner();
        let code = |c: i128| c as i64; // formats of at most 64 bits (checked by the design)
        Ok(TestFrames {
            inputs: values
                .iter()
                .map(|&v| code(network.input.from_f64(v)))
                .collect(),
            expected: values
                .chunks(inputs)
                .flat_map(|row| runner.run(row).into_iter().map(code))
                .collect(),
        })
    }

    /// Number of frames.
    pub fn frames(&self, inputs: usize) -> usize {
        self.inputs.len() / inputs
    }
}

/// What a run-time loader needs to drive the kernel (also in report.json).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct KernelDescription {
    /// The design.
    pub name: String,
    /// The kernel function (`extern "C"`).
    pub kernel: String,
    /// Quantised model id.
    pub model_id: Option<String>,
    /// Input values per frame.
    pub inputs: usize,
    /// Output values per frame.
    pub outputs: usize,
    /// Input format (C++ spelling).
    pub input_format: String,
    /// Output format.
    pub output_format: String,
    /// C type of an input code in the buffer.
    pub input_container: String,
    /// C type of an output code.
    pub output_container: String,
}

impl KernelDescription {
    /// The description of `design`.
    pub fn of(design: &HlsDesign) -> Self {
        KernelDescription {
            name: design.config.name.clone(),
            kernel: kernel_top(design),
            model_id: design.config.model_id.clone(),
            inputs: design.inputs,
            outputs: design.outputs(),
            input_format: design.input.to_string(),
            output_format: design.output().to_string(),
            input_container: container(design.input),
            output_container: container(design.output()),
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    format: &'static str,
    config: &'a crate::HlsConfig,
    kernel: &'a KernelDescription,
    axis_input: StreamLayout,
    axis_output: StreamLayout,
    test_frames: usize,
    estimate: &'a DesignEstimate,
}

/// A project written to disk.
#[derive(Clone, Debug)]
pub struct HlsProject {
    /// Its folder.
    pub dir: PathBuf,
    /// The design's name.
    pub name: String,
    /// The estimate (also in report.json).
    pub estimate: DesignEstimate,
    /// Frames the testbench checks.
    pub frames: usize,
    /// Files written, relative to `dir`.
    pub files: Vec<PathBuf>,
}

/// report.json in a project folder.
pub const REPORT: &str = "report.json";

/// Writes the project of `design` with its test frames into `dir` (replacing a previous project there).
pub fn write_project(
    dir: &Path,
    design: &HlsDesign,
    frames: &TestFrames,
) -> Result<HlsProject, HlsError> {
    let (n_in, n_out) = (design.inputs, design.outputs());
    let count = frames.frames(n_in);
    if count == 0 || frames.inputs.len() != count * n_in || frames.expected.len() != count * n_out {
        return Err(HlsError::Frames(format!(
            "{} input and {} expected codes are not the same number of frames of {n_in} and {n_out} values",
            frames.inputs.len(),
            frames.expected.len()
        )));
    }
    let name = &design.config.name;
    let estimate = estimate(design);
    let frames_in_flight = estimate.network.latency_cycles / estimate.network.ii.max(1) + 4;
    let description = KernelDescription::of(design);
    let (axis_input, axis_output) = stream_layouts(design);
    let report = Report {
        format: "baler-hls-report",
        config: &design.config,
        kernel: &description,
        axis_input,
        axis_output,
        test_frames: count,
        estimate: &estimate,
    };
    let description_json = serde_json::to_string(&description).expect("description serialises");
    let mut files: Vec<(String, String)> = vec![
        ("firmware/baler_fixed.h".into(), firmware::helpers_header()),
        (format!("firmware/{name}.h"), firmware::types_header(design)),
        (
            format!("firmware/{name}.cpp"),
            firmware::network_source(design),
        ),
        (
            format!("firmware/{name}_axis.cpp"),
            tops::ip_source(design, frames_in_flight),
        ),
        (
            format!("firmware/{name}_kernel.cpp"),
            tops::kernel_source(design, &description_json, count),
        ),
        (format!("tb/{name}_test.cpp"), testbench(design)),
        ("csim_models/hls_stream.h".into(), testbench::stream_model()),
        ("csim_models/ap_axi_sdata.h".into(), testbench::axis_model()),
        (
            INPUT_CODES.into(),
            codes_file(
                &frames.inputs,
                n_in,
                &format!("input codes of {}", design.input),
            ),
        ),
        (
            EXPECTED_CODES.into(),
            codes_file(
                &frames.expected,
                n_out,
                &format!("expected output codes of {}", design.output()),
            ),
        ),
        ("run_hls.tcl".into(), scripts::run_hls_tcl(design)),
        ("Makefile".into(), scripts::makefile(design)),
        ("link.cfg".into(), scripts::link_config(design)),
        (
            "README.md".into(),
            scripts::readme(design, &estimate, count),
        ),
        (
            REPORT.into(),
            serde_json::to_string_pretty(&report).expect("report serialises") + "\n",
        ),
    ];
    files.extend(firmware::weight_files(design));
    write_folder(dir, &files)?;
    Ok(HlsProject {
        dir: dir.to_path_buf(),
        name: name.clone(),
        estimate,
        frames: count,
        files: files.into_iter().map(|(p, _)| PathBuf::from(p)).collect(),
    })
}

/// Sets `key` in the project's report.json to `value` (written beside, then renamed over it).
pub(crate) fn record_in_report(
    project: &HlsProject,
    key: &str,
    value: serde_json::Value,
) -> Result<(), HlsError> {
    let path = project.dir.join(REPORT);
    let text = std::fs::read_to_string(&path).map_err(HlsError::io(&path))?;
    let mut report: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| HlsError::Config(format!("{}: {e}", path.display())))?;
    let Some(fields) = report.as_object_mut() else {
        return Err(HlsError::Config(format!(
            "{}: not a report object",
            path.display()
        )));
    };
    fields.insert(key.to_string(), value);
    let staging = project.dir.join(format!(".{REPORT}.writing"));
    let text = serde_json::to_string_pretty(&report).expect("report serialises") + "\n";
    std::fs::write(&staging, text).map_err(HlsError::io(&staging))?;
    std::fs::rename(&staging, &path).map_err(HlsError::io(&path))
}

fn codes_file(codes: &[i64], per_frame: usize, what: &str) -> String {
    let mut text = format!(
        "# {} frames of {per_frame} {what}\n",
        codes.len() / per_frame
    );
    for frame in codes.chunks(per_frame) {
        let line: Vec<String> = frame.iter().map(|c| c.to_string()).collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    text
}

/// Writes `files` into a fresh sibling folder, then swaps it in for `dir`.
pub(crate) fn write_folder(dir: &Path, files: &[(String, String)]) -> Result<(), HlsError> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(HlsError::io(parent))?;
    let leaf = dir
        .file_name()
        .ok_or_else(|| HlsError::Config(format!("{}: not a folder name", dir.display())))?;
    let staging = parent.join(format!(
        ".{}.writing-{}",
        leaf.to_string_lossy(),
        std::process::id()
    ));
    let old = parent.join(format!(
        ".{}.old-{}",
        leaf.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let _ = std::fs::remove_dir_all(&staging);
        for (path, text) in files {
            let path = staging.join(path);
            let folder = path.parent().expect("files live in the project folder");
            std::fs::create_dir_all(folder).map_err(HlsError::io(folder))?;
            std::fs::write(&path, text).map_err(HlsError::io(&path))?;
        }
        if dir.exists() {
            std::fs::rename(dir, &old).map_err(HlsError::io(dir))?;
        }
        std::fs::rename(&staging, dir).map_err(HlsError::io(dir))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if old.exists() && !dir.exists() {
            let _ = std::fs::rename(&old, dir);
        }
    }
    result
}

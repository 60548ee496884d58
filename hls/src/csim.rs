//! C simulation without Xilinx tools: compiles a generated project's testbench with g++ against the real
//! `ap_fixed` headers, runs it (it compares every output code), and builds the kernel as a shared library.

use crate::error::HlsError;
use crate::layers::AP_INT_ROMS;
use crate::project::HlsProject;
use crate::scripts::{GXX_FLAGS, default_ap_types_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// Where the headers are and what to build.
#[derive(Clone, Debug)]
pub struct CsimOptions {
    /// The folder holding `ap_fixed.h` (see [`ap_types_dir`]).
    pub ap_types: PathBuf,
    /// Also build `build/csim/lib<name>.so` with the kernel's `extern "C"` entry points.
    pub shared_library: bool,
    /// Compile the weight ROMs as the `ap_int` codes synthesis reads instead of plain C integers (g++ takes
    /// much longer over large ROMs).
    pub ap_int_roms: bool,
}

/// What a C simulation did. It only exists for a run with no mismatch: a mismatch is an error.
#[derive(Clone, Debug)]
pub struct CsimReport {
    /// Frames compared (through the network, the IP core and the kernel each), as the testbench counted them.
    pub frames: usize,
    /// The testbench's summary line.
    pub summary: String,
    /// Seconds spent in g++ (the testbench and the library are compiled side by side).
    pub compile_seconds: f64,
    /// Seconds the testbench ran.
    pub run_seconds: f64,
    /// The kernel as a shared library, if asked for.
    pub library: Option<PathBuf>,
}

/// The `ap_fixed` headers: `explicit`, else `$BALER_AP_TYPES`, else [`default_ap_types_dir`](crate::default_ap_types_dir).
pub fn ap_types_dir(explicit: Option<&Path>) -> Result<PathBuf, HlsError> {
    let dir = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("BALER_AP_TYPES").map(PathBuf::from))
        .unwrap_or_else(default_ap_types_dir);
    if dir.join("ap_fixed.h").is_file() {
        Ok(dir)
    } else {
        Err(HlsError::Csim(format!(
            "the ap_fixed headers are not in {}: run `bash scripts/fetch_ap_types.sh` in the baler source tree, \
             or point --ap-types or BALER_AP_TYPES at a folder with ap_fixed.h",
            dir.display()
        )))
    }
}

fn gcc(
    dir: &Path,
    ap_types: &Path,
    extra: &[&str],
    sources: &[String],
    out: &Path,
) -> Result<std::process::Child, HlsError> {
    Command::new("g++")
        .current_dir(dir)
        .args(GXX_FLAGS)
        .arg("-isystem")
        .arg(ap_types)
        .args(extra)
        .args(sources)
        .arg("-o")
        .arg(out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| {
            HlsError::Csim(format!(
                "cannot start g++ ({e}); install it (apt-get install g++)"
            ))
        })
}

fn finished(what: &str, child: std::process::Child) -> Result<Output, HlsError> {
    let out = child
        .wait_with_output()
        .map_err(|e| HlsError::Csim(format!("{what}: {e}")))?;
    if !out.status.success() {
        let log = String::from_utf8_lossy(&out.stderr);
        let head: String = log.lines().take(30).collect::<Vec<_>>().join("\n");
        return Err(HlsError::Csim(format!("g++ failed on the {what}:\n{head}")));
    }
    Ok(out)
}

/// Compiles and runs the project's testbench (and the shared library if asked). Fails on a compile error,
/// on any mismatch (with the first mismatches in the message) and on unreadable test data.
pub fn run_csim(project: &HlsProject, options: &CsimOptions) -> Result<CsimReport, HlsError> {
    let name = &project.name;
    // absolute paths: g++ and the testbench run inside the project folder
    let dir = project
        .dir
        .canonicalize()
        .map_err(HlsError::io(&project.dir))?;
    let build = dir.join("build/csim");
    std::fs::create_dir_all(&build).map_err(HlsError::io(&build))?;
    let network = format!("firmware/{name}.cpp");
    let kernel = format!("firmware/{name}_kernel.cpp");
    let testbench = vec![
        format!("tb/{name}_test.cpp"),
        network.clone(),
        format!("firmware/{name}_axis.cpp"),
        kernel.clone(),
    ];
    let exe = build.join(format!("{name}_test"));
    let library = build.join(format!("lib{name}.so"));

    let start = Instant::now();
    let roms = format!("-D{AP_INT_ROMS}");
    let roms = &[roms.as_str()][..usize::from(options.ap_int_roms)];
    let tb_child = gcc(
        &dir,
        &options.ap_types,
        &[&["-O1"], roms].concat(),
        &testbench,
        &exe,
    )?;
    let lib_child = if options.shared_library {
        Some(gcc(
            &dir,
            &options.ap_types,
            &[&["-O2", "-fPIC", "-shared"], roms].concat(),
            &[network, kernel],
            &library,
        )?)
    } else {
        None
    };
    let tb = finished("testbench", tb_child);
    let lib = lib_child.map(|c| finished("shared library", c)).transpose();
    tb?;
    lib?;
    let compile_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let out = Command::new(&exe)
        .current_dir(&dir)
        .arg("tb_data")
        .output()
        .map_err(|e| HlsError::Csim(format!("cannot run {}: {e}", exe.display())))?;
    let run_seconds = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {
            // the frame count is the testbench's own, read from its summary line, not the count we wrote
            let summary = stdout.lines().last().unwrap_or_default().to_string();
            match parse_summary(&summary, name) {
                Some((frames, 0)) => Ok(CsimReport {
                    frames,
                    summary,
                    compile_seconds,
                    run_seconds,
                    library: options.shared_library.then_some(library),
                }),
                _ => Err(HlsError::Csim(format!(
                    "{}: the testbench exited 0 without a summary of zero mismatches: '{summary}'",
                    exe.display()
                ))),
            }
        }
        Some(1) => Err(HlsError::Csim(format!(
            "{}: the C-simulated design differs from the Rust reference:\n{}",
            project.dir.display(),
            stdout.trim_end()
        ))),
        code => Err(HlsError::Csim(format!(
            "{} ended with {}: {}{}",
            exe.display(),
            code.map_or("a signal".to_string(), |c| format!("exit code {c}")),
            stderr.trim_end(),
            stdout.trim_end()
        ))),
    }
}

/// Frames and mismatches from the testbench's last line, "`name`: N frames through …: M mismatches".
fn parse_summary(line: &str, name: &str) -> Option<(usize, u64)> {
    let rest = line.strip_prefix(name)?.strip_prefix(": ")?;
    let (frames, rest) = rest.split_once(' ')?;
    let mismatches = rest.strip_suffix(" mismatches")?.rsplit(' ').next()?;
    Some((frames.parse().ok()?, mismatches.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_summary;

    #[test]
    fn the_summary_line_gives_frames_and_mismatches() {
        let line = "baler_encoder: 300 frames through the network, the IP core and the kernel: 0 mismatches";
        assert_eq!(parse_summary(line, "baler_encoder"), Some((300, 0)));
        let bad = line.replace(": 0 mismatches", ": 4 mismatches");
        assert_eq!(parse_summary(&bad, "baler_encoder"), Some((300, 4)));
        assert_eq!(parse_summary(line, "baler_decoder"), None);
        assert_eq!(parse_summary("", "baler_encoder"), None);
    }
}

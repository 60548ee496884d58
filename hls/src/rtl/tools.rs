//! The open RTL tools on a project's Verilog: Verilator builds and runs the testbench (every output code
//! compared, latency and II counted), yosys `synth_xilinx` maps it to LUTs, carry chains, DSPs and flip-flops.

use super::RtlDesign;
use crate::error::HlsError;
use crate::project::HlsProject;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

/// What the Verilator testbench measured. It only exists for a run with no mismatch.
#[derive(Clone, Debug, Serialize)]
pub struct VerilatorReport {
    /// Frames through the core in each of the three runs.
    pub frames: usize,
    /// Cycles from a frame's last input beat to its first output beat.
    pub latency_cycles: usize,
    /// Cycles per frame when the source and the sink never wait.
    pub ii_cycles: f64,
    /// Under random gaps (70 % valid) and back-pressure (60 % ready): cycles from the first frame's last
    /// output beat to the last frame's, plus one.
    pub pressure_cycles: usize,
    /// The testbench's own summary.
    pub summary: String,
    /// Seconds Verilator and the C++ compiler took.
    pub build_seconds: f64,
    /// Seconds the simulation ran.
    pub run_seconds: f64,
}

/// The error when `tool` (a Debian package of the same name) cannot be started.
fn tool_missing(tool: &'static str) -> impl FnOnce(std::io::Error) -> HlsError {
    move |e| {
        HlsError::Rtl(format!(
            "cannot run {tool} ({e}): install it (Debian: apt-get install {tool}; `bash scripts/test.sh` does)"
        ))
    }
}

fn failure(what: &str, output: &Output) -> HlsError {
    let text = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    HlsError::Rtl(format!("{what} failed ({}):\n{tail}", output.status))
}

/// Builds the project's Verilog and testbench with Verilator (into `build/verilator`) and runs it on the
/// project's test frames.
pub fn verilate(project: &HlsProject, rtl: &RtlDesign) -> Result<VerilatorReport, HlsError> {
    let source = project.dir.join(format!("rtl/{}.v", project.name));
    run_testbench(project, rtl, &[source], "verilator", &[])
}

/// Links the Verilated core with `rtl/<name>_device.cpp` into [`device_library`], reusing the objects
/// [`verilate`] compiled; returns the library's path.
pub fn build_device_library(project: &HlsProject, rtl: &RtlDesign) -> Result<PathBuf, HlsError> {
    let source = project.dir.join(format!("rtl/{}.v", project.name));
    let device = project.dir.join(format!("rtl/{}_device.cpp", project.name));
    let library = ["-o", "librtl_device.so", "-LDFLAGS", "-shared"];
    verilator_build(project, rtl, &[source], &device, "verilator", &library, &[])?;
    Ok(device_library(&project.dir))
}

/// The device library in a project: `build/verilator/librtl_device.so`, which `baler` opens as `rtl:<project>`.
pub fn device_library(project_dir: &std::path::Path) -> PathBuf {
    project_dir.join("build/verilator/librtl_device.so")
}

/// Gate-level check: the netlist yosys wrote for 7 series (LUTs, carry chains, DSP48E1s and flip-flops) built
/// with yosys's cell models and run through the same testbench, so the frames prove synthesis kept the
/// function. (yosys has no simulation model of the UltraScale DSP48E2.)
pub fn verilate_netlist(
    project: &HlsProject,
    rtl: &RtlDesign,
    synth: &SynthReport,
) -> Result<VerilatorReport, HlsError> {
    let Some(netlist) = &synth.netlist else {
        return Err(HlsError::Rtl(format!(
            "no gate-level netlist for family {}: only xc7's can be simulated (yosys models DSP48E1, not DSP48E2)",
            synth.family
        )));
    };
    let cells = yosys_share()?.join("xilinx/cells_sim.v");
    // yosys's cell models are not lint-clean; the netlist is checked by its outputs
    let quiet = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-MULTIDRIVEN"];
    run_testbench(
        project,
        rtl,
        &[project.dir.join(netlist), cells],
        &format!("verilator-{}", synth.family),
        &quiet,
    )
}

/// yosys's data folder: `yosys-config --datdir` (the development package), else `share/yosys` beside the
/// `bin/` that holds `yosys` on the PATH.
fn yosys_share() -> Result<PathBuf, HlsError> {
    if let Ok(out) = Command::new("yosys-config").arg("--datdir").output()
        && out.status.success()
    {
        return Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| dir.join("yosys").is_file())
        .filter_map(|dir| Some(dir.parent()?.join("share/yosys")))
        .find(|share| share.join("xilinx/cells_sim.v").is_file())
        .ok_or_else(|| {
            HlsError::Rtl(
                "yosys's cell models (share/yosys/xilinx/cells_sim.v) are not beside any yosys on the PATH: \
                 install yosys (Debian: apt-get install yosys)"
                    .into(),
            )
        })
}

/// Verilates `sources` with the C++ `main` (testbench or device library) into `build/<build>` and builds it
/// with `output` flags; every object is position-independent, so the testbench and the library share them.
fn verilator_build(
    project: &HlsProject,
    rtl: &RtlDesign,
    sources: &[PathBuf],
    main: &std::path::Path,
    build: &str,
    output: &[&str],
    flags: &[&str],
) -> Result<PathBuf, HlsError> {
    let mdir = project.dir.join("build").join(build);
    std::fs::create_dir_all(&mdir).map_err(HlsError::io(&mdir))?;
    let main = main.canonicalize().map_err(HlsError::io(main))?;
    let built = Command::new("verilator")
        .current_dir(&project.dir)
        .arg("--cc")
        .args(sources)
        .args(["--top-module", &rtl.top, "--exe"])
        .arg(main)
        .args(["--build", "-j", "2", "-CFLAGS", "-O1 -fPIC"])
        .args(output)
        .arg("--Mdir")
        .arg(&mdir)
        .args(flags)
        .output()
        .map_err(tool_missing("verilator"))?;
    if !built.status.success() {
        return Err(failure("verilator", &built));
    }
    Ok(mdir)
}

fn run_testbench(
    project: &HlsProject,
    rtl: &RtlDesign,
    sources: &[PathBuf],
    build: &str,
    flags: &[&str],
) -> Result<VerilatorReport, HlsError> {
    let testbench = project.dir.join(format!("rtl/{}_tb.cpp", project.name));
    let started = Instant::now();
    let mdir = verilator_build(
        project,
        rtl,
        sources,
        &testbench,
        build,
        &["-o", "rtl_tb"],
        flags,
    )?;
    let build_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let binary = mdir.join("rtl_tb");
    let run = Command::new(&binary)
        .current_dir(&project.dir)
        .arg("tb_data")
        .output()
        .map_err(HlsError::io(&binary))?;
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    if !run.status.success() {
        let mut e = failure("the Verilator testbench", &run);
        if let HlsError::Rtl(message) = &mut e {
            message.push_str(&format!("\n{stdout}"));
        }
        return Err(e);
    }
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| HlsError::Rtl(format!("the testbench printed no RESULT line:\n{stdout}")))?;
    let field = |key: &str| -> Result<f64, HlsError> {
        result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.split('/').next()?.parse().ok())
            .ok_or_else(|| HlsError::Rtl(format!("no {key} in the testbench's line: {result}")))
    };
    Ok(VerilatorReport {
        frames: field("frames")? as usize,
        latency_cycles: field("latency")? as usize,
        ii_cycles: field("ii")?,
        pressure_cycles: field("pressure_cycles")? as usize,
        summary: stdout
            .lines()
            .filter(|l| !l.starts_with("RESULT"))
            .collect::<Vec<_>>()
            .join("; "),
        build_seconds,
        run_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Resources yosys mapped a module to.
#[derive(Clone, Debug, Serialize)]
pub struct SynthReport {
    /// `synth_xilinx -family` (xcup, xcu, xc7).
    pub family: String,
    /// The module synthesised.
    pub top: String,
    /// LUTs of every size (INV counted as a LUT1).
    pub lut: usize,
    /// Flip-flops.
    pub ff: usize,
    /// CARRY4 (yosys 0.23 has no CARRY8: on UltraScale+ one CARRY8 does the work of about two).
    pub carry: usize,
    /// DSP slices.
    pub dsp: usize,
    /// Shift-register LUTs.
    pub srl: usize,
    /// LUTs used as RAM.
    pub lutram: usize,
    /// Block RAMs.
    pub bram: usize,
    /// Wide multiplexers (MUXF7/8/9).
    pub muxf: usize,
    /// Every cell type and its count.
    pub cells: BTreeMap<String, usize>,
    /// The gate-level netlist (xc7 only), relative to the project.
    pub netlist: Option<String>,
    /// xc7 only: the critical path's logic delay in yosys's `sta` with the 7-series cell delays, ns. Routing is
    /// not included, so it bounds the clock period from below: a proxy for timing, not Xilinx timing closure.
    pub logic_delay_ns: Option<f64>,
    /// Seconds yosys took.
    pub seconds: f64,
}

/// Synthesises `top` of the project's Verilog with `yosys synth_xilinx -family <family> -noiopad` (an
/// out-of-context IP core: no I/O buffers) and counts the cells; the log and the statistics go to
/// `build/yosys/`.
pub fn synthesize(project: &HlsProject, top: &str, family: &str) -> Result<SynthReport, HlsError> {
    if !matches!(family, "xcup" | "xcu" | "xc7") {
        return Err(HlsError::Config(format!(
            "FPGA family '{family}': give xcup (UltraScale+), xcu (UltraScale) or xc7 (7 series)"
        )));
    }
    let dir = project.dir.join("build/yosys");
    std::fs::create_dir_all(&dir).map_err(HlsError::io(&dir))?;
    let stat = format!("build/yosys/{top}_{family}.stat");
    // 7 series: mapped with abc9 (timing-driven), the netlist written for the gate-level run, and yosys's
    // static timing analysis over the cells' delays (no routing) on the flattened netlist
    let xc7 = family == "xc7";
    let netlist = xc7.then(|| format!("build/yosys/{top}_{family}.v"));
    let sta = format!("build/yosys/{top}_{family}.sta");
    let mut script = format!(
        "read_verilog rtl/{}.v; synth_xilinx -family {family} -top {top} -noiopad{}; tee -q -o {stat} stat",
        project.name,
        if xc7 { " -abc9" } else { "" }
    );
    if let Some(netlist) = &netlist {
        script.push_str(&format!(
            "; write_verilog -noattr {netlist}; setattr -mod -unset keep_hierarchy; flatten; \
             read_verilog -lib -specify +/xilinx/cells_sim.v; tee -q -o {sta} sta"
        ));
    }
    let started = Instant::now();
    let run = Command::new("yosys")
        .current_dir(&project.dir)
        .args([
            "-q",
            "-l",
            &format!("build/yosys/{top}_{family}.log"),
            "-p",
            &script,
        ])
        .output()
        .map_err(tool_missing("yosys"))?;
    if !run.status.success() {
        return Err(failure("yosys", &run));
    }
    let seconds = started.elapsed().as_secs_f64();
    let path = project.dir.join(&stat);
    let text = std::fs::read_to_string(&path).map_err(HlsError::io(&path))?;
    let cells = parse_stat(&text).ok_or_else(|| {
        HlsError::Rtl(format!(
            "{}: no cell counts in yosys's statistics",
            path.display()
        ))
    })?;
    let logic_delay_ns = match xc7 {
        true => {
            let path = project.dir.join(&sta);
            let text = std::fs::read_to_string(&path).map_err(HlsError::io(&path))?;
            Some(
                latest_arrival_ps(&text, top).ok_or_else(|| {
                    HlsError::Rtl(format!(
                        "{}: no arrival time for {top} in yosys's sta",
                        path.display()
                    ))
                })? / 1000.0,
            )
        }
        false => None,
    };
    Ok(SynthReport {
        netlist,
        logic_delay_ns,
        ..tally(family, top, cells, seconds)
    })
}

/// `Latest arrival time in '<top>' is <ps>:` of yosys's `sta`.
fn latest_arrival_ps(text: &str, top: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("Latest arrival time in '{top}' is ")))?;
    line.rsplit(' ').next()?.trim_end_matches(':').parse().ok()
}

/// The cell counts of the last `Number of cells:` block of yosys's `stat`.
fn parse_stat(text: &str) -> Option<BTreeMap<String, usize>> {
    let start = text.rfind("Number of cells:")?;
    let mut cells = BTreeMap::new();
    for line in text[start..].lines().skip(1) {
        let mut fields = line.split_whitespace();
        let (Some(cell), Some(count), None) = (fields.next(), fields.next(), fields.next()) else {
            break;
        };
        let Ok(count) = count.parse() else { break };
        cells.insert(cell.to_string(), count);
    }
    Some(cells)
}

fn tally(family: &str, top: &str, cells: BTreeMap<String, usize>, seconds: f64) -> SynthReport {
    let sum = |pred: &dyn Fn(&str) -> bool| -> usize {
        cells.iter().filter(|(c, _)| pred(c)).map(|(_, n)| n).sum()
    };
    SynthReport {
        family: family.to_string(),
        top: top.to_string(),
        lut: sum(&|c| c.starts_with("LUT") || c == "INV"),
        ff: sum(&|c| c.starts_with("FD")),
        carry: sum(&|c| c.starts_with("CARRY")),
        dsp: sum(&|c| c.starts_with("DSP")),
        srl: sum(&|c| c.starts_with("SRL")),
        lutram: sum(&|c| c.starts_with("RAM") && !c.starts_with("RAMB")),
        bram: sum(&|c| c.starts_with("RAMB")),
        muxf: sum(&|c| c.starts_with("MUXF")),
        cells,
        netlist: None,
        logic_delay_ns: None,
        seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yosys_statistics_are_tallied_by_kind() {
        let text = "=== dot ===\n\n   Number of wires:                 12\n   Number of cells:                 326\n     \
                    CARRY4                         43\n     DSP48E2                         6\n     FDRE                          306\n     \
                    INV                            15\n     LUT2                          140\n     SRL16E                          7\n\n";
        let cells = parse_stat(text).unwrap();
        let r = tally("xcup", "dot", cells, 1.0);
        assert_eq!((r.lut, r.ff, r.carry, r.dsp, r.srl), (155, 306, 43, 6, 7));
        assert!(parse_stat("nothing").is_none());
        let sta = "Warning: x\nLatest arrival time in 'sub' is 1328:\nLatest arrival time in 'dot' is 3699:\n";
        assert_eq!(latest_arrival_ps(sta, "dot"), Some(3699.0));
    }
}

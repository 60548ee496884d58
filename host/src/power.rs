//! Energy meters for `baler bench`: the CPU packages (Linux powercap / RAPL counters), an NVIDIA GPU (NVML,
//! through nvml-wrapper) and an Alveo card (its XMC's rail sensors in sysfs). A missing source says why.

use crate::runtime::PowerSource;
use nvml_wrapper::Nvml;
use nvml_wrapper::error::NvmlError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a sensor without an energy counter is sampled.
const SAMPLE_PERIOD: Duration = Duration::from_millis(10);

/// Where the meters look.
#[derive(Clone, Debug)]
pub struct Locations {
    /// The root of sysfs (RAPL counters, PCI devices).
    pub sysfs: PathBuf,
    /// NVML's library.
    pub nvml_library: OsString,
    /// The Alveo card's XMC sensor folder, if not the only one under sysfs.
    pub xrt_sensors: Option<PathBuf>,
}

impl Locations {
    /// `/sys`, the driver's `libnvidia-ml.so.1` and the only card, unless `BALER_SYSFS_ROOT`,
    /// `BALER_NVML_LIBRARY` or `BALER_XRT_SENSORS` say otherwise (stand-ins in tests; a chosen card).
    pub fn from_env() -> Locations {
        let var = std::env::var_os;
        Locations {
            sysfs: var("BALER_SYSFS_ROOT").map_or_else(|| "/sys".into(), PathBuf::from),
            nvml_library: var("BALER_NVML_LIBRARY").unwrap_or_else(|| "libnvidia-ml.so.1".into()),
            xrt_sensors: var("BALER_XRT_SENSORS").map(PathBuf::from),
        }
    }
}

/// The first integer in a sysfs file.
fn read_integer(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.split(|c: char| !c.is_ascii_digit())
        .find(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("{}: no number in {:?}", path.display(), text.trim()))
}

/// A power reading in watts.
type PowerReading = Arc<dyn Fn() -> Result<f64, String> + Send + Sync>;

/// An energy meter opened on a device's power source.
pub struct EnergyMeter {
    what: String,
    reading: Reading,
}

enum Reading {
    /// RAPL package counters: (energy_uj file, wrap range in µJ).
    Rapl(Vec<(PathBuf, u64)>),
    /// NVML's energy counter of device `index`, in mJ.
    NvmlEnergy { nvml: Arc<Nvml>, index: u32 },
    /// A power sensor, sampled and integrated.
    Sampled(PowerReading),
}

/// A meter running over an interval.
pub struct Measurement {
    start: Instant,
    state: State,
}

enum State {
    Counters(Vec<u64>),
    Sampler {
        stop: Arc<AtomicBool>,
        thread: JoinHandle<Result<Vec<(f64, f64)>, String>>,
    },
}

/// Energy over an interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Energy {
    /// Joules.
    pub joules: f64,
    /// Seconds measured.
    pub seconds: f64,
}

impl EnergyMeter {
    /// Opens the meter of `source`, or says why there is none.
    pub fn open(source: &PowerSource, at: &Locations) -> Result<EnergyMeter, String> {
        match source {
            PowerSource::CpuPackages => rapl(&at.sysfs),
            PowerSource::NvidiaGpu { adapter } => nvml(adapter, &at.nvml_library),
            PowerSource::AlveoCard => alveo_card(at),
            PowerSource::Unavailable(why) => Err(why.clone()),
        }
    }

    /// What it measures, in words.
    pub fn describe(&self) -> &str {
        &self.what
    }

    /// Starts measuring.
    pub fn start(&self) -> Result<Measurement, String> {
        let state = match &self.reading {
            Reading::Rapl(zones) => State::Counters(
                zones
                    .iter()
                    .map(|(path, _)| read_integer(path))
                    .collect::<Result<_, _>>()?,
            ),
            Reading::NvmlEnergy { nvml, index } => {
                State::Counters(vec![nvml_energy_mj(nvml, *index)?])
            }
            Reading::Sampled(read) => {
                read()?;
                let stop = Arc::new(AtomicBool::new(false));
                let thread = std::thread::spawn({
                    let (stop, read) = (stop.clone(), read.clone());
                    move || sample(&*read, &stop)
                });
                State::Sampler { stop, thread }
            }
        };
        Ok(Measurement {
            start: Instant::now(),
            state,
        })
    }

    /// The energy since `m` started.
    pub fn finish(&self, m: Measurement) -> Result<Energy, String> {
        let seconds = m.start.elapsed().as_secs_f64();
        let joules = match (&self.reading, m.state) {
            (Reading::Rapl(zones), State::Counters(start)) => {
                let mut uj = 0;
                for ((path, range), start) in zones.iter().zip(start) {
                    let now = read_integer(path)?;
                    // the counter wraps at its range
                    uj += if now >= start {
                        now - start
                    } else {
                        now + range.saturating_sub(start)
                    };
                }
                uj as f64 * 1e-6
            }
            (Reading::NvmlEnergy { nvml, index }, State::Counters(start)) => {
                nvml_energy_mj(nvml, *index)?.saturating_sub(start[0]) as f64 * 1e-3
            }
            (_, State::Sampler { stop, thread }) => {
                stop.store(true, Ordering::Relaxed);
                let samples = thread
                    .join()
                    .map_err(|_| "the power sampler stopped".to_string())??;
                mean_power(&samples)? * seconds
            }
            _ => unreachable!("a measurement is finished by the meter that started it"),
        };
        Ok(Energy { joules, seconds })
    }
}

/// Samples `read` every `SAMPLE_PERIOD` until `stop`: (seconds, watts).
fn sample(
    read: &dyn Fn() -> Result<f64, String>,
    stop: &AtomicBool,
) -> Result<Vec<(f64, f64)>, String> {
    let start = Instant::now();
    let mut samples = Vec::new();
    loop {
        samples.push((start.elapsed().as_secs_f64(), read()?));
        if stop.load(Ordering::Relaxed) {
            return Ok(samples);
        }
        std::thread::sleep(SAMPLE_PERIOD);
    }
}

/// The time-weighted mean of power samples (trapezoids), W.
fn mean_power(samples: &[(f64, f64)]) -> Result<f64, String> {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Err("no sensor sample".into());
    };
    let (first, last) = (first.0, last.0);
    if last <= first {
        return Err("the run was shorter than two sensor samples".into());
    }
    let area: f64 = samples
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    Ok(area / (last - first))
}

/// Every CPU package's RAPL counter (`intel-rapl:N`, also on AMD).
fn rapl(sysfs: &Path) -> Result<EnergyMeter, String> {
    let dir = sysfs.join("class/powercap");
    let mut zones: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.strip_prefix("intel-rapl:"))
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                })
                .collect()
        })
        .unwrap_or_default();
    zones.sort();
    if zones.is_empty() {
        return Err(format!(
            "no RAPL counter in {} (a virtual machine, or a CPU without one)",
            dir.display()
        ));
    }
    let mut counters = Vec::new();
    for zone in &zones {
        let energy = zone.join("energy_uj");
        read_integer(&energy)
            .map_err(|e| format!("{e} (the counter is root-only on Linux 5.10 and later)"))?;
        let range = read_integer(&zone.join("max_energy_range_uj")).unwrap_or(u64::MAX);
        counters.push((energy, range));
    }
    Ok(EnergyMeter {
        what: format!(
            "CPU packages, RAPL ({} in {}), the whole package including idle cores",
            zones.len(),
            dir.display()
        ),
        reading: Reading::Rapl(counters),
    })
}

fn nvml_energy_mj(nvml: &Nvml, index: u32) -> Result<u64, String> {
    nvml.device_by_index(index)
        .and_then(|d| d.total_energy_consumption())
        .map_err(|e| format!("NVML energy counter: {e}"))
}

/// The NVIDIA GPU named `adapter` (the wgpu adapter the gpu device runs on).
fn nvml(adapter: &str, library: &OsString) -> Result<EnergyMeter, String> {
    let nvml = Nvml::builder()
        .lib_path(library)
        .init()
        .map_err(|e| format!("NVML ({}): {e}", library.to_string_lossy()))?;
    let count = nvml.device_count().map_err(|e| format!("NVML: {e}"))?;
    let mut names = Vec::new();
    for index in 0..count {
        let name = nvml
            .device_by_index(index)
            .and_then(|d| d.name())
            .map_err(|e| format!("NVML device {index}: {e}"))?;
        if name == adapter {
            let nvml = Arc::new(nvml);
            let what = format!("NVIDIA GPU {index} ({name}), NVML");
            return match nvml_energy_mj(&nvml, index) {
                Ok(_) => Ok(EnergyMeter {
                    what: format!("{what} energy counter"),
                    reading: Reading::NvmlEnergy { nvml, index },
                }),
                // before Volta there is no energy counter: sample the board power
                Err(_) => Ok(EnergyMeter {
                    what: format!("{what} board power, sampled every {SAMPLE_PERIOD:?}"),
                    reading: Reading::Sampled(Arc::new(move || {
                        nvml.device_by_index(index)
                            .and_then(|d| d.power_usage())
                            .map(|mw| f64::from(mw) * 1e-3)
                            .map_err(|e: NvmlError| format!("NVML power: {e}"))
                    })),
                }),
            };
        }
        names.push(name);
    }
    Err(format!(
        "the gpu device runs on {adapter}, which NVML does not list (it lists: {})",
        if names.is_empty() {
            "nothing".into()
        } else {
            names.join(", ")
        }
    ))
}

/// The power rails an Alveo card's XMC reports (mV, mA), as XRT's own power profile sums them.
const XMC_RAILS: [(&str, &str); 3] = [
    ("xmc_12v_pex_vol", "xmc_12v_pex_curr"),
    ("xmc_12v_aux_vol", "xmc_12v_aux_curr"),
    ("xmc_3v3_pex_vol", "xmc_3v3_pex_curr"),
];

/// The card's XMC sensor folder: the one given, else the only one under `<sysfs>/bus/pci/devices`.
fn xmc_folder(at: &Locations) -> Result<PathBuf, String> {
    if let Some(dir) = &at.xrt_sensors {
        return Ok(dir.clone());
    }
    let devices = at.sysfs.join("bus/pci/devices");
    let is_xmc = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("xmc"))
            && p.join(XMC_RAILS[0].0).exists()
    };
    let children = |p: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let mut found: Vec<PathBuf> = children(&devices)
        .iter()
        .flat_map(|d| children(d))
        .filter(|p| is_xmc(p))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "no Alveo card sensors (xmc*/{}) under {}",
            XMC_RAILS[0].0,
            devices.display()
        )),
        n => Err(format!(
            "{n} cards have sensors ({}); set BALER_XRT_SENSORS to the folder of the card that runs the kernel",
            found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The Alveo card's power from its rails: Σ V·I, sampled.
fn alveo_card(at: &Locations) -> Result<EnergyMeter, String> {
    let dir = xmc_folder(at)?;
    let rails: Vec<(PathBuf, PathBuf)> = XMC_RAILS
        .iter()
        .map(|(v, i)| (dir.join(v), dir.join(i)))
        .filter(|(v, i)| v.exists() && i.exists())
        .collect();
    if rails.is_empty() {
        return Err(format!(
            "{}: no rail voltage and current sensors",
            dir.display()
        ));
    }
    let what = format!(
        "Alveo card, {} power rails ({}), sampled every {SAMPLE_PERIOD:?}",
        rails.len(),
        dir.display()
    );
    let read = move || {
        rails.iter().try_fold(0.0, |watts, (v, i)| {
            Ok(watts + read_integer(v)? as f64 * read_integer(i)? as f64 * 1e-6)
        })
    };
    read()?;
    Ok(EnergyMeter {
        what,
        reading: Reading::Sampled(Arc::new(read)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_power_weights_samples_by_time() {
        // 10 W for 1 s, then 30 W for 3 s (linear ramps between samples)
        let samples = [(0.0, 10.0), (1.0, 10.0), (1.0, 30.0), (4.0, 30.0)];
        assert_eq!(mean_power(&samples), Ok(25.0));
        assert!(mean_power(&[(0.0, 5.0)]).is_err());
    }

    #[test]
    fn read_integer_takes_the_first_number() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, "12100 12090\n").unwrap();
        assert_eq!(read_integer(&p), Ok(12100));
        std::fs::write(&p, "n/a\n").unwrap();
        assert!(read_integer(&p).unwrap_err().contains("no number"));
    }
}

//! The energy meters of `baler bench` through their software twins: RAPL counters in a stand-in sysfs tree
//! (wrap included), NVML through the NVML stand-in library (energy counter and sampled power), and an Alveo
//! card's XMC rail sensors; a missing source gives the reason, never a figure.

use baler::power::{EnergyMeter, Locations};
use baler::runtime::PowerSource;
use std::path::Path;
use std::time::Duration;

use crate::common;

fn locations(sysfs: &Path) -> Locations {
    Locations {
        sysfs: sysfs.to_path_buf(),
        nvml_library: "libnvidia-ml-absent.so".into(),
        xrt_sensors: None,
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn rapl_counters_of_every_package_are_summed_across_a_wrap() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tmp.path();
    let at = locations(sys);
    assert!(
        EnergyMeter::open(&PowerSource::CpuPackages, &at)
            .err()
            .unwrap()
            .contains("no RAPL counter")
    );
    let zone = |n: u32| sys.join(format!("class/powercap/intel-rapl:{n}"));
    for n in [0, 1] {
        write(&zone(n).join("max_energy_range_uj"), "10000000\n");
    }
    // a sub-zone (core, dram) is not a package
    write(&sys.join("class/powercap/intel-rapl:0:0/energy_uj"), "0\n");
    write(&zone(0).join("energy_uj"), "9500000\n");
    write(&zone(1).join("energy_uj"), "1000\n");
    let meter = EnergyMeter::open(&PowerSource::CpuPackages, &at).unwrap();
    assert!(
        meter.describe().contains("RAPL (2 in"),
        "{}",
        meter.describe()
    );
    let m = meter.start().unwrap();
    write(&zone(0).join("energy_uj"), "500000\n"); // wrapped: 0.5 J + 0.5 J
    write(&zone(1).join("energy_uj"), "2001000\n"); // 2 J
    let energy = meter.finish(m).unwrap();
    assert!((energy.joules - 3.0).abs() < 1e-9, "{energy:?}");

    write(&zone(1).join("energy_uj"), "n/a\n");
    let m = meter.start();
    assert!(m.err().unwrap().contains("no number"));
}

#[test]
fn nvml_energy_comes_from_the_counter_or_from_sampled_power() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("libnvidia-ml.so.1");
    common::compile_c_library("nvml-standin/nvml_standin.c", &lib, &[]);
    let at = Locations {
        nvml_library: lib.into(),
        ..locations(tmp.path())
    };
    let gpu = |adapter: &str| PowerSource::NvidiaGpu {
        adapter: adapter.into(),
    };
    // the stand-in draws 70 W; its counter runs on the monotonic clock
    let meter = EnergyMeter::open(&gpu("NVIDIA Stand-in GPU"), &at).unwrap();
    assert!(
        meter.describe().contains("energy counter"),
        "{}",
        meter.describe()
    );
    let m = meter.start().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let e = meter.finish(m).unwrap();
    let watts = e.joules / e.seconds;
    assert!((watts - 70.0).abs() < 3.0, "{e:?}: {watts} W");

    let other = EnergyMeter::open(&gpu("llvmpipe (LLVM 15.0.6, 256 bits)"), &at);
    let why = other.err().unwrap();
    assert!(
        why.contains("runs on llvmpipe (LLVM 15.0.6, 256 bits), which NVML does not list (it lists: NVIDIA Stand-in GPU)"),
        "{why}"
    );

    let absent = EnergyMeter::open(&gpu("NVIDIA Stand-in GPU"), &locations(tmp.path()));
    assert!(absent.err().unwrap().contains("libnvidia-ml-absent.so"));
}

#[test]
fn nvml_without_an_energy_counter_samples_the_board_power() {
    // built as a GPU before Volta: no energy counter, 42.5 W
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("libnvidia-ml.so.1");
    common::compile_c_library(
        "nvml-standin/nvml_standin.c",
        &lib,
        &["-DSTANDIN_NO_COUNTER", "-DSTANDIN_WATTS=42.5"],
    );
    let at = Locations {
        nvml_library: lib.into(),
        ..locations(tmp.path())
    };
    let source = PowerSource::NvidiaGpu {
        adapter: "NVIDIA Stand-in GPU".into(),
    };
    let meter = EnergyMeter::open(&source, &at).unwrap();
    assert!(
        meter.describe().contains("board power, sampled"),
        "{}",
        meter.describe()
    );
    let m = meter.start().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let e = meter.finish(m).unwrap();
    assert!((e.joules / e.seconds - 42.5).abs() < 1e-9, "{e:?}");
}

#[test]
fn an_alveo_card_is_read_from_its_xmc_rails() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tmp.path();
    let at = locations(sys);
    let why = EnergyMeter::open(&PowerSource::AlveoCard, &at)
        .err()
        .unwrap();
    assert!(why.contains("no Alveo card sensors"), "{why}");
    let card = |bdf: &str| sys.join(format!("bus/pci/devices/{bdf}/xmc.m.12582912"));
    let xmc = card("0000:65:00.0");
    for (file, value) in [
        ("xmc_12v_pex_vol", "12000"),
        ("xmc_12v_pex_curr", "2000"),
        ("xmc_12v_aux_vol", "12100 12090 12080"),
        ("xmc_12v_aux_curr", "1000"),
        ("xmc_3v3_pex_vol", "3300"),
        ("xmc_3v3_pex_curr", "500"),
    ] {
        write(&xmc.join(file), &format!("{value}\n"));
    }
    // 12 V × 2 A + 12.1 V × 1 A + 3.3 V × 0.5 A
    let meter = EnergyMeter::open(&PowerSource::AlveoCard, &at).unwrap();
    assert!(
        meter.describe().contains("3 power rails"),
        "{}",
        meter.describe()
    );
    let m = meter.start().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let e = meter.finish(m).unwrap();
    assert!((e.joules / e.seconds - 37.75).abs() < 1e-9, "{e:?}");

    // a second card: which one runs the kernel must be said
    write(&card("0000:b3:00.0").join("xmc_12v_pex_vol"), "12000\n");
    let why = EnergyMeter::open(&PowerSource::AlveoCard, &at)
        .err()
        .unwrap();
    assert!(why.contains("2 cards have sensors"), "{why}");
    let chosen = Locations {
        xrt_sensors: Some(xmc.clone()),
        ..at
    };
    assert!(EnergyMeter::open(&PowerSource::AlveoCard, &chosen).is_ok());

    // a sensor that stops answering mid-run: an error, not a figure
    let m = meter.start().unwrap();
    std::fs::remove_file(xmc.join("xmc_12v_pex_curr")).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(meter.finish(m).err().unwrap().contains("xmc_12v_pex_curr"));
}

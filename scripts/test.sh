#!/usr/bin/env bash
# The project's test command (README, CI): installs what the tests need, then checks formatting and
# lints, and runs every test (the firmware among them, built for its boards and run on QEMU). One build profile
# throughout.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add thumbv7em-none-eabihf riscv32imac-unknown-none-elf
apt_install() {
    if [ "$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y "$@"; else
        sudo apt-get update -q && sudo apt-get install -y "$@"; fi
}
# g++ compiles the C++ that the fixed-point results are compared against; cc the XRT and NVML stand-ins
if ! command -v g++ >/dev/null || ! command -v cc >/dev/null || ! command -v make >/dev/null; then apt_install g++ gcc make; fi
# a Python virtual environment holds hls4ml for the cross-check
if ! python3 -c "import ensurepip, venv" 2>/dev/null; then apt_install python3-venv; fi
# Mesa's software Vulkan driver runs the gpu device (burn's wgpu backend) where there is no GPU
if ! dpkg -s mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1; then apt_install mesa-vulkan-drivers libvulkan1; fi
# QEMU runs the board firmware (host/tests/integration/firmware_qemu.rs): riscv32 `virt` and Arm `mps2-an386`
if ! command -v qemu-system-riscv32 >/dev/null || ! command -v qemu-system-arm >/dev/null; then
    apt_install --no-install-recommends qemu-system-misc qemu-system-arm
fi
# the Verilog backend is checked in Verilator (the RTL and yosys's gate-level netlist) and synthesised by yosys
# (hls/tests/rtl_verilator.rs)
if ! command -v verilator >/dev/null || ! command -v yosys >/dev/null; then apt_install verilator yosys; fi
# the SZ3 and ZFP baselines of `baler evaluate --baselines` (features sz3, zfp) build with cmake; SZ3's configure
# finds zstd through pkg-config, and bindgen needs libclang
if ! dpkg -s cmake pkg-config libzstd-dev libclang-dev >/dev/null 2>&1; then
    apt_install cmake pkg-config libzstd-dev libclang-dev
fi

cargo fmt --all -- --check
cargo fmt --manifest-path firmware/Cargo.toml -- --check
# no module of a crate imports one that imports it back
python3 scripts/import_cycles.py
# One compilation serves the lints and the tests: clippy-driver compiles the workspace's own crates (every
# target, with the gpu device's wgpu feature and the SZ3 and ZFP baselines) and denies every warning, while
# building the test binaries.
export RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# (targets as `cargo test` selects them, which skips the test harnesses of targets without tests, then the benches)
cargo test --workspace --features baler/wgpu,baler/sz3,baler/zfp --no-run
# sz3-sys's build script generates SZ3's version.hpp, which it also lists as an input, after cargo noted the run's
# start: the next cargo command (the benches' build) would run the script, SZ3's C++ compile and the
# crates above it again. The header is current: date it back.
find target/debug/build -path '*/sz3-sys-*/out/build/include/SZ3/version.hpp' -exec touch -d 2000-01-01 {} +
cargo test --workspace --benches --features baler/wgpu,baler/sz3,baler/zfp --no-run
# the core is no_std: the firmware builds it without alloc for both boards (riscv32imac, thumbv7em) in
# host/tests/integration/firmware_qemu.rs, linted by the same clippy-driver
# the library without burn (what a deployment builds), through the fuzz targets that use it: checked here; running
# them (`fuzz.sh smoke` briefly, `fuzz.sh run` long) is a benchmark, whose nightly build costs about 4 CPU-minutes
bash scripts/fuzz.sh check
# the real ap_fixed headers, for the bit-exact comparisons
bash scripts/fetch_ap_types.sh >/dev/null
cargo test --workspace --features baler/wgpu,baler/sz3,baler/zfp
# the generated projects against hls4ml 1.3.0's own C simulation (same weights, formats and inputs)
bash scripts/hls4ml_crosscheck.sh

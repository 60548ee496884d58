#!/usr/bin/env bash
# The project's test command (README, CI): installs what the tests need, then checks formatting and
# lints, builds the no_std core for the firmware targets, and runs every test. One build profile throughout.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add thumbv7em-none-eabihf riscv32imac-unknown-none-elf
apt_install() {
    if [ "$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y "$@"; else
        sudo apt-get update -q && sudo apt-get install -y "$@"; fi
}
# g++ compiles the C++ that the fixed-point results are compared against; cc the XRT and NVML stand-ins
if ! command -v g++ >/dev/null || ! command -v cc >/dev/null; then apt_install g++ gcc; fi
# a Python virtual environment holds hls4ml for the cross-check
if ! python3 -c "import ensurepip, venv" 2>/dev/null; then apt_install python3-venv; fi
# Mesa's software Vulkan driver runs the gpu device (burn's wgpu backend) where there is no GPU
if ! dpkg -s mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1; then apt_install mesa-vulkan-drivers libvulkan1; fi

cargo fmt --all -- --check
# clippy and the tests build the gpu device too (wgpu feature), so that one build serves every test
cargo clippy --workspace --all-targets --features baler/wgpu -- -D warnings
# the core is no_std: it must build for the soft-core and MCU targets
cargo build -p baler-core --target thumbv7em-none-eabihf
cargo build -p baler-core --target riscv32imac-unknown-none-elf
# the real ap_fixed headers, for the bit-exact comparisons
bash scripts/fetch_ap_types.sh >/dev/null
cargo test --workspace --features baler/wgpu
# the generated projects against hls4ml 1.3.0's own C simulation (same weights, formats and inputs)
bash scripts/hls4ml_crosscheck.sh

#!/usr/bin/env bash
# The project's test command (README, CI): installs what the tests need, then checks formatting and
# lints, builds the no_std core for the firmware targets, and runs every test. One build profile throughout.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add thumbv7em-none-eabihf riscv32imac-unknown-none-elf
# g++ compiles the C++ that the fixed-point results are compared against; cc the XRT stand-in library
if ! command -v g++ >/dev/null || ! command -v cc >/dev/null; then
    sudo apt-get install -y g++ gcc || apt-get install -y g++ gcc
fi
# a Python virtual environment holds hls4ml for the cross-check
if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    sudo apt-get install -y python3-venv || apt-get install -y python3-venv
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# the core is no_std: it must build for the soft-core and MCU targets
cargo build -p baler-core --target thumbv7em-none-eabihf
cargo build -p baler-core --target riscv32imac-unknown-none-elf
# the real ap_fixed headers, for the bit-exact comparisons
bash scripts/fetch_ap_types.sh >/dev/null
cargo test --workspace
# the generated projects against hls4ml 1.3.0's own C simulation (same weights, formats and inputs)
bash scripts/hls4ml_crosscheck.sh

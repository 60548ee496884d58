#!/usr/bin/env bash
# baler's Verilog against da4ml's on the same network (a benchmark, not a test): the fpga-small encoder (9-32-16-5,
# scripts/fpga_small_model.sh) written by `baler hls --rtl` in each multiplier style and traced in da4ml 0.6.0
# (PyPI, in scripts/.cache/da4ml-venv) with the same weights and formats. da4ml's network is first checked bit-exact
# against the project's expected codes, then pipelined to baler's number of stages; every bare network is
# synthesised by the same yosys commands for xcup and xc7.
# Usage: bash scripts/da4ml_compare.sh [OUT]    (after the test build; needs yosys, as the test command installs it)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/da4ml-compare}
mkdir -p "$out"
baler=target/debug/baler
[ -x "$baler" ] || { echo "build first: cargo test --workspace --no-run" >&2; exit 1; }
venv=scripts/.cache/da4ml-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import da4ml" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q da4ml==0.6.0
fi
small=$out/fpga-small
bash scripts/fpga_small_model.sh "$small"
designs=()
for style in lut auto dsp; do
    $baler hls -m "$small/model" -i data/hep_jets_dijet.npy --network encoder --rtl --multipliers $style \
        -o "$out/$style" >/dev/null 2>&1
    designs+=("$style=$out/$style/encoder")
done
"$venv/bin/python" scripts/da4ml_compare.py "$small/model/quantized-encoder.json" "$out" "${designs[@]}"

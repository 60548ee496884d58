#!/usr/bin/env bash
# The Verilog backend judged by the open RTL tools, as figures (a benchmark, not a test): the fpga-small encoder
# (9-32-16-5, trained and quantised here for a few epochs: its hardware, not its accuracy, is the point) in each
# multiplier style and time-multiplexed (reuse factors 9, 32, 16), built by Verilator and run bit-exact on the data's
# first 1,000 rows (latency and II counted), synthesised by yosys for xcup and xc7, and its xc7 netlist simulated
# gate by gate; then the jet encoder (9-200-100-50-5) in Verilator on 10,000 rows. With JET_SYNTH=1, also yosys on the jet encoder (an hour at most).
# Usage: bash scripts/rtl_bench.sh [OUT]    (needs verilator and yosys, as the test command installs them)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/rtl-bench}
mkdir -p "$out"
baler=target/debug/baler
[ -x "$baler" ] || { echo "build first: cargo test --workspace --no-run" >&2; exit 1; }
data=data/hep_jets_dijet.npy

small=$out/fpga-small
bash scripts/fpga_small_model.sh "$small"
for style in auto dsp lut; do
    echo "== fpga-small encoder, --multipliers $style"
    start=$(date +%s)
    $baler hls -m "$small/model" -i $data --network encoder --rtl --multipliers $style --verilate \
        --synth xcup,xc7 --gate-level -o "$out/small-$style" 2>/dev/null | grep -E "^(network|IP core|baler_encoder_axis|Verilator|gate level|yosys|  timing)"
    echo "($(( $(date +%s) - start )) s in all)"
done

echo "== fpga-small encoder, time-multiplexed: --strategy resource --reuse-factor 9,32,16"
start=$(date +%s)
# (its xc7 netlist does not pass the gate-level check yet, docs/rtl.md: the failure is printed, the script goes on)
$baler hls -m "$small/model" -i $data --network encoder --rtl --strategy resource --reuse-factor 9,32,16 --verilate \
    --synth xcup,xc7 --gate-level -o "$out/small-reuse" 2>&1 | grep -E "^(network|IP core|baler_encoder_axis|Verilator|gate level|yosys|  timing|error|RESULT)" || true
echo "($(( $(date +%s) - start )) s in all)"

echo "== jet encoder, 10,000 rows, --multipliers auto"
$baler hls -m models/jets-baler-9to5 -i $data --network encoder --frames 10000 --rtl --verilate -o "$out/jet" \
    2>/dev/null | grep -E "^(network|IP core|baler_encoder_axis|Verilator)"
if [ "${JET_SYNTH:-0}" = 1 ]; then
    echo "== jet encoder, yosys synth_xilinx -family xcup (stopped after an hour)"
    cd "$out/jet/encoder"
    mkdir -p build/yosys
    start=$(date +%s)
    status=0
    timeout 3600 /usr/bin/time -v yosys -q -l build/yosys/jet_xcup.log \
        -p "read_verilog rtl/baler_encoder.v; synth_xilinx -family xcup -top baler_encoder_axis -noiopad; tee -q -o build/yosys/jet_xcup.stat stat" \
        2>build/yosys/jet_xcup.time || status=$?
    echo "yosys exit $status after $(( $(date +%s) - start )) s; peak memory: $(grep -o 'Maximum resident.*' build/yosys/jet_xcup.time || echo unknown)"
    grep -A40 "Number of cells" build/yosys/jet_xcup.stat 2>/dev/null | tail -40 || true
fi

#!/usr/bin/env bash
# An fpga-small model (9-32-16-5) of the jet table, trained for 5 epochs and quantised, in the project folder DIR
# unless it is already there: the small encoder of the firmware and RTL benchmarks, where its hardware, not its
# accuracy, is the point. Usage: bash scripts/fpga_small_model.sh DIR    (after the test build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
baler=target/debug/baler
data=data/hep_jets_dijet.npy
if [ ! -f "$dir/model/quantized-encoder.json" ]; then
    rm -rf "$dir"
    $baler new-project "$dir" --input "$PWD/$data" --latent 5 --preset fpga-small >/dev/null
    sed -i 's/^epochs = .*/epochs = 5/' "$dir/baler.toml"
    $baler train -p "$dir" >/dev/null 2>&1
    $baler quantize -p "$dir" >/dev/null 2>&1
fi

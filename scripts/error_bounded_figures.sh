#!/usr/bin/env bash
# The figures of docs/results.md#error-bounded-mode: `baler evaluate --baselines` (error-bounded mode with each
# predictor, with the autoencoder and without, against zstd, SZ3 and ZFP, every restored value checked) on the shipped jet table
# and CFD field with the committed reference models, at 1e-2, 1e-3 and 1e-4 × each variable's range.
#   bash scripts/error_bounded_figures.sh [out-dir]     (builds baler with the features sz3 and zfp first)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/suitability}
cargo build -q -p baler --features sz3,zfp
for case in "jets-baler-9to5 hep_jets_dijet.npy jets" "cfd-conv-r100 CFD_animation.npz cfd"; do
    read -r model file name <<<"$case"
    target/debug/baler evaluate --baselines -m "models/$model" --original "data/$file" -o "$out/$name"
done

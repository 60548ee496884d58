#!/usr/bin/env bash
# The figures of docs/results.md#error-bounded-mode: `baler evaluate --baselines` (error-bounded mode with each
# predictor, with the autoencoder and without, against zstd, SZ3 and ZFP, every restored value checked) at 1e-2,
# 1e-3 and 1e-4 × each variable's range: the shipped jet table and CFD field with the committed reference models,
# and, where ../shared/data holds them, the LBM flow and ERA5 temperature fields with conv models trained here for
# a few epochs (the interpolation predictor needs no model; the autoencoder's columns show these models as trained).
#   bash scripts/error_bounded_figures.sh [out-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/suitability}
# the test command's build (the same features, so nothing is rebuilt): baler with SZ3 and ZFP
cargo test -q --workspace --features baler/wgpu,baler/sz3,baler/zfp --no-run
baler=target/debug/baler
for case in "jets-baler-9to5 hep_jets_dijet.npy jets" "cfd-conv-r100 CFD_animation.npz cfd"; do
    read -r model file name <<<"$case"
    $baler evaluate --baselines -m "models/$model" --original "data/$file" -o "$out/$name"
done
for case in "lbm_square_ux 10" "era5_t 15"; do
    read -r name epochs <<<"$case"
    input=$(realpath -m "../shared/data/$name.npy")
    [ -f "$input" ] || { echo "skipped $name: $input not found"; continue; }
    project=$out/$name-project
    if [ ! -f "$project/model/quantized-decoder.json" ]; then
        rm -rf "$project"
        $baler new-project "$project" --input "$input"
        sed -i "s/^epochs = .*/epochs = $epochs/" "$project/baler.toml"
        $baler train -p "$project"
        $baler quantize -p "$project" --rows 6
    fi
    $baler evaluate --baselines -p "$project" -o "$out/$name"
done

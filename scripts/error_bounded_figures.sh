#!/usr/bin/env bash
# Error-bounded mode on the shipped data with the reference models at bounds 1e-2, 1e-3 and 1e-4 × each variable's
# range: a markdown table of R on float32 bytes (the basis of the SZ3 figures in docs/results.md), the latent and
# residual bytes, the values stored exactly, and R_actual with the packed quantised decoder (quantized-decoder.pack) counted;
# the field with each predictor (the autoencoder, 2-D Lorenzo on its residual, Lorenzo alone).
#   bash scripts/error_bounded_figures.sh        (builds baler first; the bound itself is checked by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p baler
baler=target/debug/baler
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| data | predictor | bound × range | R (f32 bytes) | latent B | residual B | exact values | decoder B | R_actual (f32 bytes) |"
echo "|---|---|---|---|---|---|---|---|---|"
for case in "hep_jets_dijet.npy jets-baler-9to5 autoencoder" "CFD_animation.npz cfd-conv-r100 autoencoder" \
    "CFD_animation.npz cfd-conv-r100 autoencoder+lorenzo" "CFD_animation.npz cfd-conv-r100 lorenzo"; do
    read -r file model predictor <<<"$case"
    decoder=$(stat -c %s "models/$model/quantized-decoder.pack")
    # the local predictor alone needs no decoder
    [ "$predictor" = lorenzo ] && decoder=0
    for eb in 1e-2 1e-3 1e-4; do
        summary=$($baler compress -m "models/$model" -i "data/$file" -o "$out/c.baler" --error-bound "rel:$eb" \
            --predictor "$predictor")
        restored=$($baler decompress -m "models/$model" -i "$out/c.baler" -o "$out/d.npy")
        # "restored [27214, 9] F32 into …": the value count is the product of the shape
        values=$(sed -n 's/^restored \[\([0-9, ]*\)\].*/\1/p' <<<"$restored" | tr -d ' ' | tr ',' '*' | bc)
        compressed=$(stat -c %s "$out/c.baler")
        latent=$(sed -n 's/.*; \([0-9]*\) B latent.*/\1/p' <<<"$summary")
        residual=$(sed -n 's/.* \([0-9]*\) B residuals.*/\1/p' <<<"$summary")
        exact=$(sed -n 's/.*residuals, \([0-9]*\) values stored exactly.*/\1/p' <<<"$summary")
        awk -v f="$file" -v p="$predictor" -v eb="$eb" -v v="$values" -v c="$compressed" -v l="$latent" -v r="$residual" \
            -v x="$exact" -v d="$decoder" 'BEGIN {
            printf "| %s | %s | %s | %.2f | %d | %d | %d | %d | %.2f |\n", f, p, eb, 4 * v / c, l, r, x, d, 4 * v / (c + d) }'
    done
done

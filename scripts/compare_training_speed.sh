#!/usr/bin/env bash
# Seconds per training epoch: `baler train` against the Python Baler on the same data, model (n->200->100->50->z),
# batch size and split, both on one thread, run back to back in this session. Prints both and the ratio.
#   scripts/compare_training_speed.sh BALER_REPO PYTHON [DATA] [LATENT] [EPOCHS]
# BALER_REPO: a checkout of baler-collaboration/baler; PYTHON: an interpreter with torch (see the .py's header).
set -euo pipefail
repo=${1:?checkout of baler-collaboration/baler}
python=${2:?python with torch}
data=$(realpath "${3:-data/hep_jets_dijet.npy}")
latent=${4:-5}
epochs=${5:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --manifest-path "$root/Cargo.toml" -p baler
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/target/debug/baler" new-project "$work/p" --input "$data" --latent "$latent" >/dev/null
sed -i "s/^epochs = .*/epochs = $epochs/; s/^early_stopping_patience = .*/early_stopping_patience = 0/" "$work/p/baler.toml"
RAYON_NUM_THREADS=1 "$root/target/debug/baler" train -p "$work/p" 2>/dev/null >/dev/null
rust=$("$python" -c "import json,statistics;h=json.load(open('$work/p/training/history.json'))['history'];print(statistics.median(e['seconds'] for e in h))")
py_epoch() {
  "$python" "$root/scripts/python_baler_epoch_time.py" --baler-repo "$repo" --data "$data" --latent "$latent" \
    --epochs "$epochs" "$@" | "$python" -c "import json,sys;print(json.load(sys.stdin)['median_seconds_per_epoch'])"
}
py=$(py_epoch)
py32=$(py_epoch --float32)
"$python" - <<PY
rust, py, py32 = $rust, $py, $py32
print(f"median seconds per epoch, one thread, batch 512, {$epochs} epochs each")
print(f"  baler (burn flex, f32):      {rust:.3f} s")
print(f"  Python Baler (torch, f64):   {py:.3f} s")
print(f"  Python Baler, model cast to f32: {py32:.3f} s")
print(f"  Python (f64) / baler = {py / rust:.2f}x   Python (f32) / baler = {py32 / rust:.2f}x")
PY

#!/usr/bin/env bash
# Cross-checks baler's generated HLS projects against hls4ml 1.3.0: installs the pinned wheel (sha256-checked by
# fetch_ap_types.sh) in scripts/.cache/hls4ml-venv, then feeds each distinct network that the C-simulation tests
# generated (<target dir>/tmp/hls/*/network.json: jet encoder and decoder, fpga-small, saturating, field model) with
# the same weights, formats and input codes to hls4ml, and compares its output codes with baler's.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch_ap_types.sh >/dev/null
VENV=scripts/.cache/hls4ml-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import hls4ml" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet scripts/.cache/hls4ml-1.3.0-py3-none-any.whl
fi
PROJECTS="${CARGO_TARGET_DIR:-target}/tmp/hls"
if ! ls "$PROJECTS"/*/network.json >/dev/null 2>&1; then
    cargo test -p baler-hls --test csim_models
fi

declare -A seen
status=0
for net in "$PROJECTS"/*/network.json; do
    sum=$(sha256sum "$net" | cut -c1-16)
    [ -n "${seen[$sum]:-}" ] && continue
    seen[$sum]=1
    project=$(dirname "$net")
    "$VENV/bin/python" scripts/hls4ml_crosscheck.py --network "$net" --project "$project" \
        --work "scripts/.cache/hls4ml-work/$(basename "$project")" 2>"$VENV/crosscheck.err" ||
        { status=1; cat "$VENV/crosscheck.err" >&2; }
done
exit $status

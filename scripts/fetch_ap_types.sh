#!/usr/bin/env bash
# Fetches the open-source ap_types headers (Apache-2.0, as AMD/Xilinx publish them) from the hls4ml 1.3.0 wheel on PyPI, checks the wheel's
# sha256 and unpacks them to scripts/.cache/ap_types (never committed). Prints the folder; idempotent.
set -euo pipefail
cd "$(dirname "$0")"

VERSION=1.3.0
SHA256=01bf1de2cd9bca56699b9fe3385cb1735026b022f9580fe1d73faf192dfb90f2
WHEEL=hls4ml-$VERSION-py3-none-any.whl
CACHE=.cache
DEST=$CACHE/ap_types

if [ -f "$DEST/ap_fixed.h" ] && [ "$(cat "$DEST/.source" 2>/dev/null)" = "$WHEEL $SHA256" ]; then
    echo "$PWD/$DEST"
    exit 0
fi
mkdir -p "$CACHE"
if [ ! -f "$CACHE/$WHEEL" ]; then
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip download --quiet --no-deps "hls4ml==$VERSION" -d "$CACHE" >&2
    else
        curl -fsSL -o "$CACHE/$WHEEL" "https://files.pythonhosted.org/packages/py3/h/hls4ml/$WHEEL"
    fi
fi
echo "$SHA256  $CACHE/$WHEEL" | sha256sum --check --quiet - || {
    echo "error: $CACHE/$WHEEL does not have the pinned sha256 $SHA256" >&2
    rm -f "$CACHE/$WHEEL"
    exit 1
}
rm -rf "$DEST" "$CACHE/unpack"
python3 - "$CACHE/$WHEEL" "$CACHE/unpack" <<'PY'
import sys, zipfile
prefix = "hls4ml/templates/vivado/ap_types/"
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            wheel.extract(name, sys.argv[2])
PY
mv "$CACHE/unpack/hls4ml/templates/vivado/ap_types" "$DEST"
rm -rf "$CACHE/unpack"
# hls_stream.h carries a proprietary notice: the project writes its own stream model instead.
rm -f "$DEST/hls_stream.h"
echo "$WHEEL $SHA256" > "$DEST/.source"
echo "$PWD/$DEST"

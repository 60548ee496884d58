#!/usr/bin/env bash
# Peak memory of compress and decompress as the input grows past the chunk budget (a benchmark, not a test):
#   bash scripts/chunked_memory.sh [TILES...]      default 16 64 256 (16 MB, 63 MB and 251 MB of f32)
#   bash scripts/chunked_memory.sh --fields [TILES...]   default 1 16 64: fields, below
# The input is the shipped jet table repeated TILES times (27,214 rows of 9 f32 each time), compressed with the
# shipped jet model, plainly and error-bounded (rel:1e-3), and restored to .npy; then, for the contrast, compressed
# as one chunk (--chunk-rows the whole file), as before chunked files. Peak RSS from GNU time; the
# restored .npy is checked to be exactly the size of the input.
# Writes a table to stdout and the figures to target/chunked-memory.json. Needs target/debug/baler (the test build),
# or the binary in $BALER.
set -euo pipefail
cd "$(dirname "$0")/.."
baler=${BALER:-target/debug/baler}
[ -x "$baler" ] || { echo "build first: bash scripts/test.sh (or cargo build)" >&2; exit 1; }
work=$(mktemp -d /tmp/chunked-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT
model=models/jets-baler-9to5

# peak RSS in MiB and wall seconds of one command
measure() {
    /usr/bin/time -f "%M %e" -o "$work/time" "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
    read -r kib seconds <"$work/time"
    echo "$((kib / 1024)) $seconds"
}

# --fields: ../shared/data/lbm_square_ux.npy (80 frames of 100 x 200 f32) repeated TILES times along its frames,
# compressed without a model (error-bounded, rel:1e-3) and restored; the sample the choices are made on holds at
# most 2^22 values however many frames there are. Figures to target/chunked-memory-fields.json.
if [ "${1:-}" = "--fields" ]; then
    shift
    tiles=("$@")
    [ ${#tiles[@]} -gt 0 ] || tiles=(1 16 64)
    lbm=../shared/data/lbm_square_ux.npy
    [ -f "$lbm" ] || { echo "needs $lbm" >&2; exit 1; }
    echo "| input | frames | bounded compress: peak RSS, s | decompress: peak RSS, s |"
    echo "|---|---|---|---|"
    json="["
    for k in "${tiles[@]}"; do
        python3 - "$k" "$lbm" "$work/in.npy" <<'PY'
import struct, sys
k, lbm, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
b = open(lbm, "rb").read()
start = 10 + struct.unpack("<H", b[8:10])[0]
frames = (len(b) - start) // (100 * 200 * 4)
text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 100, 200), }" % (frames * k)
text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode())
    for _ in range(k):
        f.write(b[start:])
PY
        bytes=$(stat -c %s "$work/in.npy")
        read -r b_mib b_s < <(measure "$baler" compress -i "$work/in.npy" -o "$work/b.baler" --error-bound rel:1e-3)
        read -r d_mib d_s < <(measure "$baler" decompress -i "$work/b.baler" -o "$work/out.npy")
        [ "$(stat -c %s "$work/out.npy")" = "$bytes" ] || { echo "restored file differs in size" >&2; exit 1; }
        echo "| $((bytes / 1000000)) MB | $((80 * k)) | $b_mib MiB, $b_s | $d_mib MiB, $d_s |"
        json+="{\"input_bytes\":$bytes,\"frames\":$((80 * k)),\"bounded_compress_mib\":$b_mib,\"bounded_compress_s\":$b_s,\"decompress_mib\":$d_mib,\"decompress_s\":$d_s},"
        rm -f "$work"/*.baler "$work"/out.npy
    done
    echo "${json%,}]" >target/chunked-memory-fields.json
    echo "figures in target/chunked-memory-fields.json" >&2
    exit 0
fi
tiles=("$@")
[ ${#tiles[@]} -gt 0 ] || tiles=(16 64 256)

echo "| input | rows | compress: peak RSS, s | decompress: peak RSS, s | bounded compress: peak RSS, s | one chunk compress: peak RSS, s |"
echo "|---|---|---|---|---|---|"
json="["
for k in "${tiles[@]}"; do
    python3 - "$k" "$work/in.npy" <<'PY'
import struct, sys
k, out = int(sys.argv[1]), sys.argv[2]
b = open("data/hep_jets_dijet.npy", "rb").read()
start = 10 + struct.unpack("<H", b[8:10])[0]
rows = (len(b) - start) // 36
text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 9), }" % (rows * k)
text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode())
    for _ in range(k):
        f.write(b[start:start + rows * 36])
PY
    bytes=$(stat -c %s "$work/in.npy")
    rows=$((27214 * k))
    read -r c_mib c_s < <(measure "$baler" compress -m "$model" -i "$work/in.npy" -o "$work/c.baler")
    read -r d_mib d_s < <(measure "$baler" decompress -m "$model" -i "$work/c.baler" -o "$work/out.npy")
    [ "$(stat -c %s "$work/out.npy")" = "$bytes" ] || { echo "restored file differs in size" >&2; exit 1; }
    read -r b_mib b_s < <(measure "$baler" compress -m "$model" -i "$work/in.npy" -o "$work/b.baler" --error-bound rel:1e-3)
    read -r w_mib w_s < <(measure "$baler" compress -m "$model" -i "$work/in.npy" -o "$work/w.baler" --chunk-rows "$rows")
    echo "| $((bytes / 1000000)) MB | $rows | $c_mib MiB, $c_s | $d_mib MiB, $d_s | $b_mib MiB, $b_s | $w_mib MiB, $w_s |"
    json+="{\"input_bytes\":$bytes,\"rows\":$rows,\"compress_mib\":$c_mib,\"compress_s\":$c_s,\"decompress_mib\":$d_mib,\"decompress_s\":$d_s,\"bounded_compress_mib\":$b_mib,\"bounded_compress_s\":$b_s,\"one_chunk_compress_mib\":$w_mib,\"one_chunk_compress_s\":$w_s},"
    rm -f "$work"/*.baler "$work"/out.npy
done
echo "${json%,}]" >target/chunked-memory.json
echo "figures in target/chunked-memory.json" >&2

#!/usr/bin/env bash
# The fuzz targets (fuzz/, cargo-fuzz) in three sizes:
#   bash scripts/fuzz.sh check         build every target on stable
#   bash scripts/fuzz.sh smoke         each target briefly (installs cargo-fuzz); without nightly, `check` instead
#   bash scripts/fuzz.sh run [RUNS]    each target for RUNS inputs (default 10,000,000): a benchmark, not a test;
#                                      FUZZ_SANITIZER=none runs it several times faster, without AddressSanitizer
# Smoke runs build without a sanitizer (fast); `run` builds with AddressSanitizer, whose allocator also enforces
# -malloc_limit_mb (one allocation above 1 GiB is a finding). Seeds are made from the shipped data and models into
# fuzz/seeds/<target>/; findings land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
# the test command's clippy wrapper is the stable toolchain's: it must not compile for nightly
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^baler-fuzz$')
mode=${1:-check}

case "$mode" in
check)
    # the same target folder as the workspace, so that dependencies built for it are reused
    cargo check --manifest-path fuzz/Cargo.toml --bins --target-dir target
    exit 0
    ;;
smoke) runs=20000 sanitizer=none ;;
run) runs=${2:-10000000} sanitizer=${FUZZ_SANITIZER:-address} ;;
*)
    echo "usage: $0 check | smoke | run [RUNS]" >&2
    exit 2
    ;;
esac

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz $mode: no nightly toolchain (rustup toolchain install nightly); the targets are only built" >&2
    [ "$mode" = smoke ] && exec bash "$0" check
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# seeds from the shipped data and models (made here, not committed): a small table as .npy, .npz and .csv, a
# compressed file of it (plain and error-bounded), and the reference jet decoder (files and packed)
mkdir -p fuzz/seeds/data_file fuzz/seeds/compressed_file fuzz/seeds/model_file fuzz/seeds/frame fuzz/seeds/model_image
python3 - <<'PY'
import io, os, struct, zipfile
def npy(descr, shape, payload):
    text = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + payload
rows = [[1.5, -2.0, 3.25], [4.0, 5.5, -6.0]]
data = npy("<f4", (2, 3), b"".join(struct.pack("<3f", *r) for r in rows))
names = npy("<U2", (3,), "".join(n.ljust(2, "\0") for n in ["pt", "et", "m"]).encode("utf-32-le"))
z = io.BytesIO()
with zipfile.ZipFile(z, "w") as f:
    f.writestr("data.npy", data)
    f.writestr("names.npy", names)
open("fuzz/seeds/data_file/table.npy", "wb").write(b"\x00" + data)
open("fuzz/seeds/data_file/table.npz", "wb").write(b"\x01" + z.getvalue())
open("fuzz/seeds/data_file/table.csv", "wb").write(b"\x02pt,eta,m\n1.5,-2,3.25\n4,5.5,-6\n")
json = open("models/jets-baler-9to5/decoder.json", "rb").read()
weights = open("models/jets-baler-9to5/decoder.safetensors", "rb").read()
open("fuzz/seeds/model_file/jets-decoder", "wb").write(b"\x00" + struct.pack("<I", len(json)) + json + weights)
packed = open("models/jets-baler-9to5/quantized-decoder.pack", "rb").read()
open("fuzz/seeds/model_file/jets-decoder-packed", "wb").write(b"\x04" + packed)
# frames of the serial protocol: a HELLO, an ENCODE of two jet frames (9 codes of 2 bytes), garbage, a STATS
import zlib
def cobs(data):
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block; block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += bytes([255]) + block; block = bytearray()
    return bytes(out + bytes([len(block) + 1]) + block)
def frame(command, seq, payload):
    body = bytes([command]) + struct.pack("<H", seq) + payload
    return cobs(body + struct.pack("<I", zlib.crc32(body))) + b"\x00"
hello = frame(0x01, 1, b"\x01" + bytes(16))
encode = frame(0x03, 2, struct.pack("<H", 2) + struct.pack("<18h", *range(-9, 9)))
os.makedirs("fuzz/seeds/frame", exist_ok=True)
open("fuzz/seeds/frame/session", "wb").write(hello + encode + b"\x13\x37" + frame(0x05, 3, b""))
PY
if [ -x target/debug/baler ]; then
    python3 - <<'PY'
import struct
b = open("data/hep_jets_dijet.npy", "rb").read()
text = "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 9), }"
text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
start = 10 + struct.unpack("<H", b[8:10])[0]
header = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()
open("fuzz/seeds/jets20.npy", "wb").write(header + b[start:start + 20 * 9 * 4])
PY
    target/debug/baler compress -m models/jets-baler-9to5 -i fuzz/seeds/jets20.npy \
        -o fuzz/seeds/compressed_file/jets20.baler >/dev/null
    # an error-bounded file (version 2: latent codes and a residual section)
    target/debug/baler compress -m models/jets-baler-9to5 -i fuzz/seeds/jets20.npy --error-bound rel:1e-3 \
        -o fuzz/seeds/compressed_file/jets20-bounded.baler >/dev/null
    # chunked files (version 3: three chunks of version 1 or 2 and their index)
    target/debug/baler compress -m models/jets-baler-9to5 -i fuzz/seeds/jets20.npy --chunk-rows 7 \
        -o fuzz/seeds/compressed_file/jets20-chunked.baler >/dev/null
    target/debug/baler compress -m models/jets-baler-9to5 -i fuzz/seeds/jets20.npy --chunk-rows 7 \
        --error-bound rel:1e-3 -o fuzz/seeds/compressed_file/jets20-chunked-bounded.baler >/dev/null
    rm fuzz/seeds/jets20.npy
    # the firmware's model image of the jet encoder (written by `baler firmware`, which also builds the firmware)
    target/debug/baler firmware -m models/jets-baler-9to5 --network encoder -o fuzz/seeds/firmware >/dev/null 2>&1 &&
        cp fuzz/seeds/firmware/qemu-virt/model.bin fuzz/seeds/model_image/jets-encoder.bin
    rm -rf fuzz/seeds/firmware
fi
cd fuzz
for t in $targets; do
    corpus="corpus/$t"
    mkdir -p "$corpus"
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    echo "fuzz $t: $runs inputs" >&2
    start=$(date +%s)
    cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "$corpus" "${seeds[@]}" -- -runs="$runs" \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 2>"corpus/$t.log" || { tail -40 "corpus/$t.log" >&2; exit 1; }
    grep -aE "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" "corpus/$t.log" >&2 || true
    echo "fuzz $t: done in $(($(date +%s) - start)) s, no crash" >&2
done

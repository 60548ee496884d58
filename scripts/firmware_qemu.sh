#!/usr/bin/env bash
# The firmware on QEMU, as figures (a benchmark, not a test): for each board, the whole jet table (27,214 frames)
# encoded and restored through `serial:` against `cpu-fixed` (the files must be identical), `baler bench` of the
# board beside cpu-fixed and csim, and the firmware's sizes with the jet encoder and with an fpga-small encoder
# (9-32-16-5, trained and quantised here for a few epochs: its sizes, not its accuracy, are the point).
# Usage: bash scripts/firmware_qemu.sh [OUT]    (needs qemu-system-riscv32 and qemu-system-arm)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/firmware-qemu}
mkdir -p "$out"
baler=target/debug/baler
[ -x "$baler" ] || { echo "build first: cargo test --workspace --no-run" >&2; exit 1; }
model=models/jets-baler-9to5
data=data/hep_jets_dijet.npy

# an fpga-small model of the jet table, for its firmware sizes
bash scripts/fpga_small_model.sh "$out/fpga-small"

# the HLS project of the jet encoder, C-simulated, for the csim column
$baler hls -m $model -i $data --network encoder --csim -o "$out/hls" >/dev/null 2>&1

$baler compress -m $model -i $data --fixed --latent-precision codes -o "$out/cpu.baler" >/dev/null
$baler decompress -m $model -i "$out/cpu.baler" --fixed -o "$out/cpu.npy" >/dev/null

echo "| board | network | engine | text B | data B | bss B | model image B | board state B | fits |"
echo "|---|---|---|---|---|---|---|---|---|"
for board in qemu-virt mps2-an386; do
    for m in "$model" "$out/fpga-small/model"; do
        for fifo in "" "--fifo-address 0x44a00000"; do
            $baler firmware -m "$m" --target $board --network encoder $fifo -o "$out/sizes" >/dev/null 2>&1
            python3 - "$out/sizes/$board/firmware.json" "$m" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["sizes"]
name = "jet 9-200-100-50-5" if "jets" in sys.argv[2] else "fpga-small 9-32-16-5"
print(f"| {r['board']} | {name} encoder | {r['engine']} | {s['text']:,} | {s['data']:,} | {s['bss']:,} | {r['image_bytes']:,} | {r['state_bytes']:,} | {'yes' if r['fits'] else 'no'} |")
PY
        done
    done
done

for board in qemu-virt mps2-an386; do
    $baler firmware -m $model --target $board -o "$out/fw" >/dev/null 2>&1
    log="$out/$board-qemu.log"
    $baler firmware -m $model --target $board -o "$out/fw" --run >"$log" 2>&1 &
    runner=$!
    for _ in $(seq 100); do grep -q "/dev/pts/" "$log" && break; sleep 0.2; done
    pty=$(grep -o "/dev/pts/[0-9]*" "$log" | head -1)
    start=$(date +%s.%N)
    $baler compress -m $model -i $data --fixed --latent-precision codes -o "$out/$board.baler" --device "serial:$pty" >/dev/null
    middle=$(date +%s.%N)
    $baler decompress -m $model -i "$out/cpu.baler" --fixed -o "$out/$board.npy" --device "serial:$pty" >/dev/null
    end=$(date +%s.%N)
    cmp "$out/cpu.baler" "$out/$board.baler" && cmp "$out/cpu.npy" "$out/$board.npy" &&
        echo "$board: 27214 frames encoded in $(echo "$middle - $start" | bc) s and decoded in $(echo "$end - $middle" | bc) s through QEMU: files identical to cpu-fixed's"
    $baler bench -m $model -i $data --device "serial:$pty,cpu-fixed,csim:$out/hls/encoder" --batch 1,64,1024 \
        --seconds 2 -o "$out/bench-$board" 2>/dev/null | sed -n '/^device/,/^energy/p' | grep -v "^energy"
    pkill -P $runner qemu-system || true
    wait $runner 2>/dev/null || true
done

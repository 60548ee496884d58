#!/usr/bin/env bash
# The fuzz targets (fuzz/, cargo-fuzz) in three sizes:
#   bash scripts/fuzz.sh check         build every target on stable
#   bash scripts/fuzz.sh smoke         each target briefly (installs cargo-fuzz); without nightly, `check` instead
#   bash scripts/fuzz.sh run [RUNS]    each target for RUNS inputs (default 10,000,000): a benchmark, not a test
# Smoke runs build without a sanitizer (fast); `run` builds with AddressSanitizer, whose allocator also enforces
# -malloc_limit_mb (one allocation above 1 GiB is a finding). Seeds are the committed files under fuzz/seeds/<target>/;
# findings land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^baler-fuzz$')
mode=${1:-check}

case "$mode" in
check)
    # the same target folder as the workspace, so that dependencies built for it are reused
    cargo check --manifest-path fuzz/Cargo.toml --bins --target-dir target
    exit 0
    ;;
smoke) runs=20000 sanitizer=none ;;
run) runs=${2:-10000000} sanitizer=address ;;
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
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "corpus/$t.log" >&2 || true
    echo "fuzz $t: done in $(($(date +%s) - start)) s, no crash" >&2
done

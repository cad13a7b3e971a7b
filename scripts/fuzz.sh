#!/usr/bin/env bash
# Runs every cargo-fuzz (libFuzzer) target of fuzz/ for a fixed time and fails on the
# first crash. See docs/reliability-input.md.
#
#   scripts/fuzz.sh                   # every target, FUZZ_SECONDS (default 60) each
#   FUZZ_SECONDS=10 scripts/fuzz.sh sip_uri dial_body
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default none: the workspace forbids unsafe
#                   code, so the checks that matter are panics and the properties;
#                   set "address" to add ASan)
#   FUZZ_JOBS       libFuzzer workers per target (default 1)
#
# cargo-fuzz passes nightly-only flags (-Z sanitizer, -C passes=sancov-module); on the
# stable toolchain this project pins, RUSTC_BOOTSTRAP=1 lets rustc accept them. That
# is set for this script's cargo only.
#
# Logs go to fuzz/logs/<target>.log and crashes to fuzz/artifacts/<target>/; replay one
# with `fuzz/target/<host>/release/<target> fuzz/artifacts/<target>/crash-…`, then copy
# it to fuzz/regressions/<target>/ so `cargo test -p sipdial-hostile-tests` replays it.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"
jobs="${FUZZ_JOBS:-1}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

build_flags=(--fuzz-dir fuzz --sanitizer "$sanitizer" --debug-assertions)
echo "== building the fuzz targets (sanitizer $sanitizer)"
cargo fuzz build "${build_flags[@]}"
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")

# The binaries are run directly, so every target fuzzes the one build above.
bin_dir="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"
summary=()
status=0
mkdir -p fuzz/logs
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    seeds=()
    [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
    log="fuzz/logs/$t.log"
    echo "== $t: ${seconds}s"
    if "$bin_dir/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$seconds" \
        -dict=fuzz/dicts/json-sip.dict -max_len=65536 "${parallel[@]}" \
        -print_final_stats=1 "$corpus" "${seeds[@]}" >"$log" 2>&1; then
        result="ok"
    else
        result="CRASH"
        status=1
    fi
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    summary+=("$(printf '%-16s %-5s execs=%-10s cov=%-6s corpus=%s' "$t" "$result" "$runs" "$cov" "$(find "$corpus" -type f | wc -l)")")
    if [ "$result" != "ok" ]; then
        tail -n 40 "$log"
        echo "crash input(s): $(ls fuzz/artifacts/$t/)"
    fi
done

echo
echo "== fuzz summary (${seconds}s per target, sanitizer $sanitizer)"
printf '%s\n' "${summary[@]}"
exit "$status"

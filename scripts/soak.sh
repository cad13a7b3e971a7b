#!/usr/bin/env bash
# Soak: a steady loopback load on every route of the sipdial HTTP API (Axum adapter,
# real OpenTokDialer, fake platform with faults injected at a known rate), bounded in
# time. Fails (exit 1) on any error beyond the injected faults, or when RSS, open file
# descriptors or runtime tasks grow from the middle of the run to its end.
#
#   scripts/soak.sh                     # 5 minutes (the figures in docs/reliability.md)
#   SOAK_SECONDS=20 scripts/soak.sh     # the shortened run of .ci/run
#
# Other knobs: SOAK_RATE (requests/s, default 100), SOAK_WORKERS (default 4),
# SOAK_FAULT_EVERY (one cycle in N of each worker carries a fault, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${SOAK_SECONDS:=300}"
export SOAK_SECONDS

cargo build --quiet -p sipdial-reliability-tests --bin soak
# Bounded even if the driver hangs: the run, two warm-up seconds and a minute of margin.
exec timeout --kill-after=10 "$((SOAK_SECONDS + 62))" target/debug/soak

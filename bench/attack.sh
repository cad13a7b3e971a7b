#!/usr/bin/env bash
# Measured under attack (loopback only, bounded in time): one legitimate client dials and
# hangs up at a steady rate against axum-demo in demo mode, first alone, then while
# attackers create sessions, post garbage and oversized callbacks, hold 2,000 event
# streams and open slow connections that send one header byte a second, then after the
# attackers stopped. Records the legitimate p50/p99 and errors and the server's RSS and
# open file descriptors per phase (bench/ceilings/src/bin/attack.rs).
#
#   bash bench/attack.sh                         # from the repository root
#   PHASE_SECONDS=10 bash bench/attack.sh        # shorter
#
# Knobs: DEMO (axum-demo), PHASE_SECONDS (20), SETTLE_SECONDS (10), LEGIT_RATE (4),
#   SSE_STREAMS (2000), SLOW_CONNS (200), SESSION_ATTACKERS (2), CALLBACK_ATTACKERS (2),
#   SKIP_BUILD (0), OUT (target/bench). Writes $OUT/attack.jsonl and $OUT/attack.md.
# The demo runs with the dial limits of the session, of a client and in total raised (the
# legitimate client dials far more than 6 a minute), and trusts loopback as a proxy so
# that each client names its address in X-Forwarded-For; every other setting is its
# default (the per-client session limit too: the attackers rotate addresses). The one process this script
# starts is stopped by its PID on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DEMO=${DEMO:-axum-demo}
OUT=${OUT:-$ROOT/target/bench}
SKIP_BUILD=${SKIP_BUILD:-0}
export PHASE_SECONDS=${PHASE_SECONDS:-20} SETTLE_SECONDS=${SETTLE_SECONDS:-10}
export LEGIT_RATE=${LEGIT_RATE:-4} SSE_STREAMS=${SSE_STREAMS:-2000} SLOW_CONNS=${SLOW_CONNS:-200}
export SESSION_ATTACKERS=${SESSION_ATTACKERS:-2} CALLBACK_ATTACKERS=${CALLBACK_ATTACKERS:-2}

log() { printf '[attack %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
mkdir -p "$OUT"
if [ "$SKIP_BUILD" != 1 ]; then
  log "building release binaries"
  cargo build -q --release -p "$DEMO" -p sipdial-bench-ceilings --bin "$DEMO" --bin attack
fi
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
# 2,000 streams and the slow connections need descriptors on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

APP_PID=
cleanup() {
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    kill "$APP_PID" 2>/dev/null || true
    wait "$APP_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

env -u OPENTOK_API_KEY -u OPENTOK_API_SECRET -u VONAGE_APPLICATION_ID \
  -u VONAGE_PRIVATE_KEY_PATH -u SIP_URI -u SIPDIAL_REDIS_URL -u SIPDIAL_MOUNT \
  -u SIPDIAL_ACCESS_TOKEN \
  HOST=127.0.0.1 PORT=0 RUST_LOG=error \
  SIPDIAL_MAX_ACTIVE_CALLS=1000000 SIPDIAL_DIALS_PER_MINUTE=1000000000 \
  SIPDIAL_MAX_ACTIVE_CALLS_TOTAL=1000000 SIPDIAL_DIALS_PER_MINUTE_TOTAL=1000000000 \
  SIPDIAL_CLIENT_MAX_ACTIVE_CALLS=1000000 SIPDIAL_CLIENT_DIALS_PER_MINUTE=1000000000 \
  SIPDIAL_TRUSTED_PROXIES=127.0.0.1 \
  "$BIN/$DEMO" >"$OUT/attack-app.stdout" 2>"$OUT/attack-app.stderr" &
APP_PID=$!
url=
for _ in $(seq 1 200); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$OUT/attack-app.stdout" | head -1 || true)
  [ -n "$url" ] && break
  kill -0 "$APP_PID" 2>/dev/null || { cat "$OUT/attack-app.stderr" >&2; log "FATAL: $DEMO exited"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { log "FATAL: $DEMO did not print its URL"; exit 1; }
log "$DEMO (pid $APP_PID) at $url; phases of ${PHASE_SECONDS}s, settle ${SETTLE_SECONDS}s"

status=0
BASE=$url TARGET_PID=$APP_PID "$BIN/attack" | tee "$OUT/attack.log" || status=$?
grep '^ATTACKRESULT ' "$OUT/attack.log" | sed 's/^ATTACKRESULT //' >"$OUT/attack.jsonl"
python3 - "$OUT/attack.jsonl" >"$OUT/attack.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| phase | requests | errors | p50 ms | p99 ms | max ms | server RSS MiB | server fds |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['phase']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
          f"{r['max_ms']:.1f} | {r['server_rss_kib']/1024:.1f} | {r['server_fds']} |")
for r in rows:
    if 'attack' in r:
        print()
        print("attackers: " + ", ".join(f"{k} {v}" for k, v in r['attack'].items()))
q = next((r for r in rows if r['phase'] == 'quiet'), None)
a = next((r for r in rows if r['phase'] == 'attack'), None)
if q and a:
    print(f"\nlegitimate p99 under attack / quiet: {a['p99_ms']/q['p99_ms']:.2f}x")
PY
cat "$OUT/attack.md"
exit "$status"

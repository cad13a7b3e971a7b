#!/usr/bin/env bash
# CPU cost per request, in instructions, whatever the machine's load: the token and
# dial routes through SipDialApi::handle, the axum router and the actix scope, and the
# ceilings' handlers (bench/ceilings/src/{token,dial}_route.rs), each run by `req-cost`
# under `valgrind --tool=callgrind` against one `fake-platform` (a separate process,
# outside the count). Same configuration as bench/run.sh's examples.
#
#   bash bench/cost.sh                 # from the repository root; writes target/cost/cost.md
#   N=500 FORMS="core axum" ROUTES=dial bash bench/cost.sh
#
# Knobs: N (1000 counted requests), WARMUP (200), FORMS ("ceiling core axum actix"),
#   ROUTES ("token dial"), OUT (target/cost), SKIP_BUILD (0), POLICIES (1: the examples'
#   call policies on, a ring timeout and a maximum duration, so every dial arms its
#   timers; 0: only the expiry every call carries), METRICS (1: the examples' Prometheus
#   recorder installed, as `GET /metrics` needs; 0: no recorder, the facade's no-op).
# Each run leaves OUT/callgrind.FORM.ROUTE for `callgrind_annotate --inclusive=yes`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

N=${N:-1000}
WARMUP=${WARMUP:-200}
FORMS=${FORMS:-"ceiling core axum actix"}
ROUTES=${ROUTES:-"token dial"}
OUT=${OUT:-$ROOT/target/cost}
SKIP_BUILD=${SKIP_BUILD:-0}
POLICIES=${POLICIES:-1}
METRICS=${METRICS:-1}
policy_env=()
[ "$POLICIES" = 1 ] && policy_env=(SIP_RING_TIMEOUT_SECS=60 SIP_MAX_DURATION_SECS=3600)

API_KEY=47000001
API_SECRET=0123456789abcdef0123456789abcdef01234567
LIMIT=1000000000

log() { printf '[cost %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

command -v valgrind >/dev/null || die "valgrind is required (apt-get install valgrind)"
mkdir -p "$OUT"

if [ "$SKIP_BUILD" != 1 ]; then
  log "building release binaries"
  # The release profile keeps symbols (only debug info is stripped): enough for
  # callgrind_annotate's per-function counts, and the same binaries bench/run.sh builds.
  cargo build --release -p axum-demo -p actix-demo -p sipdial-testing -p sipdial-bench-ceilings --bins \
    >"$OUT/build.log" 2>&1 \
    || { tail -50 "$OUT/build.log" >&2; die "cargo build failed"; }
fi
BIN=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release
for b in fake-platform req-cost; do [ -x "$BIN/$b" ] || die "missing $BIN/$b"; done

FAKE_PID=
cleanup() { if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

FAKE_API_KEY=$API_KEY FAKE_API_SECRET=$API_SECRET HOST=127.0.0.1 PORT=0 FAKE_FORGET_MS=100 \
  "$BIN/fake-platform" >"$OUT/fake.out" 2>"$OUT/fake.err" &
FAKE_PID=$!
FAKE_URL=
for _ in $(seq 1 400); do
  FAKE_URL=$(sed -n 's#.*listening on \(http://[0-9.]*:[0-9]*\).*#\1#p' "$OUT/fake.out" 2>/dev/null | head -1 || true)
  [ -n "$FAKE_URL" ] && break
  kill -0 "$FAKE_PID" 2>/dev/null || die "fake-platform exited"
  sleep 0.05
done
[ -n "$FAKE_URL" ] || die "fake-platform did not start"

{
  echo "# Instructions per request (callgrind)"
  echo
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (dirty tree)') n=$N warmup=$WARMUP policies=$POLICIES metrics=$METRICS"
  echo
  echo "| route | form | instructions / request | ceiling ÷ form |"
  echo "|---|---|---:|---:|"
} >"$OUT/cost.md"

for route in $ROUTES; do
  ceiling=
  for form in $FORMS; do
    f=$OUT/callgrind.$form.$route
    rm -f "$f" "$f".*
    OPENTOK_API_KEY=$API_KEY OPENTOK_API_SECRET=$API_SECRET OPENTOK_API_URL=$FAKE_URL \
      SIP_URI='sip:bench@127.0.0.1;transport=tls' SIP_HEADERS='{"X-Bench-Run":"peer","X-Customer":"baseline"}' \
      SIP_USERNAME=bench-user SIP_PASSWORD=bench-pass SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1 \
      SIPDIAL_MAX_ACTIVE_CALLS=$LIMIT SIPDIAL_DIALS_PER_MINUTE=$LIMIT \
      SIPDIAL_MAX_ACTIVE_CALLS_TOTAL=$LIMIT SIPDIAL_DIALS_PER_MINUTE_TOTAL=$LIMIT SIPDIAL_CLIENT_MAX_ACTIVE_CALLS=$LIMIT \
      SIPDIAL_CLIENT_DIALS_PER_MINUTE=$LIMIT SIPDIAL_CLIENT_SESSIONS_PER_MINUTE=$LIMIT RUST_LOG=warn WARMUP=$WARMUP \
      REQCOST_METRICS=$METRICS env "${policy_env[@]}" \
      valgrind --tool=callgrind --callgrind-out-file="$f" --toggle-collect='*measured_requests*' \
      "$BIN/req-cost" "$form" "$route" "$N" >"$f.log" 2>&1 || { tail -20 "$f.log" >&2; die "req-cost $form $route failed"; }
    grep -q REQCOST "$f.log" || die "req-cost $form $route printed nothing"
    total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f" | head -1)
    [ -n "$total" ] || total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f" | head -1)
    per=$((total / N))
    [ "$form" = ceiling ] && ceiling=$per
    ratio=$( [ -n "$ceiling" ] && awk -v a="$ceiling" -v b="$per" 'BEGIN{printf "%.2f", a/b}' || echo "")
    log "$route $form: $per instructions/request"
    echo "| $route | $form | $per | $ratio |" >>"$OUT/cost.md"
  done
done
cat "$OUT/cost.md"

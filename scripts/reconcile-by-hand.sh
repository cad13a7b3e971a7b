#!/usr/bin/env bash
# Issue #23, run by hand: every platform callback is lost, yet a call whose far end
# answers and hangs up ends in the app within SIPDIAL_RECONCILE_SECS plus one poll.
#
# The fake platform with SIP on (FAKE_SIP=1) and FAKE_CALLBACK_DROP_RATE=1, a SIPp far
# end that answers and then hangs up (tests/sipp/answer_far_end_bye.xml), and
# axum-demo in real mode against them with SIPDIAL_RECONCILE_SECS=5. Needs sipp, curl
# and python3; builds the two binaries first. Prints how long after the dial the call
# read `ended`, and its record (endReason "Reconciled: …").
set -euo pipefail
cd "$(dirname "$0")/.."
RECONCILE_SECS=${RECONCILE_SECS:-5}
cargo build -q -p sipdial-testing --bin fake-platform -p axum-demo
BIN=${CARGO_TARGET_DIR:-target}/debug
LOGS=$(mktemp -d)
SIPP_PORT=25070 PLAT_PORT=29100 APP_PORT=29200
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
sipp -sf crates/sipdial-testing/tests/sipp/answer_far_end_bye.xml -i 127.0.0.1 \
  -p $SIPP_PORT -mp 26000 -t u1 -m 1 -timeout 60s -nostdin >"$LOGS/sipp.out" 2>&1 &
pids+=($!)
FAKE_SIP=1 FAKE_SIP_ROUTE=127.0.0.1:$SIPP_PORT FAKE_CALLBACK_DROP_RATE=1 \
  FAKE_CALLBACK_URL=http://127.0.0.1:$APP_PORT/sip/callbacks PORT=$PLAT_PORT \
  "$BIN/fake-platform" >"$LOGS/platform.out" 2>&1 &
pids+=($!)
sleep 1
OPENTOK_API_KEY=123456 OPENTOK_API_SECRET=1234567890abcdef1234567890abcdef1234567890 \
  OPENTOK_API_URL=http://127.0.0.1:$PLAT_PORT SIP_URI="sip:far@127.0.0.1:$SIPP_PORT" \
  SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1 SIPDIAL_RECONCILE_SECS=$RECONCILE_SECS PORT=$APP_PORT \
  RUST_LOG=info "$BIN/axum-demo" >"$LOGS/app.out" 2>&1 &
pids+=($!)
sleep 2
api=http://127.0.0.1:$APP_PORT/sip
json() { python3 -c "import sys,json;print(json.load(sys.stdin)[\"$1\"])"; }
session=$(curl -sf -X POST -H 'content-type: application/json' -d '{"room":"by-hand"}' $api/session | json sessionId)
start=$(date +%s.%N)
id=$(curl -sf -X POST -H 'content-type: application/json' -H 'Idempotency-Key: by-hand-1' \
  -d "{\"sessionId\":\"$session\"}" $api/dial | json id)
for _ in $(seq 1 $((RECONCILE_SECS * 4 + 20))); do
  call=$(curl -sf $api/calls/$id)
  if [ "$(echo "$call" | json state)" = ended ]; then
    echo "ended $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s after the dial: $call"
    grep -h "reconciled" "$LOGS/app.out" || true
    exit 0
  fi
  sleep 0.5
done
echo "the call never ended; logs in $LOGS" >&2
exit 1

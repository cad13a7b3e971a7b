#!/usr/bin/env bash
# The HTTP contract checked by a tool nobody here wrote: Schemathesis generates requests
# (valid and invalid ones, and stateful sequences: create a session, dial, read, hang up)
# from the OpenAPI document the demo serves and checks every answer against it.
#
#   bash scripts/schemathesis.sh                 # both demos (axum-demo, actix-demo)
#   bash scripts/schemathesis.sh axum-demo       # one of them
#   SCHEMATHESIS_SEED=1234 bash scripts/schemathesis.sh   # replay a run (the seed is printed)
#
# Knobs: SCHEMATHESIS_SEED (random), SCHEMATHESIS_MAX_EXAMPLES (30 per operation),
#   SCHEMATHESIS_MAX_TIME (60 s per demo), SKIP_BUILD (0), OUT (target/schemathesis).
# Each demo runs in demo mode (no credentials: the in-process fake platform) on loopback
# on a free port; the process this script starts is stopped by its PID on exit. Any
# failure of any check fails the script.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# The exact version: a new release brings new checks, and a red CI should come from a
# change here, not from PyPI.
SCHEMATHESIS_VERSION=4.32.5
VENV=${VENV:-$ROOT/target/venv-schemathesis}
SEED=${SCHEMATHESIS_SEED:-$(( (RANDOM << 15) | RANDOM ))}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-30}
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-60}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$ROOT/target/schemathesis}
DEMOS=("$@")
[ "${#DEMOS[@]}" -gt 0 ] || DEMOS=(axum-demo actix-demo)

log() { printf '[schemathesis %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

if [ "$SKIP_BUILD" != 1 ]; then
  cargo build -q $(printf -- '-p %s ' "${DEMOS[@]}")
fi
BIN_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/debug
mkdir -p "$OUT"

APP_PID=
stop_app() {
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    kill "$APP_PID" 2>/dev/null || true
    wait "$APP_PID" 2>/dev/null || true
  fi
  APP_PID=
}
trap stop_app EXIT
trap 'exit 130' INT TERM

# The demo's callback secret for this run, and a token signed with it (HS256, an hour
# long, no payload_hash, which the server checks only when present) so that the fuzzed
# callbacks get past the signature check to the JSON they carry.
CALLBACK_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
CALLBACK_JWT=$(CALLBACK_SECRET=$CALLBACK_SECRET python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"iss": "schemathesis", "exp": int(time.time()) + 3600}).encode())
sig = hmac.new(os.environ["CALLBACK_SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(sig)}")
PY
)

log "seed $SEED (replay: SCHEMATHESIS_SEED=$SEED bash scripts/schemathesis.sh ${DEMOS[*]})"
failed=()
for demo in "${DEMOS[@]}"; do
  stdout=$OUT/$demo.stdout
  # Demo mode: no platform credentials from the caller's environment reach the demo.
  env -u OPENTOK_API_KEY -u OPENTOK_API_SECRET -u VONAGE_APPLICATION_ID \
    -u VONAGE_PRIVATE_KEY_PATH -u SIP_URI -u SIPDIAL_REDIS_URL -u SIPDIAL_MOUNT \
    -u SIPDIAL_ACCESS_TOKEN \
    HOST=127.0.0.1 PORT=0 RUST_LOG=warn SIPDIAL_CALLBACK_SECRET="$CALLBACK_SECRET" \
    "$BIN_DIR/$demo" >"$stdout" 2>"$OUT/$demo.stderr" &
  APP_PID=$!
  url=
  for _ in $(seq 1 200); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$stdout" | head -1 || true)
    [ -n "$url" ] && break
    kill -0 "$APP_PID" 2>/dev/null || { cat "$OUT/$demo.stderr" >&2; log "FATAL: $demo exited"; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { log "FATAL: $demo did not print its URL"; exit 1; }
  log "$demo at $url"
  args=(
    --checks all
    --seed "$SEED"
    --max-examples "$MAX_EXAMPLES"
    --max-time "$MAX_TIME"
    --request-timeout 10
    --workers 1
    --generation-database none
    # The callbacks route is signed: a bearer JWT with the demo's secret reaches it.
    --header "Authorization: Bearer $CALLBACK_JWT"
    # DELETE /calls/{id} is the deprecated alias of POST /calls/{id}/hangup: it ends the
    # call and the record stays readable by design (docs/http-api.md, "Hanging up is an
    # action, not a deletion"), which ST301 would read as a use after free. The action
    # route is fuzzed like every other operation.
    --exclude-deprecated
    --report junit --report-junit-path "$OUT/$demo.junit.xml"
  )
  status=0
  # From $OUT: Schemathesis keeps a cache directory (.schemathesis) in its working one.
  (cd "$OUT" && "$VENV/bin/schemathesis" --config-file "$ROOT/scripts/schemathesis.toml" --no-color run "$url/sip/openapi.json" "${args[@]}") \
    2>&1 | tee "$OUT/$demo.log" || status=$?
  stop_app
  if [ "$status" -ne 0 ]; then
    failed+=("$demo")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  log "FAILED on: ${failed[*]} (seed $SEED; logs in $OUT)"
  exit 1
fi
log "no failures (seed $SEED)"

#!/usr/bin/env bash
# Runs the official OpenTok Node SDK's whole SIP flow (sdk-flow.js of the reference
# stack) against sipdial's FakePlatform, started from the `fake-platform` binary.
# It proves the fake accepts exactly what the official SDK sends and refuses what the
# cloud refuses. Exits non-zero on any failure.
#
# Env: SIPDIAL_PEER_DIR (default: ../shared/peer from the repository root),
#      FAKE_API_KEY / FAKE_API_SECRET (default: the sipdial-testing test credentials),
#      SDK_FLOW_TIMEOUT (seconds for the Node run, default 120).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEER_DIR="${SIPDIAL_PEER_DIR:-$ROOT/../shared/peer}"
TIMEOUT="${SDK_FLOW_TIMEOUT:-120}"

if [ ! -f "$PEER_DIR/sdk-flow.js" ] || [ ! -f "$PEER_DIR/package-lock.json" ]; then
  echo "sdk-flow: no sdk-flow.js/package-lock.json in $PEER_DIR (set SIPDIAL_PEER_DIR)" >&2
  exit 1
fi
for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "sdk-flow: $tool is not installed" >&2; exit 1; }
done

export FAKE_API_KEY="${FAKE_API_KEY:-123456}"
export FAKE_API_SECRET="${FAKE_API_SECRET:-1234567890abcdef1234567890abcdef1234567890}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sipdial-sdk-flow.XXXXXX")"
FAKE_PID=""
cleanup() {
  if [ -n "$FAKE_PID" ]; then
    kill "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "sdk-flow: installing the reference stack in $WORK/peer"
mkdir -p "$WORK/peer"
# The reference folder is read-only where it is mounted: copy it, minus any node_modules.
(cd "$PEER_DIR" && tar --exclude=./node_modules --exclude=./results -cf - .) | (cd "$WORK/peer" && tar -xf -)
chmod -R u+w "$WORK/peer"
(cd "$WORK/peer" && npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1) || {
  echo "sdk-flow: npm ci failed:" >&2
  tail -n 30 "$WORK/npm.log" >&2
  exit 1
}

echo "sdk-flow: building fake-platform"
(cd "$ROOT" && cargo build --quiet -p sipdial-testing --bin fake-platform)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/fake-platform"
[ -x "$BIN" ] || { echo "sdk-flow: $BIN was not built" >&2; exit 1; }

# SIP on: every dial places a real SIP call, answered by the bundled loopback endpoint.
FAKE_SIP="${FAKE_SIP:-1}" FAKE_SIP_ENDPOINT="${FAKE_SIP_ENDPOINT:-1}" \
  HOST=127.0.0.1 PORT=0 "$BIN" >"$WORK/fake.out" 2>"$WORK/fake.err" &
FAKE_PID=$!

URL=""
for _ in $(seq 1 100); do
  URL="$(sed -n 's/^fake platform listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$WORK/fake.out" | head -n 1)"
  [ -n "$URL" ] && break
  if ! kill -0 "$FAKE_PID" 2>/dev/null; then
    echo "sdk-flow: fake-platform exited early:" >&2
    cat "$WORK/fake.err" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$URL" ] || { echo "sdk-flow: fake-platform printed no URL within 10 s" >&2; exit 1; }
echo "sdk-flow: fake platform at $URL"

status=0
(cd "$WORK/peer" && timeout "$TIMEOUT" node sdk-flow.js "$URL") || status=$?
if [ "$status" -ne 0 ]; then
  echo "sdk-flow: FAILED (exit $status)" >&2
  exit "$status"
fi
echo "sdk-flow: ok"

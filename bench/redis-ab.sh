#!/usr/bin/env bash
# redis-server and app CPU per dial of two builds, side by side on this machine: the
# one-session dial row of bench/run.sh (one axum-demo on a fresh Redis, limits raised to
# 10^9, wrk -t2 -c32, a 3 s warm-up then 10 s measured), run for build A then build B,
# PAIRS times, interleaved so that drift on a shared machine hits both alike.
#
#   bash bench/redis-ab.sh A_RELEASE_DIR B_RELEASE_DIR [PAIRS]
#
# Each RELEASE_DIR holds `axum-demo` and `fake-platform` release binaries, e.g. this
# tree's target/release and an older commit's, built with
# `cargo build --release -p axum-demo -p sipdial-testing --bins` (in a worktree, with a
# CARGO_TARGET_DIR of its own). Needs redis-server, wrk, curl and the Node reference
# stack's wrk/bench.lua (PEER_DIR, default ../shared/peer). Prints one line per run and
# the means; every process is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 A_RELEASE_DIR B_RELEASE_DIR [PAIRS]" >&2; exit 2; }
A=$1 B=$2 PAIRS=${3:-4}
PEER_DIR=${PEER_DIR:-../shared/peer}
LUA=$PEER_DIR/wrk/bench.lua
for t in redis-server wrk curl; do command -v $t >/dev/null || { echo "$t is required" >&2; exit 1; }; done
[ -f "$LUA" ] || { echo "no $LUA (set PEER_DIR)" >&2; exit 1; }
for d in "$A" "$B"; do
  for b in axum-demo fake-platform; do [ -x "$d/$b" ] || { echo "missing $d/$b" >&2; exit 1; }; done
done
WORK=$(mktemp -d)
PIDS=()
stop() { [ ${#PIDS[@]} -eq 0 ] || kill "${PIDS[@]}" 2>/dev/null || true; PIDS=(); }
trap 'stop; rm -rf "$WORK"' EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
url_of() { # file pid
  local i u
  for i in $(seq 1 200); do
    u=$(sed -n 's#.*listening on \(http://[0-9.]*:[0-9]*\).*#\1#p' "$1" | head -1)
    [ -n "$u" ] && { echo "$u"; return 0; }
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "did not start: $1" >&2; return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
KEY=47000001 SECRET=0123456789abcdef0123456789abcdef01234567 L=1000000000
one() { # release-dir label
  local dir=$1 label=$2 w=$WORK/$2 port rp ap fake app sid r0 a0 r1 a1 line n
  mkdir -p "$w/redis"
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$w/redis" >"$w/redis.log" 2>&1 &
  rp=$!; PIDS+=("$rp")
  FAKE_API_KEY=$KEY FAKE_API_SECRET=$SECRET HOST=127.0.0.1 PORT=0 FAKE_FORGET_MS=100 \
    "$dir/fake-platform" >"$w/fake.out" 2>"$w/fake.err" &
  PIDS+=("$!"); fake=$(url_of "$w/fake.out" "$!")
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  env OPENTOK_API_KEY=$KEY OPENTOK_API_SECRET=$SECRET OPENTOK_API_URL="$fake" \
    SIP_URI='sip:bench@127.0.0.1;transport=tls' SIP_HEADERS='{"X-Bench-Run":"peer","X-Customer":"baseline"}' \
    SIP_USERNAME=bench-user SIP_PASSWORD=bench-pass \
    SIPDIAL_MAX_ACTIVE_CALLS=$L SIPDIAL_DIALS_PER_MINUTE=$L SIPDIAL_MAX_ACTIVE_CALLS_TOTAL=$L \
    SIPDIAL_DIALS_PER_MINUTE_TOTAL=$L SIPDIAL_CLIENT_MAX_ACTIVE_CALLS=$L SIPDIAL_CLIENT_DIALS_PER_MINUTE=$L \
    SIPDIAL_CLIENT_SESSIONS_PER_MINUTE=$L SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1 \
    SIPDIAL_REDIS_URL="redis://127.0.0.1:$port/" RUST_LOG=warn HOST=127.0.0.1 PORT=0 \
    "$dir/axum-demo" >"$w/app.out" 2>"$w/app.err" &
  ap=$!; PIDS+=("$ap"); app=$(url_of "$w/app.out" "$ap")
  sid=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"room":"ab"}' "$app/sip/session" \
    | sed 's/.*"sessionId":"\([^"]*\)".*/\1/')
  load() { WRK_METHOD=POST WRK_BODY="{\"sessionId\":\"$sid\"}" WRK_CONTENT_TYPE=application/json \
    wrk -t2 -c32 -d"$1"s -s "$LUA" "$app/sip/dial"; }
  load 3 >/dev/null
  r0=$(ticks "$rp"); a0=$(ticks "$ap")
  line=$(load 10 | sed -n 's/^WRKRESULT //p')
  r1=$(ticks "$rp"); a1=$(ticks "$ap")
  stop
  n=$(echo "$line" | sed 's/.*"requests":\([0-9]*\).*/\1/')
  awk -v l="$label" -v n="$n" -v rps="$(echo "$line" | sed 's/.*"rps":\([0-9.]*\).*/\1/')" \
    -v r=$((r1 - r0)) -v a=$((a1 - a0)) -v t="$(getconf CLK_TCK)" \
    -v e="$(echo "$line" | sed 's/.*"err_status":\([0-9]*\).*/\1/')" \
    'BEGIN { printf "%s %.0f %.1f %.1f %d\n", l, rps, r / t * 1e6 / n, a / t * 1e6 / n, e }'
}
echo "run req/s redis-server_µs/dial app_µs/dial non-2xx"
for i in $(seq 1 "$PAIRS"); do one "$A" "A$i"; one "$B" "B$i"; done | tee "$WORK/runs"
awk '{ k = substr($1, 1, 1); s[k] += $2; r[k] += $3; a[k] += $4; c[k]++ }
  END { for (k in c) printf "mean %s: %.0f req/s, redis-server %.1f µs/dial, app %.1f µs/dial\n", k, s[k] / c[k], r[k] / c[k], a[k] / c[k] }' "$WORK/runs" | sort

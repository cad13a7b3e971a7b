#!/usr/bin/env bash
# Load benchmark: sipdial (axum and actix examples, real sipdial-opentok dialer) against
# the Node reference stack (Express + official opentok SDK) and the bare-hyper ceilings,
# all on one fake platform (sipdial-testing's FakePlatform), loaded with wrk on 127.0.0.1.
#
#   bash bench/run.sh                    # from the repository root; writes target/bench/results.md
#   ROUNDS=1 DURATION=5 bash bench/run.sh
#
# Knobs: ROUNDS (2), DURATION s (10), WARMUP s (2), THREADS (2), CONNS ("32 64"),
#   WRK_TIMEOUT (10s), SCALE_CONCURRENCY (1000), SCALE_ROUNDS (3), DIAL_DELAY_MS (250),
#   MINT_SECONDS (3), APP_RUST_LOG (warn), PEER_DIR (../shared/peer), OUT (target/bench),
#   SKIP_BUILD (0), BENCH_REDIS (auto: 1 when redis-server is installed; 0 skips the Redis
#   rows), REDIS_ONLY (0; 1 runs only the Redis rows), SESSIONS (1000: the spread rows'
#   sessions; 0 skips those rows).
#
# Redis rows (docs/scale-out.md): token and dial through one axum-demo replica on Redis
# (SIPDIAL_REDIS_URL) vs one in memory, and two replicas on one Redis (each loaded by
# its own wrk with half the connections, summed) vs one, with the CPU per request of the
# apps, the fake platform, redis-server and the whole machine, Redis's command
# statistics per row (target/bench/commandstats/) and its memory per stored call. Three
# dial loads: "spread" (bench/wrk/spread.lua: dials round-robin over SESSIONS sessions,
# each call hung up again by the next request, as real traffic's calls end), and "dial"
# (every dial into one session and never ended: the worst case, the session holding
# every call of the run).
#
# Every round starts a fresh fake platform and fresh targets (so that neither the fake's
# request log nor the apps' call stores carry over), then runs each scenario on every
# target back to back, in an order rotated every round, so that drift hits all alike.
# Every process this script starts is tracked by PID and stopped by PID on exit.
set -euo pipefail
set -f # no globbing: request bodies are JSON passed through word lists

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
CONNS=${CONNS:-"32 64"}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
SCALE_CONCURRENCY=${SCALE_CONCURRENCY:-1000}
SCALE_ROUNDS=${SCALE_ROUNDS:-3}
DIAL_DELAY_MS=${DIAL_DELAY_MS:-250}
MINT_SECONDS=${MINT_SECONDS:-3}
APP_RUST_LOG=${APP_RUST_LOG:-warn}
PEER_DIR=${PEER_DIR:-$ROOT/../shared/peer}
OUT=${OUT:-$ROOT/target/bench}
SKIP_BUILD=${SKIP_BUILD:-0}
HOST=127.0.0.1

API_KEY=47000001
API_SECRET=0123456789abcdef0123456789abcdef01234567
SIP_URI_VALUE='sip:bench@127.0.0.1;transport=tls'
SIP_HEADERS_VALUE='{"X-Bench-Run":"peer","X-Customer":"baseline"}'
SIP_USER=bench-user
SIP_PASS=bench-pass
# The per-session limits (3 active calls, 6 dials a minute by default) would turn a
# load test into a 429 test: raise them far beyond what a run can reach.
LIMIT=1000000000

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/sipdial-bench.XXXXXX)
LOGDIR=$WORK/logs
mkdir -p "$LOGDIR"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
log "results: $OUT (logs: $LOGDIR)"

# ---------------------------------------------------------------- processes
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

stop_pid() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# wait_url FILE PID WHAT: waits for "listening on http://HOST:PORT" in FILE, prints the
# origin (no trailing slash).
wait_url() {
  local i url
  for i in $(seq 1 400); do
    url=$(sed -n 's#.*listening on \(http://[0-9.]*:[0-9]*\).*#\1#p' "$1" 2>/dev/null | head -1)
    if [ -n "$url" ]; then echo "$url"; return 0; fi
    kill -0 "$2" 2>/dev/null || { log "$3 exited during start-up:"; cat "$1" "$1.err" 2>/dev/null >&2; return 1; }
    sleep 0.05
  done
  log "$3 did not start"; return 1
}

wait_port_file() { # file pid what
  local i
  for i in $(seq 1 400); do
    if [ -s "$1" ]; then echo "http://$HOST:$(cat "$1")"; return 0; fi
    kill -0 "$2" 2>/dev/null || { log "$3 exited during start-up"; return 1; }
    sleep 0.05
  done
  log "$3 did not start"; return 1
}

proc_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Busy ticks of the whole machine (every core, every process: user nice system irq
# softirq steal), for what a row left of the cores.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- tools and builds
ensure_tools() {
  local t
  for t in cargo node npm curl; do command -v "$t" >/dev/null || die "$t is required"; done
  if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing wrk (apt-get)"
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; } >"$LOGDIR/apt.log" 2>&1 \
        || { cat "$LOGDIR/apt.log" >&2; die "could not install wrk"; }
    else
      die "wrk is required (apt-get install wrk)"
    fi
  fi
  [ -d "$PEER_DIR" ] || die "the Node reference stack is not at $PEER_DIR (set PEER_DIR)"
  # 1,000 in-flight dials hold about 3,000 sockets across the driver, app and fake.
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

build() {
  if [ "$SKIP_BUILD" != 1 ]; then
    log "building release binaries"
    cargo build --release -p axum-demo -p actix-demo -p sipdial-testing -p sipdial-bench-ceilings --bins \
      >"$LOGDIR/build.log" 2>&1 || { tail -50 "$LOGDIR/build.log" >&2; die "cargo build failed"; }
  fi
  BIN=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')/release
  local b
  for b in axum-demo actix-demo fake-platform ceiling-token ceiling-dial mint-rate dial-burst; do
    [ -x "$BIN/$b" ] || die "missing $BIN/$b"
  done
  PEER=$WORK/peer
  cp -r "$PEER_DIR" "$PEER"
  chmod -R u+w "$PEER"
  rm -rf "$PEER/node_modules" "$PEER/results"
  log "installing the reference stack's node modules (npm ci)"
  (cd "$PEER" && npm ci --no-audit --no-fund >"$LOGDIR/npm.log" 2>&1) || { cat "$LOGDIR/npm.log" >&2; die "npm ci failed"; }
}

# ---------------------------------------------------------------- targets
FAKE_PID= FAKE_URL=
start_fake() { # tag [dial delay ms]
  local f=$LOGDIR/fake-$1
  FAKE_API_KEY=$API_KEY FAKE_API_SECRET=$API_SECRET HOST=$HOST PORT=0 FAKE_DIAL_DELAY_MS=${2:-} FAKE_FORGET_MS=100 \
    "$BIN/fake-platform" >"$f.out" 2>"$f.err" &
  FAKE_PID=$!; PIDS+=("$FAKE_PID")
  FAKE_URL=$(wait_url "$f.out" "$FAKE_PID" "fake platform") || exit 1
}

declare -A PID_OF URL_OF
# Runs in the background as `app_env ... &`: exec keeps the PID that $! names the app's.
# The fake platform sends no callbacks here, so the apps start without a callback secret
# (real mode refuses that unless told, as here).
app_env() {
  exec env OPENTOK_API_KEY=$API_KEY OPENTOK_API_SECRET=$API_SECRET OPENTOK_API_URL="$FAKE_URL" \
    SIP_URI="$SIP_URI_VALUE" SIP_HEADERS="$SIP_HEADERS_VALUE" SIP_USERNAME=$SIP_USER SIP_PASSWORD=$SIP_PASS \
    SIPDIAL_MAX_ACTIVE_CALLS=$LIMIT SIPDIAL_DIALS_PER_MINUTE=$LIMIT \
    SIPDIAL_MAX_ACTIVE_CALLS_TOTAL=$LIMIT SIPDIAL_DIALS_PER_MINUTE_TOTAL=$LIMIT SIPDIAL_CLIENT_MAX_ACTIVE_CALLS=$LIMIT \
    SIPDIAL_CLIENT_DIALS_PER_MINUTE=$LIMIT SIPDIAL_CLIENT_SESSIONS_PER_MINUTE=$LIMIT \
    SIPDIAL_ALLOW_UNSIGNED_CALLBACKS=1 \
    RUST_LOG="$APP_RUST_LOG" HOST=$HOST PORT=0 "$@"
}

start_rust() { # name tag binary
  local f=$LOGDIR/$1-$2
  app_env "$BIN/$3" >"$f.out" 2>"$f.err" &
  PID_OF[$1]=$!; PIDS+=("${PID_OF[$1]}")
  URL_OF[$1]=$(wait_url "$f.out" "${PID_OF[$1]}" "$1") || exit 1
}

start_ceiling() { # name tag binary [extra env...]
  local f=$LOGDIR/$1-$2 name=$1 tag=$2 bin=$3
  shift 3
  app_env "$@" "$BIN/$bin" >"$f.out" 2>"$f.err" &
  PID_OF[$name]=$!; PIDS+=("${PID_OF[$name]}")
  URL_OF[$name]=$(wait_url "$f.out" "${PID_OF[$name]}" "$name") || exit 1
}

start_node() { # tag
  local f=$LOGDIR/node-$1 pf=$WORK/node.port
  rm -f "$pf"
  (cd "$PEER" && exec env API_KEY=$API_KEY API_SECRET=$API_SECRET SIP_URI="$SIP_URI_VALUE" \
    SIP_HEADERS="$SIP_HEADERS_VALUE" SIP_USERNAME=$SIP_USER SIP_PASSWORD=$SIP_PASS \
    OPENTOK_API_URL="$FAKE_URL" PORT=0 HOST=$HOST PORT_FILE="$pf" NODE_ENV=production \
    node app.js) >"$f.out" 2>"$f.err" &
  PID_OF[node]=$!; PIDS+=("${PID_OF[node]}")
  URL_OF[node]=$(wait_port_file "$pf" "${PID_OF[node]}" "node app") || { cat "$f.out" "$f.err" >&2; exit 1; }
}

new_session() { # base url -> session id (POST /sip/session)
  curl -fsS -X POST -H 'content-type: application/json' -d '{}' "$1/sip/session" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).sessionId))'
}

node_session() {
  curl -fsS "${URL_OF[node]}/" | sed -n "s/.*var sessionId = '\([^']*\)'.*/\1/p"
}

# ---------------------------------------------------------------- measuring
emit() { echo "$1" >>"$RESULTS"; }

# wrk_run round scenario target conns url method body warm
wrk_run() {
  local round=$1 scenario=$2 target=$3 conns=$4 url=$5 method=$6 body=$7 warm=$8
  local dur=$DURATION pid=${PID_OF[$3]} ctype=""
  [ "$warm" = 1 ] && dur=$WARMUP
  [ -n "$body" ] && ctype=application/json
  local c0 c1 f0 f1 line
  c0=$(cpu_ticks "$pid"); f0=$(cpu_ticks "$FAKE_PID")
  WRK_METHOD=$method WRK_BODY=$body WRK_CONTENT_TYPE=$ctype WRK_AUTH="" \
    wrk -t"$THREADS" -c"$conns" -d"${dur}s" --timeout "$WRK_TIMEOUT" -s "$PEER/wrk/bench.lua" "$url" \
    >"$LOGDIR/wrk-last.txt" 2>&1 || { cat "$LOGDIR/wrk-last.txt" >&2; die "wrk failed on $target $scenario"; }
  c1=$(cpu_ticks "$pid"); f1=$(cpu_ticks "$FAKE_PID")
  [ "$warm" = 1 ] && return 0
  line=$(sed -n 's/^WRKRESULT //p' "$LOGDIR/wrk-last.txt")
  [ -n "$line" ] || { cat "$LOGDIR/wrk-last.txt" >&2; die "no WRKRESULT from wrk"; }
  emit "${line%\}},\"kind\":\"wrk\",\"round\":$round,\"scenario\":\"$scenario\",\"target\":\"$target\",\"conns\":$conns,\"app_cpu_s\":$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f",(b-a)/t}'),\"fake_cpu_s\":$(awk -v a="$f0" -v b="$f1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f",(b-a)/t}'),\"load1\":$(cut -d' ' -f1 /proc/loadavg)}"
  log "r$round $scenario $target c=$conns: $(echo "$line" | sed 's/.*"rps":\([0-9.]*\).*"lat_p50_us":\([0-9]*\).*"lat_p99_us":\([0-9]*\).*"err_connect":\([0-9]*\),"err_read":\([0-9]*\),"err_write":\([0-9]*\),"err_timeout":\([0-9]*\),"err_status":\([0-9]*\).*/\1 req\/s, p50 \2 us, p99 \3 us, errors c\4 r\5 w\6 t\7 non-2xx \8/')"
}

# rotate N word...: the words rotated left by N
rotate() {
  local n=$1; shift
  local a=("$@") k=${#a[@]} i
  for ((i = 0; i < k; i++)); do printf '%s ' "${a[$(((i + n) % k))]}"; done
}

# scenario round name "target=url|method|body ..." : warm-up of each, then each conns
scenario() {
  local round=$1 name=$2; shift 2
  local specs=("$@") order spec target rest url method body c
  order=$(rotate $((round - 1)) "${specs[@]}")
  for spec in $order; do
    target=${spec%%=*}; rest=${spec#*=}
    IFS='|' read -r url method body <<<"$rest"
    wrk_run "$round" "$name" "$target" "${CONNS%% *}" "$url" "$method" "$body" 1
  done
  for c in $CONNS; do
    order=$(rotate $((round - 1 + c)) "${specs[@]}")
    for spec in $order; do
      target=${spec%%=*}; rest=${spec#*=}
      IFS='|' read -r url method body <<<"$rest"
      wrk_run "$round" "$name" "$target" "$c" "$url" "$method" "$body" 0
    done
  done
}

load_round() {
  local round=$1 t
  log "=== round $round/$ROUNDS"
  start_fake "r$round"
  start_rust axum "r$round" axum-demo
  start_rust actix "r$round" actix-demo
  start_node "r$round"
  curl -fsS "${URL_OF[axum]}/" >"$WORK/page.html"
  start_ceiling ceiling_token "r$round" ceiling-token PAGE_FILE="$WORK/page.html"
  start_ceiling ceiling_dial "r$round" ceiling-dial
  local s_axum s_actix s_node
  s_axum=$(new_session "${URL_OF[axum]}"); s_actix=$(new_session "${URL_OF[actix]}"); s_node=$(node_session)
  [ -n "$s_axum" ] && [ -n "$s_actix" ] && [ -n "$s_node" ] || die "could not create the sessions"
  # Each target checked once before it is loaded.
  curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d "{\"sessionId\":\"$s_axum\"}" "${URL_OF[axum]}/sip/dial" \
    || die "axum-demo cannot dial"
  curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d "{\"sessionId\":\"$s_axum\"}" "${URL_OF[ceiling_dial]}/sip/dial" \
    || die "ceiling-dial cannot dial"
  curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d "{\"sessionId\":\"$s_node\"}" "${URL_OF[node]}/sip/start" \
    || die "the node app cannot dial"
  for t in axum actix node ceiling_token ceiling_dial; do
    emit "{\"kind\":\"mem\",\"round\":$round,\"target\":\"$t\",\"what\":\"idle_rss_kb\",\"value\":$(proc_kb "${PID_OF[$t]}" VmRSS)}"
  done

  scenario "$round" page \
    "axum=${URL_OF[axum]}/|GET|" "actix=${URL_OF[actix]}/|GET|" "node=${URL_OF[node]}/|GET|" \
    "ceiling_token=${URL_OF[ceiling_token]}/|GET|"
  scenario "$round" token \
    "axum=${URL_OF[axum]}/sip/token|POST|{\"sessionId\":\"$s_axum\"}" \
    "actix=${URL_OF[actix]}/sip/token|POST|{\"sessionId\":\"$s_actix\"}" \
    "ceiling_token=${URL_OF[ceiling_token]}/sip/token|POST|{\"sessionId\":\"$s_axum\"}"
  for t in axum actix node; do
    emit "{\"kind\":\"mem\",\"round\":$round,\"target\":\"$t\",\"what\":\"hwm_before_dial_kb\",\"value\":$(proc_kb "${PID_OF[$t]}" VmHWM)}"
  done
  scenario "$round" dial \
    "axum=${URL_OF[axum]}/sip/dial|POST|{\"sessionId\":\"$s_axum\"}" \
    "actix=${URL_OF[actix]}/sip/dial|POST|{\"sessionId\":\"$s_actix\"}" \
    "node=${URL_OF[node]}/sip/start|POST|{\"sessionId\":\"$s_node\"}" \
    "ceiling_dial=${URL_OF[ceiling_dial]}/sip/dial|POST|{\"sessionId\":\"$s_axum\"}"
  for t in axum actix node ceiling_token ceiling_dial; do
    emit "{\"kind\":\"mem\",\"round\":$round,\"target\":\"$t\",\"what\":\"hwm_kb\",\"value\":$(proc_kb "${PID_OF[$t]}" VmHWM)}"
    emit "{\"kind\":\"mem\",\"round\":$round,\"target\":\"$t\",\"what\":\"end_rss_kb\",\"value\":$(proc_kb "${PID_OF[$t]}" VmRSS)}"
  done
  for t in axum actix node ceiling_token ceiling_dial; do stop_pid "${PID_OF[$t]}"; done
  stop_pid "$FAKE_PID"
}

scale_test() {
  log "=== scale: $SCALE_CONCURRENCY concurrent dials x $SCALE_ROUNDS, the fake holding each dial ${DIAL_DELAY_MS} ms"
  start_fake scale "$DIAL_DELAY_MS"
  start_rust axum scale axum-demo
  start_rust actix scale actix-demo
  # The dial ceiling too, for what 1,000 in-flight requests cost any hyper + reqwest app.
  start_ceiling ceiling_dial scale ceiling-dial
  local t s line s_axum
  s_axum=$(new_session "${URL_OF[axum]}")
  for t in axum actix ceiling_dial; do
    case $t in
      axum | ceiling_dial) s=$s_axum ;;
      *) s=$(new_session "${URL_OF[$t]}") ;;
    esac
    DIAL_URL="${URL_OF[$t]}/sip/dial" SESSION_ID=$s CONCURRENCY=$SCALE_CONCURRENCY ROUNDS=$SCALE_ROUNDS \
      TARGET_PID=${PID_OF[$t]} "$BIN/dial-burst" >"$LOGDIR/burst-$t.txt" 2>&1 || true
    while read -r line; do
      emit "${line%\}},\"kind\":\"scale\",\"target\":\"$t\",\"delay_ms\":$DIAL_DELAY_MS}"
      log "scale $t: $line"
    done < <(sed -n 's/^BURSTRESULT //p' "$LOGDIR/burst-$t.txt")
    grep -q BURSTRESULT "$LOGDIR/burst-$t.txt" || { cat "$LOGDIR/burst-$t.txt" >&2; die "dial-burst printed nothing"; }
  done
  for t in axum actix ceiling_dial; do stop_pid "${PID_OF[$t]}"; done
  stop_pid "$FAKE_PID"
}

mint_compare() {
  local line
  log "=== token minting in process: sipdial vs the Node SDK's generateToken"
  line=$(OPENTOK_API_KEY=$API_KEY OPENTOK_API_SECRET=$API_SECRET BENCH_SECONDS=$MINT_SECONDS "$BIN/mint-rate" | sed -n 's/^BENCHRESULT //p')
  [ -n "$line" ] || die "mint-rate printed nothing"
  emit "${line%\}},\"kind\":\"mint\",\"target\":\"sipdial\"}"
  log "sipdial mint: $line"
  line=$(cd "$PEER" && FAKE_API_KEY=$API_KEY FAKE_API_SECRET=$API_SECRET BENCH_SECONDS=$MINT_SECONDS node bench-generate-token.js | sed -n 's/^BENCHRESULT //p')
  [ -n "$line" ] || die "bench-generate-token.js printed nothing"
  emit "${line%\}},\"kind\":\"mint\",\"target\":\"node\"}"
  log "node generateToken: $line"
}

# ---------------------------------------------------------------- Redis rows
REDIS_PID= REDIS_PORT=
start_redis() {
  REDIS_PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  mkdir -p "$WORK/redis"
  redis-server --port "$REDIS_PORT" --bind $HOST --save '' --appendonly no --dir "$WORK/redis" \
    >"$LOGDIR/redis.out" 2>&1 &
  REDIS_PID=$!; PIDS+=("$REDIS_PID")
  local i
  for i in $(seq 1 200); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  die "redis-server did not start"
}

start_rust_redis() { # name tag binary
  local f=$LOGDIR/$1-$2
  SIPDIAL_REDIS_URL="redis://$HOST:$REDIS_PORT/" SIPDIAL_REDIS_PREFIX="bench-$2:" app_env "$BIN/$3" >"$f.out" 2>"$f.err" &
  PID_OF[$1]=$!; PIDS+=("${PID_OF[$1]}")
  URL_OF[$1]=$(wait_url "$f.out" "${PID_OF[$1]}" "$1") || exit 1
}

# row_cpu app_pid...: "apps fake machine" CPU ticks now (the apps summed).
row_cpu() {
  local t=0 p
  for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done
  echo "$t $(cpu_ticks "$FAKE_PID") $(machine_ticks)"
}

# cpu_fields before after: the JSON fields of a row's CPU seconds (the apps', the fake
# platform's, the whole machine's busy time; the rest of the machine's is wrk, Redis
# and whatever else ran).
cpu_fields() {
  awk -v a="$1" -v b="$2" -v t="$CLK_TCK" 'BEGIN{split(a,x," ");split(b,y," ");
    printf "\"app_cpu_s\":%.2f,\"fake_cpu_s\":%.2f,\"machine_cpu_s\":%.2f",(y[1]-x[1])/t,(y[2]-x[2])/t,(y[3]-x[3])/t}'
}

# Redis rows' load: "body" is a JSON body for the shared bench.lua (one session), or
# "@spread" for bench/wrk/spread.lua (dials over the $SESSIONS_FILE sessions, each call
# hung up again by the next request).
wrk_env() { # body -> the env words and script for wrk
  if [ "$1" = @spread ]; then
    echo "WRK_SESSIONS_FILE=$SESSIONS_FILE WRK_PREFIX=/sip $ROOT/bench/wrk/spread.lua"
  else
    echo "WRK_METHOD=POST WRK_BODY=$1 WRK_CONTENT_TYPE=application/json WRK_AUTH= $PEER/wrk/bench.lua"
  fi
}

# row_start / row_end: Redis's command statistics per row (CONFIG RESETSTAT before,
# INFO commandstats after, kept in $OUT/commandstats/), for what each row cost Redis.
row_start() { redis-cli -p "$REDIS_PORT" config resetstat >/dev/null; }
row_end() { # name
  mkdir -p "$OUT/commandstats"
  redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' >"$OUT/commandstats/$1.txt"
}

# redis_fields r0 r1 cpu0 cpu1: the CPU fields of a Redis row.
redis_fields() {
  echo "\"redis_cpu_s\":$(awk -v a="$1" -v b="$2" -v t="$CLK_TCK" 'BEGIN{printf "%.2f",(b-a)/t}'),$(cpu_fields "$3" "$4"),\"load1\":$(cut -d' ' -f1 /proc/loadavg)"
}

# wrk_pair round scenario conns url_a url_b body: two wrk at once, half the connections
# each, one per replica; the rows sum their requests (and dials and hang-ups).
wrk_pair() {
  local round=$1 scenario=$2 conns=$3 url_a=$4 url_b=$5 body=$6 half r0 r1 a b cpu0 cpu1 words
  half=$((conns / 2))
  read -r -a words <<<"$(wrk_env "$body")"
  row_start
  r0=$(cpu_ticks "$REDIS_PID")
  cpu0=$(row_cpu "${PID_OF[redis1]}" "${PID_OF[redis2]}")
  for which in a b; do
    local url=$url_a; [ $which = b ] && url=$url_b
    env "${words[@]:0:${#words[@]}-1}" \
      wrk -t1 -c"$half" -d"${DURATION}s" --timeout "$WRK_TIMEOUT" -s "${words[-1]}" "$url" \
      >"$LOGDIR/wrk-pair-$which.txt" 2>&1 &
    PIDS+=("$!")
  done
  wait "${PIDS[-1]}" "${PIDS[-2]}" || die "wrk failed on the replica pair"
  r1=$(cpu_ticks "$REDIS_PID")
  cpu1=$(row_cpu "${PID_OF[redis1]}" "${PID_OF[redis2]}")
  row_end "r$round-$scenario-redis_x2-c$conns"
  a=$(sed -n 's/^WRKRESULT //p' "$LOGDIR/wrk-pair-a.txt"); b=$(sed -n 's/^WRKRESULT //p' "$LOGDIR/wrk-pair-b.txt")
  [ -n "$a" ] && [ -n "$b" ] || die "no WRKRESULT from the pair"
  local sum
  sum=$(node -e 'const [a,b]=process.argv.slice(1).map(JSON.parse);const o={};
    for(const k of ["requests","dials","hangups","other_answers","err_connect","err_read","err_write","err_timeout","err_status"]) if(k in a) o[k]=a[k]+b[k];
    o.rps=+(a.rps+b.rps).toFixed(1);o.lat_p99_us=Math.max(a.lat_p99_us,b.lat_p99_us);
    console.log(JSON.stringify(o).slice(1,-1))' "$a" "$b")
  emit "{$sum,\"kind\":\"redis\",\"round\":$round,\"scenario\":\"$scenario\",\"target\":\"redis_x2\",\"conns\":$conns,$(redis_fields "$r0" "$r1" "$cpu0" "$cpu1")}"
  log "r$round $scenario redis_x2 c=$conns: $(echo "$sum" | sed 's/.*"rps":\([0-9.]*\).*/\1/') req/s (two replicas)"
}

# wrk_one round scenario target conns url body: one wrk, recorded as a Redis row.
wrk_one() {
  local round=$1 scenario=$2 target=$3 conns=$4 url=$5 body=$6 r0 r1 line cpu0 cpu1 app words
  app=${PID_OF[redis1]}; [ "$target" = mem ] && app=${PID_OF[mem]}
  read -r -a words <<<"$(wrk_env "$body")"
  row_start
  r0=$(cpu_ticks "$REDIS_PID")
  cpu0=$(row_cpu "$app")
  env "${words[@]:0:${#words[@]}-1}" \
    wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --timeout "$WRK_TIMEOUT" -s "${words[-1]}" "$url" \
    >"$LOGDIR/wrk-last.txt" 2>&1 || die "wrk failed on $target $scenario"
  r1=$(cpu_ticks "$REDIS_PID")
  cpu1=$(row_cpu "$app")
  row_end "r$round-$scenario-$target-c$conns"
  line=$(sed -n 's/^WRKRESULT //p' "$LOGDIR/wrk-last.txt")
  [ -n "$line" ] || { cat "$LOGDIR/wrk-last.txt" >&2; die "no WRKRESULT from wrk"; }
  emit "${line%\}},\"kind\":\"redis\",\"round\":$round,\"scenario\":\"$scenario\",\"target\":\"$target\",\"conns\":$conns,$(redis_fields "$r0" "$r1" "$cpu0" "$cpu1")}"
  log "r$round $scenario $target c=$conns: $(echo "$line" | sed 's/.*"rps":\([0-9.]*\).*/\1/') req/s"
}

redis_round() {
  local round=$1 c s_mem s_r1 s_r2 before after calls
  log "=== Redis round $round/$ROUNDS"
  start_fake "redis$round"
  start_redis
  start_rust mem "redis$round" axum-demo
  start_rust_redis redis1 "r$round" axum-demo
  start_rust_redis redis2 "r$round" axum-demo
  s_mem=$(new_session "${URL_OF[mem]}"); s_r1=$(new_session "${URL_OF[redis1]}")
  # The second replica joins the same room: the same session, from Redis.
  s_r2=$(new_session "${URL_OF[redis2]}")
  [ "$s_r1" = "$s_r2" ] || die "two replicas on one Redis disagree on the room's session"
  for c in $CONNS; do
    wrk_one "$round" token mem "$c" "${URL_OF[mem]}/sip/token" "{\"sessionId\":\"$s_mem\"}"
    wrk_one "$round" token redis_x1 "$c" "${URL_OF[redis1]}/sip/token" "{\"sessionId\":\"$s_r1\"}"
    wrk_pair "$round" token "$c" "${URL_OF[redis1]}/sip/token" "${URL_OF[redis2]}/sip/token" "{\"sessionId\":\"$s_r1\"}"
  done
  # Spread: $SESSIONS sessions (one room each), every call hung up again, as real
  # traffic's calls end; the in-memory app gets its own sessions, the replicas share
  # theirs through Redis.
  if [ "$SESSIONS" -gt 0 ]; then
    SESSIONS_FILE=$WORK/sessions-mem.txt
    node "$ROOT/bench/sessions.js" "${URL_OF[mem]}/sip" "$SESSIONS" >"$SESSIONS_FILE" || die "could not create the sessions"
    for c in $CONNS; do wrk_one "$round" spread mem "$c" "${URL_OF[mem]}/sip/dial" @spread; done
    SESSIONS_FILE=$WORK/sessions-redis.txt
    node "$ROOT/bench/sessions.js" "${URL_OF[redis1]}/sip" "$SESSIONS" >"$SESSIONS_FILE" || die "could not create the sessions"
    for c in $CONNS; do
      wrk_one "$round" spread redis_x1 "$c" "${URL_OF[redis1]}/sip/dial" @spread
      wrk_pair "$round" spread "$c" "${URL_OF[redis1]}/sip/dial" "${URL_OF[redis2]}/sip/dial" @spread
    done
  fi
  # One session, calls never ended: the worst case (the session holds every call).
  before=$(redis-cli -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  for c in $CONNS; do
    wrk_one "$round" dial mem "$c" "${URL_OF[mem]}/sip/dial" "{\"sessionId\":\"$s_mem\"}"
    wrk_one "$round" dial redis_x1 "$c" "${URL_OF[redis1]}/sip/dial" "{\"sessionId\":\"$s_r1\"}"
    wrk_pair "$round" dial "$c" "${URL_OF[redis1]}/sip/dial" "${URL_OF[redis2]}/sip/dial" "{\"sessionId\":\"$s_r1\"}"
  done
  after=$(redis-cli -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  calls=$(redis-cli -p "$REDIS_PORT" zcard "bench-r$round:calls:$s_r1")
  emit "{\"kind\":\"redis_mem\",\"round\":$round,\"calls\":$calls,\"used_memory_delta\":$((after - before)),\"bytes_per_call\":$(( (after - before) / (calls > 0 ? calls : 1) )),\"redis_rss_kb\":$(proc_kb "$REDIS_PID" VmRSS)}"
  log "redis memory: $calls calls stored, $(( (after - before) / (calls > 0 ? calls : 1) )) bytes per call (used_memory delta $((after - before)))"
  for t in mem redis1 redis2; do stop_pid "${PID_OF[$t]}"; done
  stop_pid "$REDIS_PID"; stop_pid "$FAKE_PID"
}

# ---------------------------------------------------------------- main
BENCH_REDIS=${BENCH_REDIS:-auto}
SESSIONS=${SESSIONS:-1000}
REDIS_ONLY=${REDIS_ONLY:-0}
if [ "$BENCH_REDIS" = auto ]; then
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then BENCH_REDIS=1; else BENCH_REDIS=0; fi
fi
[ "$REDIS_ONLY" = 1 ] && [ "$BENCH_REDIS" != 1 ] && die "REDIS_ONLY=1 needs redis-server and redis-cli"
ensure_tools
build
{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty tree)')"
  echo "rustc=$(rustc --version)"
  echo "node=$(node --version)"
  echo "wrk=$(wrk --version 2>&1 | head -1 | awk '{print $2}')"
  echo "kernel=$(uname -r)"
  echo "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "nproc=$(nproc)"
  echo "uptime_start=$(uptime)"
  echo "rounds=$ROUNDS duration_s=$DURATION warmup_s=$WARMUP threads=$THREADS conns=$CONNS wrk_timeout=$WRK_TIMEOUT app_rust_log=$APP_RUST_LOG"
  echo "scale_concurrency=$SCALE_CONCURRENCY scale_rounds=$SCALE_ROUNDS dial_delay_ms=$DIAL_DELAY_MS"
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2

if [ "$REDIS_ONLY" != 1 ]; then
  mint_compare
  for r in $(seq 1 "$ROUNDS"); do load_round "$r"; done
  scale_test
fi
if [ "$BENCH_REDIS" = 1 ]; then
  for r in $(seq 1 "$ROUNDS"); do redis_round "$r"; done
fi
echo "uptime_end=$(uptime)" >>"$OUT/env.txt"

if [ "$REDIS_ONLY" = 1 ]; then
  node "$ROOT/bench/summarize.js" "$OUT" --redis-only >"$OUT/results.md"
else
  node "$ROOT/bench/summarize.js" "$OUT" >"$OUT/results.md"
fi
cat "$OUT/results.md"
log "done: $OUT/results.md"

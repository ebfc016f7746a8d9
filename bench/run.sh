#!/usr/bin/env bash
# aigw benchmark: one command, see bench/README.md.
#
#   bench/run.sh [--streams=N] [--wrk_seconds=S] [--cpu_seconds=S]
#                [--requests=R] [--rounds=K] [--aigw=PATH] [--no_build]
#
# Builds //server:aigw and //bench:all, starts mock upstreams and aigw on
# ephemeral loopback ports, measures
#   (a) added latency at concurrency 1 (non-streaming and streaming TTFB),
#   (b) requests/s at concurrency 64 against a 10 ms mock, direct vs aigw,
#   (c) aigw CPU time per proxied request,
#   (d) aigw RSS idle and under load,
#   (e) concurrent streams held and aigw RSS per stream,
# prints a table and writes bench/results.txt (table + raw tool output).
# Exits non-zero only if something broke (a tool, a mock or aigw failed);
# missed targets and a missing //server:aigw target are reported, not fatal.

set -u -o pipefail

STREAMS=1000
WRK_SECONDS=8
CPU_SECONDS=5
REQUESTS=2000
ROUNDS=3
AIGW=""
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --streams=*) STREAMS="${arg#*=}" ;;
    --wrk_seconds=*) WRK_SECONDS="${arg#*=}" ;;
    --cpu_seconds=*) CPU_SECONDS="${arg#*=}" ;;
    --requests=*) REQUESTS="${arg#*=}" ;;
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --aigw=*) AIGW="${arg#*=}" ;;
    --no_build) BUILD=0 ;;
    -h | --help)
      sed -n '2,17p' "$0"
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/aigw-bench.XXXXXX)
RAW="$WORK/raw.txt"
: >"$RAW"
BROKEN=0
NOTES=()
PIDS=()

log() { echo "[bench] $*" >&2; }
broke() {
  log "BROKEN: $*"
  NOTES+=("BROKEN: $*")
  BROKEN=1
}
note() {
  log "$*"
  NOTES+=("$*")
}
raw() { # raw TITLE FILE: append a tool's output to the raw log
  {
    echo "### $1"
    cat "$2"
    echo
  } >>"$RAW"
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  sleep 0.2
  for pid in "${PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # stop one process we started, by id
  kill "$1" 2>/dev/null
  local i
  for i in $(seq 1 30); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null
}

# Streams need ~2 fds per stream in aigw, 1 in the mock and the client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_LIMIT=$(ulimit -n)
if [ "$FD_LIMIT" != unlimited ] && [ "$FD_LIMIT" -lt $((STREAMS * 2 + 256)) ]; then
  note "open-files limit $FD_LIMIT is low for $STREAMS streams (aigw needs ~2 per stream)"
fi

# ---------------------------------------------------------------- build
if ! command -v wrk >/dev/null 2>&1; then
  log "wrk not found; trying apt-get install wrk"
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -q wrk >/dev/null 2>&1 ||
      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1)
  fi
fi
HAVE_WRK=0
command -v wrk >/dev/null 2>&1 && HAVE_WRK=1
[ "$HAVE_WRK" = 1 ] || note "wrk unavailable: (b) and (c) skipped"

if [ "$BUILD" = 1 ]; then
  log "bazel build //bench:all"
  if ! bazel build //bench:all >"$WORK/build_bench.log" 2>&1; then
    tail -30 "$WORK/build_bench.log" >&2
    echo "run.sh: bazel build //bench:all failed" >&2
    exit 1
  fi
fi
BIN=$(bazel info bazel-bin 2>/dev/null || echo "$ROOT/bazel-bin")
MOCK="$BIN/bench/mock_upstream"
TTFB="$BIN/bench/ttfb"
STREAMS_BIN="$BIN/bench/streams"
for b in "$MOCK" "$TTFB" "$STREAMS_BIN"; do
  [ -x "$b" ] || { echo "run.sh: missing $b (run without --no_build)" >&2; exit 1; }
done

if [ -z "$AIGW" ]; then
  AIGW="$BIN/server/aigw"
  if [ "$BUILD" = 1 ]; then
    if bazel query //server:aigw >/dev/null 2>&1; then
      log "bazel build //server:aigw"
      if ! bazel build //server:aigw >"$WORK/build_aigw.log" 2>&1; then
        tail -30 "$WORK/build_aigw.log" >&2
        broke "bazel build //server:aigw failed"
        AIGW=""
      fi
    else
      note "target //server:aigw does not exist yet: gateway numbers skipped"
      AIGW=""
    fi
  fi
fi
if [ -n "$AIGW" ] && [ ! -x "$AIGW" ]; then
  note "no aigw binary at $AIGW: gateway numbers skipped"
  AIGW=""
fi

# ---------------------------------------------------------------- helpers
BODY="$WORK/body.json"
SBODY="$WORK/stream_body.json"
echo '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello! Say hi in one short sentence."}],"temperature":0.7,"max_tokens":64}' >"$BODY"
echo '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello! Say hi in one short sentence."}],"temperature":0.7,"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}' >"$SBODY"
PATH_V1=/v1/chat/completions

# start_mock NAME ARGS... -> sets MOCK_PORT, MOCK_PID
start_mock() {
  local name=$1
  shift
  : >"$WORK/$name.log"
  "$MOCK" --port=0 "$@" >"$WORK/$name.log" 2>&1 &
  MOCK_PID=$!
  PIDS+=("$MOCK_PID")
  MOCK_PORT=""
  local i
  for i in $(seq 1 100); do
    MOCK_PORT=$(sed -n 's/^mock listening port=\([0-9]*\).*/\1/p' "$WORK/$name.log" | head -1)
    [ -n "$MOCK_PORT" ] && return 0
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/$name.log" >&2
  echo "run.sh: mock $name did not start" >&2
  exit 1
}

# start_aigw NAME MOCK_PORT -> sets AIGW_PORT, AIGW_PID (returns 1 on failure)
start_aigw() {
  local name=$1 mport=$2
  cat >"$WORK/$name.yaml" <<EOF
listen: {http: "127.0.0.1:0", grpc: "127.0.0.1:0", admin: "127.0.0.1:0"}
providers:
  - name: mock
    type: openai
    base_url: http://127.0.0.1:$mport/v1
    api_keys: ["sk-bench"]
EOF
  : >"$WORK/$name.log"
  "$AIGW" --config="$WORK/$name.yaml" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  AIGW_PID=$!
  PIDS+=("$AIGW_PID")
  AIGW_PORT=""
  local i
  for i in $(seq 1 300); do
    AIGW_PORT=$(sed -n 's/.*aigw listening.*http=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$WORK/$name.log" | head -1)
    [ -n "$AIGW_PORT" ] && return 0
    kill -0 "$AIGW_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$WORK/$name.log" >&2
  broke "aigw ($name) did not print 'aigw listening' (exited or took >30 s)"
  AIGW_PID=""
  return 1
}

aigw_alive() { # aigw_alive WHAT: flags a crash
  if [ -n "${AIGW_PID:-}" ] && ! kill -0 "$AIGW_PID" 2>/dev/null; then
    broke "aigw died during $1 (see stderr tail below)"
    tail -20 "$WORK/$AIGW_NAME.log" >>"$RAW"
    return 1
  fi
  return 0
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }
threads_of() { awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
CLK_TCK=$(getconf CLK_TCK)

# field FILE LINE_PREFIX KEY: value of KEY=... on the line starting with PREFIX
field() { awk -v p="$2" -v k="$3" 'index($0, p) == 1 {
  for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$1"; }

# median_field PATTERN LINE KEY: median of KEY on LINE over $WORK/PATTERN.ttfb
median_field() {
  local f vals=()
  for f in "$WORK"/$1.ttfb; do
    [ -f "$f" ] && vals+=("$(field "$f" "$2" "$3")")
  done
  printf '%s\n' "${vals[@]}" | grep -E '^[0-9]+$' | sort -n |
    awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : -1) }'
}

# pin CPULIST PID: set the affinity of every thread of PID
pin() { taskset -a -p -c "$1" "$2" >/dev/null 2>&1; }
PIN=""

# run_ttfb NAME PORT BODYFILE [extra flags] -> output in $WORK/NAME.ttfb
run_ttfb() {
  local name=$1 port=$2 body=$3
  shift 3
  timeout 120 $PIN "$TTFB" --port="$port" --path="$PATH_V1" --body_file="$body" \
    --requests="$REQUESTS" --warmup=200 --max_seconds=60 --label="$name" "$@" \
    >"$WORK/$name.ttfb" 2>&1
  local rc=$?
  raw "ttfb $name" "$WORK/$name.ttfb"
  if [ $rc -ne 0 ]; then
    broke "ttfb $name failed: $(grep -m1 first_error "$WORK/$name.ttfb")"
  fi
}

# run_wrk NAME URL THREADS CONNS SECONDS -> output in $WORK/NAME.wrk, sets WRK_RPS WRK_REQS
run_wrk() {
  local name=$1 url=$2 t=$3 c=$4 d=$5
  WRK_BODY_FILE="$BODY" timeout $((d + 30)) wrk -t"$t" -c"$c" -d"${d}s" \
    -s "$ROOT/bench/post.lua" "$url" >"$WORK/$name.wrk" 2>&1
  local rc=$?
  raw "wrk $name (-t$t -c$c -d${d}s)" "$WORK/$name.wrk"
  WRK_RPS=$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$WORK/$name.wrk")
  WRK_REQS=$(awk '/requests in/ {print $1}' "$WORK/$name.wrk")
  local non2xx errs
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/$name.wrk")
  errs=$(grep -m1 'Socket errors' "$WORK/$name.wrk")
  if [ $rc -ne 0 ] || [ -z "$WRK_RPS" ]; then
    broke "wrk $name failed (rc=$rc)"
    WRK_RPS=0
    WRK_REQS=0
  elif [ -n "$non2xx" ] && [ "$non2xx" != 0 ]; then
    broke "wrk $name: $non2xx non-2xx responses"
  fi
  [ -n "$errs" ] && note "wrk $name: $errs"
  return 0
}

# sample_rss PID OUTFILE: background sampler, appends "VmRSS_kB threads"
# every 0.2 s
sample_rss() {
  while kill -0 "$1" 2>/dev/null; do
    echo "$(rss_kb "$1") $(threads_of "$1")" >>"$2"
    sleep 0.2
  done
}

us_sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a < 0 || b < 0) print "n/a"; else printf "%+d", a - b }'; }
mb() { awk -v k="$1" 'BEGIN { if (k == "" || k < 0) print "n/a"; else printf "%.1f", k / 1024 }'; }
verdict() { # verdict OK_CONDITION_AWK_EXPR
  awk "BEGIN { print (($1) ? \"ok\" : \"MISS\") }"
}

# ---------------------------------------------------------------- run
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_START" 'BEGIN { exit !(l > 0.7) }'; then
  note "load average $LOAD_START at start: other processes compete for the $(nproc) cores, numbers will be noisy"
fi
log "starting mocks"
start_mock mock_instant
M0_PORT=$MOCK_PORT M0_PID=$MOCK_PID
start_mock mock_10ms --delay_ms=10
M10_PORT=$MOCK_PORT M10_PID=$MOCK_PID
start_mock mock_slow --chunks=20 --chunk_delay_ms=500
MS_PORT=$MOCK_PORT

# Results (n/a until measured).
A_NS_D50=-1 A_NS_D99=-1 A_NS_V50=-1 A_NS_V99=-1
A_S_D50=-1 A_S_D99=-1 A_S_V50=-1 A_S_V99=-1
A_SF_D50=-1 A_SF_V50=-1
P_NS_D50=-1 P_NS_D99=-1 P_NS_V50=-1 P_NS_V99=-1
P_S_D50=-1 P_S_D99=-1 P_S_V50=-1 P_S_V99=-1
B_DIRECT=-1 B_VIA=-1
C_CPU_US=-1 C_MOCK_CPU_US=-1 C_RPS=-1 C_REQS=-1
D_IDLE=-1 D_LOAD=-1 D_HWM=-1 D_THREADS_IDLE=-1 D_THREADS_LOAD=-1
E_HELD=-1 E_DONE=-1 E_RSS_BEFORE=-1 E_RSS_HELD=-1 E_PER=-1 E_THREADS=-1 E_OPEN_MS=-1

# (a) latency at concurrency 1. Placement of the processes on the cores
# dominates loopback latency (a cross-core wake-up costs tens of us on a VM),
# so direct and via-aigw runs alternate for $ROUNDS rounds and the table shows
# the median of the rounds' percentiles; a second, pinned measurement puts
# client, mock and aigw on one core, which is stable to a few us.
AIGW_UP=0
if [ -n "$AIGW" ]; then
  AIGW_NAME=aigw_instant
  if start_aigw aigw_instant "$M0_PORT"; then
    AIGW_UP=1
    sleep 0.5
    D_IDLE=$(rss_kb "$AIGW_PID")
    D_THREADS_IDLE=$(threads_of "$AIGW_PID")
  fi
fi
log "(a) latency at concurrency 1, $ROUNDS alternating rounds"
for r in $(seq 1 "$ROUNDS"); do
  run_ttfb "direct_ns_$r" "$M0_PORT" "$BODY"
  [ "$AIGW_UP" = 1 ] && run_ttfb "via_ns_$r" "$AIGW_PORT" "$BODY"
  run_ttfb "direct_s_$r" "$M0_PORT" "$SBODY" --expect_done
  [ "$AIGW_UP" = 1 ] && run_ttfb "via_s_$r" "$AIGW_PORT" "$SBODY" --expect_done
done
A_NS_D50=$(median_field "direct_ns_[0-9]*" full_us p50)
A_NS_D99=$(median_field "direct_ns_[0-9]*" full_us p99)
A_S_D50=$(median_field "direct_s_[0-9]*" first_body_us p50)
A_S_D99=$(median_field "direct_s_[0-9]*" first_body_us p99)
A_SF_D50=$(median_field "direct_s_[0-9]*" full_us p50)
if [ "$AIGW_UP" = 1 ]; then
  A_NS_V50=$(median_field "via_ns_[0-9]*" full_us p50)
  A_NS_V99=$(median_field "via_ns_[0-9]*" full_us p99)
  A_S_V50=$(median_field "via_s_[0-9]*" first_body_us p50)
  A_S_V99=$(median_field "via_s_[0-9]*" first_body_us p99)
  A_SF_V50=$(median_field "via_s_[0-9]*" full_us p50)
fi
PIN_CPU=$(($(nproc) - 1))
if command -v taskset >/dev/null 2>&1; then
  log "(a) latency at concurrency 1, all pinned to cpu $PIN_CPU"
  pin "$PIN_CPU" "$M0_PID"
  [ "$AIGW_UP" = 1 ] && pin "$PIN_CPU" "$AIGW_PID"
  PIN="taskset -c $PIN_CPU"
  run_ttfb direct_ns_pin "$M0_PORT" "$BODY"
  run_ttfb direct_s_pin "$M0_PORT" "$SBODY" --expect_done
  if [ "$AIGW_UP" = 1 ]; then
    run_ttfb via_ns_pin "$AIGW_PORT" "$BODY"
    run_ttfb via_s_pin "$AIGW_PORT" "$SBODY" --expect_done
  fi
  PIN=""
  pin "0-$PIN_CPU" "$M0_PID"
  [ "$AIGW_UP" = 1 ] && pin "0-$PIN_CPU" "$AIGW_PID"
  P_NS_D50=$(median_field direct_ns_pin full_us p50)
  P_NS_D99=$(median_field direct_ns_pin full_us p99)
  P_S_D50=$(median_field direct_s_pin first_body_us p50)
  P_S_D99=$(median_field direct_s_pin first_body_us p99)
  if [ "$AIGW_UP" = 1 ]; then
    P_NS_V50=$(median_field via_ns_pin full_us p50)
    P_NS_V99=$(median_field via_ns_pin full_us p99)
    P_S_V50=$(median_field via_s_pin first_body_us p50)
    P_S_V99=$(median_field via_s_pin first_body_us p99)
  fi
fi

if [ "$AIGW_UP" = 1 ]; then
  aigw_alive "(a)"

  if [ "$HAVE_WRK" = 1 ] && kill -0 "$AIGW_PID" 2>/dev/null; then
    log "(c) CPU per request (wrk -c16 ${CPU_SECONDS}s via aigw, instant mock)"
    c0=$(cpu_ticks "$AIGW_PID")
    m0=$(cpu_ticks "$M0_PID")
    run_wrk cpu_via "http://127.0.0.1:$AIGW_PORT$PATH_V1" 1 16 "$CPU_SECONDS"
    c1=$(cpu_ticks "$AIGW_PID")
    m1=$(cpu_ticks "$M0_PID")
    C_RPS=$WRK_RPS
    C_REQS=$WRK_REQS
    if [ "${C_REQS:-0}" -gt 0 ] && [ -n "$c1" ]; then
      C_CPU_US=$(awk -v a="$c0" -v b="$c1" -v n="$C_REQS" -v t="$CLK_TCK" \
        'BEGIN { printf "%.1f", (b - a) * 1e6 / t / n }')
      C_MOCK_CPU_US=$(awk -v a="$m0" -v b="$m1" -v n="$C_REQS" -v t="$CLK_TCK" \
        'BEGIN { printf "%.1f", (b - a) * 1e6 / t / n }')
    fi
    aigw_alive "(c)"
  fi
  stop_pid "$AIGW_PID"
fi

# (b) throughput at concurrency 64 against the 10 ms mock
if [ "$HAVE_WRK" = 1 ]; then
  log "(b) wrk -c64 ${WRK_SECONDS}s direct"
  run_wrk direct_c64 "http://127.0.0.1:$M10_PORT$PATH_V1" 1 64 "$WRK_SECONDS"
  B_DIRECT=$WRK_RPS
  if [ -n "$AIGW" ]; then
    AIGW_NAME=aigw_10ms
    if start_aigw aigw_10ms "$M10_PORT"; then
      sleep 0.3
      log "(b) wrk -c64 ${WRK_SECONDS}s via aigw"
      sample_rss "$AIGW_PID" "$WORK/rss_load.txt" &
      SAMPLER=$!
      PIDS+=("$SAMPLER")
      run_wrk via_c64 "http://127.0.0.1:$AIGW_PORT$PATH_V1" 1 64 "$WRK_SECONDS"
      B_VIA=$WRK_RPS
      D_HWM=$(hwm_kb "$AIGW_PID")
      kill "$SAMPLER" 2>/dev/null
      wait "$SAMPLER" 2>/dev/null
      D_LOAD=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$WORK/rss_load.txt")
      D_THREADS_LOAD=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$WORK/rss_load.txt")
      aigw_alive "(b)"
      stop_pid "$AIGW_PID"
    fi
  fi
fi

# (e) concurrent streams held
if [ -n "$AIGW" ]; then
  AIGW_NAME=aigw_slow
  if start_aigw aigw_slow "$MS_PORT"; then
    sleep 0.3
    log "(e) $STREAMS concurrent streams via aigw (20 chunks, 500 ms apart)"
    timeout 150 "$STREAMS_BIN" --port="$AIGW_PORT" --path="$PATH_V1" \
      --body_file="$SBODY" --n="$STREAMS" --pid="$AIGW_PID" --timeout_s=120 \
      >"$WORK/streams.out" 2>&1
    rc=$?
    raw "streams via aigw (n=$STREAMS)" "$WORK/streams.out"
    [ $rc -ne 0 ] && broke "streams: not all $STREAMS streams held and completed: $(grep -m1 first_error "$WORK/streams.out")"
    E_HELD=$(field "$WORK/streams.out" "streams " max_held)
    E_DONE=$(field "$WORK/streams.out" "streams " completed)
    E_OPEN_MS=$(field "$WORK/streams.out" "streams " all_held_after_ms)
    E_RSS_BEFORE=$(field "$WORK/streams.out" rss_kb before)
    E_RSS_HELD=$(field "$WORK/streams.out" rss_kb all_held)
    [ "${E_RSS_HELD:--1}" -lt 0 ] && E_RSS_HELD=$(field "$WORK/streams.out" rss_kb max)
    E_PER=$(field "$WORK/streams.out" rss_kb per_stream)
    E_THREADS=$(field "$WORK/streams.out" rss_kb threads_all_held)
    aigw_alive "(e)"
    stop_pid "$AIGW_PID"
  fi
fi

# (f) CPU the request pipeline adds per request (bench/pipeline.cc: the
# filter chain alone, no sockets): consumer auth + limits in the local store,
# and the Redis store against a real redis-server on loopback.
PIPE="$BIN/bench/pipeline"
log "(f) request pipeline CPU per request"
if "$PIPE" --iterations=300000 >"$WORK/pipeline.out" 2>&1; then
  if command -v redis-server >/dev/null 2>&1; then
    REDIS_PORT=$((20000 + RANDOM % 30000))
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
      --appendonly no >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    for _ in $(seq 50); do
      redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    redis-benchmark -p "$REDIS_PORT" -n 20000 -c 1 -t ping_mbulk --csv \
      >"$WORK/redis_ping.csv" 2>&1
    raw "redis-benchmark PING, 1 connection" "$WORK/redis_ping.csv"
    F_PING_US=$(awk -F'"' '/PING/ { printf "%d", $6 * 1000 }' "$WORK/redis_ping.csv")
    "$PIPE" --iterations=100000 --redis="127.0.0.1:$REDIS_PORT" \
      >>"$WORK/pipeline.out" 2>&1 || broke "pipeline bench (redis) failed"
    stop_pid "$REDIS_PID"
  else
    note "redis-server unavailable: (f) Redis store skipped"
  fi
else
  broke "pipeline bench failed: $(tail -1 "$WORK/pipeline.out")"
fi
raw "pipeline" "$WORK/pipeline.out"
F_OPEN=$(field "$WORK/pipeline.out" "pipeline open" cpu_us_per_request)
F_LOCAL=$(field "$WORK/pipeline.out" "pipeline local" cpu_us_per_request)
F_AUTH=$(field "$WORK/pipeline.out" "pipeline auth" cpu_us_per_request)
F_REDIS=$(field "$WORK/pipeline.out" "pipeline redis" cpu_us_per_request)
F_REDIS_WALL=$(field "$WORK/pipeline.out" "pipeline redis" wall_us_per_request)

# ---------------------------------------------------------------- report
na() { if [ -z "$1" ] || [ "$1" = -1 ]; then echo n/a; else echo "$1"; fi; }
have() { [ -n "$1" ] && [ "$1" != -1 ] && [ "$1" != n/a ]; }

ADD_NS50=$(us_sub "$A_NS_V50" "$A_NS_D50")
ADD_NS99=$(us_sub "$A_NS_V99" "$A_NS_D99")
ADD_S50=$(us_sub "$A_S_V50" "$A_S_D50")
ADD_S99=$(us_sub "$A_S_V99" "$A_S_D99")
ADD_SF50=$(us_sub "$A_SF_V50" "$A_SF_D50")
PADD_NS50=$(us_sub "$P_NS_V50" "$P_NS_D50")
PADD_NS99=$(us_sub "$P_NS_V99" "$P_NS_D99")
PADD_S50=$(us_sub "$P_S_V50" "$P_S_D50")
PADD_S99=$(us_sub "$P_S_V99" "$P_S_D99")
V_NS99=n/a V_S99=n/a V_B=n/a V_C=n/a V_E=n/a RATIO=n/a
have "$A_NS_V99" && V_NS99=$(verdict "$A_NS_V99 - $A_NS_D99 <= 150")
have "$A_S_V99" && V_S99=$(verdict "$A_S_V99 - $A_S_D99 <= 150")
if have "$B_VIA" && have "$B_DIRECT" && [ "$B_DIRECT" -gt 0 ]; then
  RATIO=$(awk -v a="$B_VIA" -v b="$B_DIRECT" 'BEGIN { printf "%.1f%%", 100 * a / b }')
  V_B=$(verdict "$B_VIA >= 0.95 * $B_DIRECT")
fi
have "$C_CPU_US" && V_C=$(verdict "$C_CPU_US <= 50")
have "$E_HELD" && have "$E_DONE" && V_E=$(verdict "$E_HELD >= 1000 && $E_DONE == $E_HELD")
PER_STREAM=n/a
have "$E_PER" && PER_STREAM="$E_PER KB"
F_ADDED=n/a F_ADDED_AUTH=n/a F_ADDED_REDIS=n/a V_F=n/a
if have "$F_OPEN" && have "$F_LOCAL"; then
  F_ADDED=$(awk -v a="$F_LOCAL" -v b="$F_OPEN" 'BEGIN { printf "%.2f", a - b }')
  V_F=$(verdict "$F_ADDED <= 3")
fi
have "$F_OPEN" && have "$F_AUTH" &&
  F_ADDED_AUTH=$(awk -v a="$F_AUTH" -v b="$F_OPEN" 'BEGIN { printf "%.2f", a - b }')
have "$F_REDIS" && have "$F_OPEN" &&
  F_ADDED_REDIS=$(awk -v a="$F_REDIS" -v b="$F_OPEN" 'BEGIN { printf "%.1f", a - b }')

LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
{
  echo "aigw bench  $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) cores ($CPU_MODEL), $(uname -r)"
  echo "aigw: ${AIGW:-none}"
  echo "mocks, aigw and load tools share these cores over loopback; load average at start $LOAD_START, end $LOAD_END"
  echo
  printf '%-44s %10s %10s %12s  %-14s %s\n' "metric" "direct" "via aigw" "added/ratio" "target" "status"
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(a) non-stream full response p50 (us)*" "$(na "$A_NS_D50")" "$(na "$A_NS_V50")" "$ADD_NS50" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(a) non-stream full response p99 (us)*" "$(na "$A_NS_D99")" "$(na "$A_NS_V99")" "$ADD_NS99" "added<=150us" "$V_NS99"
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(a) stream time to first event p50 (us)*" "$(na "$A_S_D50")" "$(na "$A_S_V50")" "$ADD_S50" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(a) stream time to first event p99 (us)*" "$(na "$A_S_D99")" "$(na "$A_S_V99")" "$ADD_S99" "added<=150us" "$V_S99"
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(a) stream full (10 chunks) p50 (us)*" "$(na "$A_SF_D50")" "$(na "$A_SF_V50")" "$ADD_SF50" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "    pinned to 1 core: non-stream p50 (us)" "$(na "$P_NS_D50")" "$(na "$P_NS_V50")" "$PADD_NS50" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "    pinned to 1 core: non-stream p99 (us)" "$(na "$P_NS_D99")" "$(na "$P_NS_V99")" "$PADD_NS99" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "    pinned to 1 core: stream first event p50" "$(na "$P_S_D50")" "$(na "$P_S_V50")" "$PADD_S50" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "    pinned to 1 core: stream first event p99" "$(na "$P_S_D99")" "$(na "$P_S_V99")" "$PADD_S99" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(b) req/s, c=64, mock answers in 10 ms" "$(na "$B_DIRECT")" "$(na "$B_VIA")" "$RATIO" ">=95% direct" "$V_B"
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(c) aigw CPU per request (us), c=16" "" "$(na "$C_CPU_US")" "" "<=50us" "$V_C"
  printf '%-44s %10s %10s %12s  %-14s %s\n' "    mock CPU per request (us), same run" "$(na "$C_MOCK_CPU_US")" "" "" "reference" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "    req/s via aigw in that run, instant mock" "" "$(na "$C_RPS")" "$(na "$C_REQS") reqs" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(d) aigw RSS idle (MB)" "" "$(mb "$D_IDLE")" "" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(d) aigw RSS c=64 load: max / VmHWM (MB)" "" "$(mb "$D_LOAD")/$(mb "$D_HWM")" "" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(d) aigw threads idle / under load" "" "$(na "$D_THREADS_IDLE")/$(na "$D_THREADS_LOAD")" "" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(e) streams held at once / completed" "" "$(na "$E_HELD")/$(na "$E_DONE")" "of $STREAMS" ">=1000" "$V_E"
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(e) aigw RSS before / while held (MB)" "" "$(mb "$E_RSS_BEFORE")/$(mb "$E_RSS_HELD")" "" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(e) aigw RSS per held stream" "" "$PER_STREAM" "" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(e) aigw threads while held; ms to hold all" "" "$(na "$E_THREADS")" "$(na "$E_OPEN_MS") ms" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(f) pipeline CPU/request: open (us)" "" "$(na "$F_OPEN")" "" "reference" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(f) + consumer auth (us)" "" "$(na "$F_AUTH")" "$F_ADDED_AUTH" "" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(f) + auth + local limits (us)" "" "$(na "$F_LOCAL")" "$F_ADDED" "added<=3us" "$V_F"
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(f) + auth + Redis limits, CPU (us)" "" "$(na "$F_REDIS")" "$F_ADDED_REDIS" "2 round trips" ""
  printf '%-44s %10s %10s %12s  %-14s %s\n' "(f)   Redis limits wall / PING RTT (us)" "" "$(na "$F_REDIS_WALL")" "$(na "$F_PING_US")" "reference" ""
  echo "* median over $ROUNDS alternating rounds of $REQUESTS requests, unpinned"
  if [ ${#NOTES[@]} -gt 0 ]; then
    echo
    for n in "${NOTES[@]}"; do echo "note: $n"; done
  fi
} >"$WORK/table.txt"

cat "$WORK/table.txt"
{
  cat "$WORK/table.txt"
  echo
  echo "---- raw tool output ----"
  cat "$RAW"
} >"$ROOT/bench/results.txt"
log "wrote bench/results.txt"
exit "$BROKEN"

#!/usr/bin/env bash
# aigw benchmark: one command, see bench/README.md.
#
#   bench/run.sh [--quick] [--streams=N] [--slowloris=N] [--head_timeout=S]
#                [--wrk_seconds=S] [--cpu_seconds=S] [--cpu_rounds=K]
#                [--syscall_seconds=S]
#                [--requests=R] [--rounds=K] [--aigw=PATH] [--pipeline=PATH]
#                [--wait_idle=S] [--out=FILE] [--no_build]
#
# Builds the bench tools and //server:aigw, starts event-driven mock
# upstreams, nginx as a plain reverse proxy, aigw with an openai provider
# and aigw with a qwen (DashScope-native) provider, all on loopback, and
# measures side by side, with the same mocks and clients:
#   1. gateway CPU per proxied request (non-streaming, streaming 10 chunks)
#   2. syscalls per request (perf, else strace, else skipped)
#   3. max throughput at c=64 (instant mock), and at c=64 against a 10 ms mock
#   4. added latency at c=1 over direct (full response, stream first event)
#   5. N concurrent SSE streams (default 10,000): held, completed, RSS, threads
#   6. slowloris: N slow-header connections, when they are closed, RSS, and a
#      legitimate request's latency meanwhile
#   d. RSS and threads idle and under load;  f. request pipeline CPU
# prints a table (nginx, aigw, aigw-qwen, ratios to nginx) and writes it with
# the raw tool output to bench/results.txt (or --out=FILE). Exit status is
# non-zero only if something broke (a tool, a mock or nginx failed, aigw did
# not start or answered errors under plain load); missed targets are
# reported as MISS.
# Before each measurement it waits up to --wait_idle seconds (default 60,
# 0 = never) for other processes to leave the CPUs idle (< 25 % busy).

set -u -o pipefail

QUICK=0
for arg in "$@"; do [ "$arg" = --quick ] && QUICK=1; done
if [ "$QUICK" = 1 ]; then
  STREAMS=500 SLOWLORIS=500 WRK_SECONDS=2 CPU_SECONDS=2 CPU_ROUNDS=1 SYS_SECONDS=1
  REQUESTS=500 ROUNDS=1 STREAM_RAMP=2 STREAM_CHUNKS=10 STREAM_CHUNK_MS=300
  SLOW_RAMP=1 PIPE_ITER=50000 REDIS_ITER=10000
else
  STREAMS=10000 SLOWLORIS=5000 WRK_SECONDS=8 CPU_SECONDS=3 CPU_ROUNDS=3 SYS_SECONDS=3
  REQUESTS=2000 ROUNDS=5 STREAM_RAMP=10 STREAM_CHUNKS=20 STREAM_CHUNK_MS=1000
  SLOW_RAMP=2 PIPE_ITER=300000 REDIS_ITER=100000
fi
HEAD_TIMEOUT=5
WAIT_IDLE=60
AIGW=""
PIPELINE=""
OUT=""
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --quick) ;;
    --streams=*) STREAMS="${arg#*=}" ;;
    --slowloris=*) SLOWLORIS="${arg#*=}" ;;
    --head_timeout=*) HEAD_TIMEOUT="${arg#*=}" ;;
    --wrk_seconds=*) WRK_SECONDS="${arg#*=}" ;;
    --cpu_seconds=*) CPU_SECONDS="${arg#*=}" ;;
    --cpu_rounds=*) CPU_ROUNDS="${arg#*=}" ;;
    --syscall_seconds=*) SYS_SECONDS="${arg#*=}" ;;
    --requests=*) REQUESTS="${arg#*=}" ;;
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --aigw=*) AIGW="${arg#*=}" ;;
    --pipeline=*) PIPELINE="${arg#*=}" ;;
    --out=*) OUT="${arg#*=}" ;;
    --no_build) BUILD=0 ;;
    --wait_idle=*) WAIT_IDLE="${arg#*=}" ;;
    -h | --help)
      sed -n '2,29p' "$0"
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done
for v in STREAMS SLOWLORIS HEAD_TIMEOUT WRK_SECONDS CPU_SECONDS CPU_ROUNDS SYS_SECONDS REQUESTS ROUNDS; do
  case "${!v}" in
    '' | *[!0-9]* | 0)
      echo "run.sh: --$(echo "$v" | tr 'A-Z' 'a-z') must be a positive integer" >&2
      exit 2
      ;;
  esac
done

case "$WAIT_IDLE" in '' | *[!0-9]*)
  echo "run.sh: --wait_idle must be a number of seconds" >&2
  exit 2
  ;;
esac

[ -n "$OUT" ] && case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
[ -n "$OUT" ] || OUT="$ROOT/bench/results.txt"
WORK=$(mktemp -d /tmp/aigw-bench.XXXXXX)
# nginx's workers may run as another user: they must reach their prefix.
chmod 755 "$WORK"
RAW="$WORK/raw.txt"
: >"$RAW"
BROKEN=0
NOTES=()
PIDS=()          # every process we started, stopped by id on exit
NGINX_WORKERS=() # nginx workers (children of a master we started)
NCPU=$(nproc)
LAST_CPU=$((NCPU - 1))

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
    cat "$2" 2>/dev/null
    echo
  } >>"$RAW"
}

comm_of() { cat "/proc/$1/comm" 2>/dev/null; }
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  # Workers outlive a killed master: end those still running nginx.
  for pid in "${NGINX_WORKERS[@]}"; do
    [ "$(comm_of "$pid")" = nginx ] && kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # stop one process we started, by id
  [ -n "${1:-}" ] || return 0
  kill "$1" 2>/dev/null
  local i
  for i in $(seq 1 50); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# Streams need ~2 descriptors per stream in a gateway, 1 in the mock and the
# client; raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_LIMIT=$(ulimit -n)
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576
if [ "$FD_LIMIT" -lt $((STREAMS * 2 + 64)) ]; then
  note "open-files limit $FD_LIMIT (hard) is below 2 x $STREAMS + 64: a one-process gateway cannot hold all $STREAMS streams (client + upstream socket each)"
fi

# ---------------------------------------------------------------- tools
apt_install() { # apt_install PKG...: as root, quietly; updates once if needed
  [ "$(id -u)" = 0 ] || return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$WORK/apt.log" 2>&1 ||
    { apt-get update -q >>"$WORK/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$WORK/apt.log" 2>&1; }
}
if ! command -v wrk >/dev/null 2>&1; then
  log "wrk not found; trying apt-get install wrk"
  apt_install wrk
fi
HAVE_WRK=0
command -v wrk >/dev/null 2>&1 && HAVE_WRK=1
[ "$HAVE_WRK" = 1 ] || note "wrk unavailable: figures 1-3 skipped"

find_nginx() {
  NGINX=$(command -v nginx 2>/dev/null || true)
  [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
  [ -n "$NGINX" ]
}
if ! find_nginx; then
  log "nginx not found; trying apt-get install nginx-light (else nginx)"
  apt_install nginx-light || apt_install nginx
  find_nginx || NGINX=""
fi
if [ -n "$NGINX" ]; then
  NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
else
  note "nginx unavailable (apt-get install nginx-light failed): nginx columns skipped"
  NGINX_VERSION=none
fi

SYSCALLS=none
if command -v perf >/dev/null 2>&1 &&
  perf stat -e raw_syscalls:sys_enter -x, -o /dev/null -- true >/dev/null 2>&1; then
  SYSCALLS=perf
elif command -v strace >/dev/null 2>&1; then
  SYSCALLS=strace
else
  note "neither perf (raw_syscalls tracepoint) nor strace available: figure 2 skipped"
fi

# ---------------------------------------------------------------- build
TOOLS="//bench:mock_upstream //bench:ttfb //bench:streams //bench:slowloris"
if [ "$BUILD" = 1 ]; then
  log "bazel build bench tools"
  # shellcheck disable=SC2086
  if ! bazel build $TOOLS >"$WORK/build_bench.log" 2>&1; then
    tail -30 "$WORK/build_bench.log" >&2
    echo "run.sh: bazel build of the bench tools failed" >&2
    exit 1
  fi
fi
BIN=$(bazel info bazel-bin 2>/dev/null || echo "$ROOT/bazel-bin")
MOCK="$BIN/bench/mock_upstream"
TTFB="$BIN/bench/ttfb"
STREAMS_BIN="$BIN/bench/streams"
SLOWLORIS_BIN="$BIN/bench/slowloris"
for b in "$MOCK" "$TTFB" "$STREAMS_BIN" "$SLOWLORIS_BIN"; do
  [ -x "$b" ] || { echo "run.sh: missing $b (run without --no_build)" >&2; exit 1; }
done

if [ -z "$PIPELINE" ]; then
  PIPELINE="$BIN/bench/pipeline"
  if [ "$BUILD" = 1 ]; then
    log "bazel build //bench:pipeline"
    bazel build //bench:pipeline >"$WORK/build_pipeline.log" 2>&1 ||
      { note "bazel build //bench:pipeline failed: (f) skipped"; PIPELINE=""; }
  fi
fi
[ -n "$PIPELINE" ] && [ ! -x "$PIPELINE" ] && { note "no pipeline binary at $PIPELINE: (f) skipped"; PIPELINE=""; }

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
CLK_TCK=$(getconf CLK_TCK)

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }
threads_of() { awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }
sum_status() { # sum_status FIELD PID...: summed over the processes
  local f=$1 p s=0 any=0 v
  shift
  for p in "$@"; do
    v=$(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/status" 2>/dev/null)
    [ -n "$v" ] && { s=$((s + v)); any=1; }
  done
  [ "$any" = 1 ] && echo "$s" || echo -1
}
cpu_ticks() { # cpu_ticks PID...: utime+stime summed (exited threads included)
  local p s=0 v
  for p in "$@"; do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
children_of() { # children_of PID: ids of its child processes (from /proc)
  local parent=$1 f s fields
  for f in /proc/[0-9]*/stat; do
    s=$(cat "$f" 2>/dev/null) || continue
    s=${s##*) }         # after "pid (comm) ": state ppid ...
    read -r -a fields <<<"$s"
    if [ "${fields[1]:-}" = "$parent" ]; then
      f=${f#/proc/}
      echo "${f%/stat}"
    fi
  done
}
port_in_use() { # port_in_use PORT: a TCP listener on it
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v h="$hex" 'substr($2, length($2) - 4) == h && $4 == "0A" { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# field FILE LINE_PREFIX KEY: value of KEY=... on the line starting with PREFIX
field() { awk -v p="$2" -v k="$3" 'index($0, p) == 1 {
  for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$1" 2>/dev/null; }

# median_field PATTERN LINE KEY: median of KEY on LINE over $WORK/PATTERN.ttfb
median_field() {
  local f vals=()
  for f in "$WORK"/$1.ttfb; do
    [ -f "$f" ] && vals+=("$(field "$f" "$2" "$3")")
  done
  printf '%s\n' "${vals[@]}" | grep -E '^[0-9]+$' | sort -n |
    awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : -1) }'
}

# ---- mocks
declare -A MOCK_PID_OF
# start_mock NAME ARGS... -> sets MOCK_PORT, MOCK_PID
start_mock() {
  local name=$1
  shift
  "$MOCK" --port=0 "$@" >"$WORK/$name.log" 2>&1 &
  MOCK_PID=$!
  PIDS+=("$MOCK_PID")
  MOCK_PORT=""
  local i
  for i in $(seq 1 100); do
    MOCK_PORT=$(sed -n 's/^mock listening port=\([0-9]*\).*/\1/p' "$WORK/$name.log" | head -1)
    [ -n "$MOCK_PORT" ] && { MOCK_PID_OF[$MOCK_PORT]=$MOCK_PID; return 0; }
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/$name.log" >&2
  echo "run.sh: mock $name did not start" >&2
  exit 1
}

# ---- gateways. A target is direct (the mock itself), nginx, aigw (openai
# provider) or qwen (aigw, qwen provider, DashScope-native upstream).
declare -A PORT PIDLIST CPUPIDS MAINPID
GWS=()
[ -n "$NGINX" ] && GWS+=(nginx)
[ -n "$AIGW" ] && GWS+=(aigw qwen)
TARGETS=(direct "${GWS[@]}")
declare -A LABEL=([direct]=direct [nginx]=nginx [aigw]=aigw [qwen]=aigw-qwen)

# Enough for every stream on one worker (client + upstream), within the
# descriptor limit; nginx allocates its connection table up front.
NGX_CONNECTIONS=$((STREAMS * 2 + 1024))
[ "$NGX_CONNECTIONS" -gt $((FD_LIMIT - 64)) ] && NGX_CONNECTIONS=$((FD_LIMIT - 64))

# start_nginx NAME MOCK_PORT -> PORT/PIDLIST/CPUPIDS/MAINPID[nginx]
start_nginx() {
  local name=$1 mport=$2 dir="$WORK/$1" attempt port master i workers
  mkdir -p "$dir"
  chmod 755 "$dir"
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 12000))
    port_in_use "$port" && continue
    cat >"$dir/nginx.conf" <<EOF
# nginx as a plain reverse proxy in front of the mock (bench/run.sh).
worker_processes auto;
worker_rlimit_nofile $FD_LIMIT;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
  worker_connections $NGX_CONNECTIONS;
}
http {
  access_log off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
  client_header_timeout ${HEAD_TIMEOUT}s;
  upstream mock {
    server 127.0.0.1:$mport;
    keepalive 512;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
EOF
    : >"$dir/error.log"
    "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
    master=$!
    PIDS+=("$master")
    for i in $(seq 1 50); do
      kill -0 "$master" 2>/dev/null || break
      if port_in_use "$port"; then
        workers=$(children_of "$master" | tr '\n' ' ')
        [ "$(echo "$workers" | wc -w)" -ge "$NCPU" ] || { sleep 0.1; continue; }
        # shellcheck disable=SC2206
        NGINX_WORKERS+=($workers)
        PORT[nginx]=$port
        MAINPID[nginx]=$master
        CPUPIDS[nginx]="${workers% }"
        PIDLIST[nginx]=$(echo "$master $workers" | tr -s ' ' ',' | sed 's/,$//')
        return 0
      fi
      sleep 0.1
    done
    stop_pid "$master"
    grep -q "in use" "$dir/error.log" && continue
    break
  done
  cat "$dir/error.log" "$dir/stdout.log" >&2
  broke "nginx ($name) did not start"
  unset 'PORT[nginx]'
  return 1
}

# start_aigw NAME TYPE MOCK_PORT [PROTECTION] -> PORT/... of TYPE (aigw|qwen)
AIGW_NO_PROTECTION=0
start_aigw() {
  local name=$1 type=$2 mport=$3 protection=${4:-} pid port i
  {
    echo 'listen: {http: "127.0.0.1:0", grpc: "127.0.0.1:0", admin: "127.0.0.1:0"}'
    # The streams phase runs at this machine's descriptor limit (2 per
    # stream): load shedding, at 90% of it by default, would refuse the
    # last tenth; it is told to shed only at the very end.
    [ "$protection" = protection ] && [ "$AIGW_NO_PROTECTION" = 0 ] &&
      echo "protection: {head_timeout: ${HEAD_TIMEOUT}s}"
    [ "$protection" = streams ] && [ "$AIGW_NO_PROTECTION" = 0 ] &&
      echo "protection: {shed_fd_ratio: 0.999}"
    echo 'providers:'
    if [ "$type" = qwen ]; then
      printf '  - name: dashscope\n    type: qwen\n    base_url: http://127.0.0.1:%s\n    api_keys: ["k"]\n' "$mport"
    else
      printf '  - name: mock\n    type: openai\n    base_url: http://127.0.0.1:%s/v1\n    api_keys: ["sk-bench"]\n' "$mport"
    fi
  } >"$WORK/$name.yaml"
  "$AIGW" --config="$WORK/$name.yaml" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  pid=$!
  PIDS+=("$pid")
  for i in $(seq 1 300); do
    port=$(sed -n 's/.*aigw listening.*http=[^ ]*:\([0-9][0-9]*\).*/\1/p' "$WORK/$name.log" | head -1)
    if [ -n "$port" ]; then
      PORT[$type]=$port
      MAINPID[$type]=$pid
      CPUPIDS[$type]=$pid
      PIDLIST[$type]=$pid
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  wait "$pid" 2>/dev/null
  if [ -n "$protection" ] && [ "$AIGW_NO_PROTECTION" = 0 ] &&
    grep -q "protection" "$WORK/$name.log"; then
    note "this aigw rejects the protection: key ($(grep -m1 -o 'protection: [^(]*' "$WORK/$name.log" | sed 's/ *$//')): streams and slowloris run without it (no shed_fd_ratio, no head_timeout)"
    AIGW_NO_PROTECTION=1
    start_aigw "$@"
    return $?
  fi
  tail -20 "$WORK/$name.log" >&2
  broke "aigw ($name) did not print 'aigw listening' (exited or took >30 s)"
  unset "PORT[$type]"
  return 1
}

# start_target T PHASE MOCK_PORT [protection]
start_target() {
  local t=$1 phase=$2 mport=$3
  unset "PORT[$t]"
  case "$t" in
    direct)
      PORT[direct]=$mport
      MAINPID[direct]=""
      CPUPIDS[direct]=${MOCK_PID_OF[$mport]}
      PIDLIST[direct]=${MOCK_PID_OF[$mport]}
      ;;
    nginx) start_nginx "nginx_$phase" "$mport" ;;
    aigw | qwen) start_aigw "${t}_$phase" "$t" "$mport" "${4:-}" ;;
  esac
}
up() { [ -n "${PORT[$1]:-}" ]; }
stop_target() {
  local t=$1 w
  if [ -n "${MAINPID[$t]:-}" ]; then
    stop_pid "${MAINPID[$t]}"
    if [ "$t" = nginx ]; then
      for w in ${CPUPIDS[nginx]}; do
        [ "$(comm_of "$w")" = nginx ] && kill -9 "$w" 2>/dev/null
      done
    fi
  fi
  unset "PORT[$t]"
  MAINPID[$t]=""
}
alive() { # alive T WHAT: the gateway still runs; flags a crash
  local t=$1 p
  [ "$t" = direct ] && return 0
  p=${MAINPID[$t]:-}
  if [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then
    note "${LABEL[$t]} died during $2"
    return 1
  fi
  return 0
}

pin_target() { # pin_target T CPULIST: every thread of the target's processes
  local p
  for p in ${PIDLIST[$1]//,/ }; do taskset -a -p -c "$2" "$p" >/dev/null 2>&1; done
}
PIN=""

# run_ttfb NAME PORT BODYFILE [extra flags] -> $WORK/NAME.ttfb; returns rc.
# --requests, --warmup and --max_seconds default to $REQUESTS, 200 and 60.
run_ttfb() {
  local name=$1 port=$2 body=$3 def=()
  shift 3
  [[ " $* " == *" --requests="* ]] || def+=(--requests="$REQUESTS")
  [[ " $* " == *" --warmup="* ]] || def+=(--warmup=200)
  [[ " $* " == *" --max_seconds="* ]] || def+=(--max_seconds=60)
  timeout 120 $PIN "$TTFB" --port="$port" --path="$PATH_V1" --body_file="$body" \
    --label="$name" "${def[@]}" "$@" >"$WORK/$name.ttfb" 2>&1
  local rc=$?
  raw "ttfb $name" "$WORK/$name.ttfb"
  return $rc
}

# run_wrk NAME URL CONNS SECONDS BODYFILE [PREFIX...] -> $WORK/NAME.wrk,
# sets WRK_RPS WRK_REQS. PREFIX runs wrk under another command (perf).
run_wrk() {
  local name=$1 url=$2 c=$3 d=$4 body=$5
  shift 5
  WRK_BODY_FILE="$body" timeout $((d + 30)) "$@" wrk -t1 -c"$c" -d"${d}s" \
    -s "$ROOT/bench/post.lua" "$url" >"$WORK/$name.wrk" 2>&1
  local rc=$?
  raw "wrk $name (-t1 -c$c -d${d}s)" "$WORK/$name.wrk"
  WRK_RPS=$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$WORK/$name.wrk")
  WRK_REQS=$(awk '/requests in/ {print $1}' "$WORK/$name.wrk")
  local non2xx errs
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/$name.wrk")
  errs=$(grep -m1 'Socket errors' "$WORK/$name.wrk")
  if [ $rc -ne 0 ] || [ -z "$WRK_RPS" ]; then
    broke "wrk $name failed (rc=$rc)"
    WRK_RPS=-1
    WRK_REQS=0
  elif [ -n "$non2xx" ] && [ "$non2xx" != 0 ]; then
    broke "wrk $name: $non2xx non-2xx responses"
  fi
  [ -n "$errs" ] && note "wrk $name: $errs"
  return 0
}

# sample_status OUTFILE PID...: background sampler, appends
# "VmRSS_kB threads" (summed) every 0.2 s
sample_status() {
  local out=$1
  shift
  while kill -0 "$1" 2>/dev/null; do
    echo "$(sum_status VmRSS "$@") $(sum_status Threads "$@")" >>"$out"
    sleep 0.2
  done
}

mb() { awk -v k="$1" 'BEGIN { if (k == "" || k < 0) print "n/a"; else printf "%.1f", k / 1024 }'; }
have() { [ -n "${1:-}" ] && [ "$1" != -1 ] && [ "$1" != n/a ]; }
na() { if have "${1:-}"; then echo "$1"; else echo n/a; fi; }
verdict() { awk "BEGIN { print (($1) ? \"ok\" : \"MISS\") }"; }
ratio_x() { # ratio_x A B: "2.34x"
  if have "$1" && have "$2" && awk -v b="$2" 'BEGIN { exit !(b > 0) }'; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'
  else echo n/a; fi
}
ratio_pct() {
  if have "$1" && have "$2" && awk -v b="$2" 'BEGIN { exit !(b > 0) }'; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'
  else echo n/a; fi
}
us_sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a < 0 || b < 0) print "n/a"; else printf "%+d", a - b }'; }

declare -A R # results: R[figure.target]

busy_pct() { # CPU busy % of the whole machine over 0.5 s
  local c u n s i w q sq st t1 i1 t2 i2
  read -r c u n s i w q sq st _ </proc/stat
  t1=$((u + n + s + i + w + q + sq + st)) i1=$((i + w))
  sleep 0.5
  read -r c u n s i w q sq st _ </proc/stat
  t2=$((u + n + s + i + w + q + sq + st)) i2=$((i + w))
  [ $((t2 - t1)) -gt 0 ] || { echo 0; return; }
  echo $((100 * ((t2 - t1) - (i2 - i1)) / (t2 - t1)))
}
WAITED=0 # seconds waited so far; at most 5 x --wait_idle in a run
wait_idle() { # wait_idle WHAT: our processes are idle now; wait for others
  [ "$WAIT_IDLE" -gt 0 ] || return 0
  local start b said=0
  start=$(date +%s)
  while b=$(busy_pct) && [ "$b" -gt 25 ]; do
    if [ $(($(date +%s) - start)) -ge "$WAIT_IDLE" ] ||
      [ $((WAITED + $(date +%s) - start)) -ge $((5 * WAIT_IDLE)) ]; then
      note "the machine was ${b}% busy with other processes before $1: those numbers are noisy"
      WAITED=$((WAITED + $(date +%s) - start))
      return 0
    fi
    [ "$said" = 0 ] && log "waiting for other processes (machine ${b}% busy) before $1"
    said=1
    sleep 2
  done
  WAITED=$((WAITED + $(date +%s) - start))
}

# ---------------------------------------------------------------- run
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_START" 'BEGIN { exit !(l > 0.7) }'; then
  note "load average $LOAD_START at start: other processes compete for the $NCPU cores, numbers will be noisy"
fi
T_START=$(date +%s)
log "starting mocks"
start_mock mock_instant --chunks=10
M0_PORT=$MOCK_PORT M0_PID=$MOCK_PID
start_mock mock_10ms --delay_ms=10 --chunks=10
M10_PORT=$MOCK_PORT

# Phase A: instant mock. Idle RSS, CPU per request, syscalls, throughput,
# latency. The gateways start together and stay up for the phase.
for t in "${GWS[@]}"; do start_target "$t" instant "$M0_PORT"; done
start_target direct instant "$M0_PORT"
sleep 0.5
for t in "${GWS[@]}"; do
  up "$t" || continue
  R[idle_rss.$t]=$(sum_status VmRSS ${PIDLIST[$t]//,/ })
  R[idle_thr.$t]=$(sum_status Threads ${PIDLIST[$t]//,/ })
done

# Warm-up: connections, pools, first-request paths.
for t in "${TARGETS[@]}"; do
  up "$t" || continue
  timeout 60 "$TTFB" --port="${PORT[$t]}" --path="$PATH_V1" --body_file="$SBODY" \
    --requests=200 --warmup=0 --expect_done --label="warm_$t" >"$WORK/warm_$t.ttfb" 2>&1 ||
    { raw "ttfb warm_$t" "$WORK/warm_$t.ttfb"; broke "${LABEL[$t]}: streaming requests fail: $(grep -m1 first_error "$WORK/warm_$t.ttfb")"; }
done

if [ "$HAVE_WRK" = 1 ]; then
  # 1. CPU per proxied request at c=16 (direct: the mock's own CPU). The
  # targets alternate for $CPU_ROUNDS rounds (what else runs on the machine
  # drifts); each figure is all its rounds' CPU ticks over all their requests.
  declare -A CT CM CN CR
  for r in $(seq 1 "$CPU_ROUNDS"); do
    wait_idle "figure 1, round $r"
    for kind in ns s; do
      body=$BODY
      [ "$kind" = s ] && body=$SBODY
      for t in "${TARGETS[@]}"; do
        up "$t" || continue
        log "1. CPU per request ($kind) ${LABEL[$t]}: wrk -c16 ${CPU_SECONDS}s, round $r/$CPU_ROUNDS"
        c0=$(cpu_ticks ${CPUPIDS[$t]})
        m0=$(cpu_ticks "$M0_PID")
        run_wrk "cpu_${kind}_${t}_$r" "http://127.0.0.1:${PORT[$t]}$PATH_V1" 16 "$CPU_SECONDS" "$body"
        c1=$(cpu_ticks ${CPUPIDS[$t]})
        m1=$(cpu_ticks "$M0_PID")
        alive "$t" "CPU run" || continue
        [ "${WRK_REQS:-0}" -gt 0 ] || continue
        k="$kind.$t"
        CT[$k]=$((${CT[$k]:-0} + c1 - c0))
        CM[$k]=$((${CM[$k]:-0} + m1 - m0))
        CN[$k]=$((${CN[$k]:-0} + WRK_REQS))
        CR[$k]=$((${CR[$k]:-0} + WRK_RPS))
      done
    done
  done
  for k in "${!CN[@]}"; do
    kind=${k%%.*}
    t=${k#*.}
    R[cpu_$kind.$t]=$(awk -v c="${CT[$k]}" -v n="${CN[$k]}" -v k="$CLK_TCK" 'BEGIN { printf "%.1f", c * 1e6 / k / n }')
    R[cpu_mock_$kind.$t]=$(awk -v c="${CM[$k]}" -v n="${CN[$k]}" -v k="$CLK_TCK" 'BEGIN { printf "%.1f", c * 1e6 / k / n }')
    R[cpu_rps_$kind.$t]=$((CR[$k] / CPU_ROUNDS))
  done

  # 2. Syscalls per request: perf counts raw_syscalls:sys_enter of the
  # target's processes for exactly the wrk run.
  if [ "$SYSCALLS" != none ]; then
    for kind in ns s; do
      body=$BODY
      [ "$kind" = s ] && body=$SBODY
      for t in "${TARGETS[@]}"; do
        up "$t" || continue
        wait_idle "figure 2 ($kind, ${LABEL[$t]})"
        log "2. syscalls per request ($kind) ${LABEL[$t]} ($SYSCALLS)"
        out="$WORK/sys_${kind}_$t.$SYSCALLS"
        count=""
        if [ "$SYSCALLS" = perf ]; then
          run_wrk "sys_${kind}_$t" "http://127.0.0.1:${PORT[$t]}$PATH_V1" 16 "$SYS_SECONDS" "$body" \
            perf stat -e raw_syscalls:sys_enter -x, -o "$out" -p "${PIDLIST[$t]}" --
          count=$(awk -F, '/raw_syscalls:sys_enter/ && $1 ~ /^[0-9]+$/ {print $1}' "$out")
        else
          straces=()
          for p in ${PIDLIST[$t]//,/ }; do straces+=(-p "$p"); done
          strace -c -f -q -o "$out" "${straces[@]}" 2>/dev/null &
          spid=$!
          PIDS+=("$spid")
          sleep 0.5
          run_wrk "sys_${kind}_$t" "http://127.0.0.1:${PORT[$t]}$PATH_V1" 16 "$SYS_SECONDS" "$body"
          kill -INT "$spid" 2>/dev/null
          wait "$spid" 2>/dev/null
          count=$(awk '$NF == "total" {print $4}' "$out")
        fi
        raw "syscalls ${kind} $t ($SYSCALLS)" "$out"
        if [ -n "$count" ] && [ "${WRK_REQS:-0}" -gt 0 ]; then
          R[sys_$kind.$t]=$(awk -v c="$count" -v n="$WRK_REQS" 'BEGIN { printf "%.1f", c / n }')
        fi
        alive "$t" "syscall run"
      done
    done
  fi

  # 3. Max throughput, c=64, instant mock, non-streaming.
  for t in "${TARGETS[@]}"; do
    up "$t" || continue
    wait_idle "figure 3 (${LABEL[$t]})"
    log "3. throughput ${LABEL[$t]}: wrk -c64 ${WRK_SECONDS}s"
    run_wrk "tput_$t" "http://127.0.0.1:${PORT[$t]}$PATH_V1" 64 "$WRK_SECONDS" "$BODY"
    R[tput.$t]=$WRK_RPS
    alive "$t" "throughput run"
  done
fi

# 4. Added latency at c=1: direct and every gateway alternate for $ROUNDS
# rounds (placement on the cores dominates loopback latency); the table
# shows the median of the rounds' percentiles.
for r in $(seq 1 "$ROUNDS"); do
  wait_idle "figure 4, round $r"
  for t in "${TARGETS[@]}"; do
    up "$t" || continue
    log "4. latency round $r/$ROUNDS ${LABEL[$t]}"
    run_ttfb "lat_${t}_ns_$r" "${PORT[$t]}" "$BODY" ||
      broke "ttfb lat_${t}_ns_$r failed: $(grep -m1 first_error "$WORK/lat_${t}_ns_$r.ttfb")"
    run_ttfb "lat_${t}_s_$r" "${PORT[$t]}" "$SBODY" --expect_done ||
      broke "ttfb lat_${t}_s_$r failed: $(grep -m1 first_error "$WORK/lat_${t}_s_$r.ttfb")"
  done
done
for t in "${TARGETS[@]}"; do
  R[ns50.$t]=$(median_field "lat_${t}_ns_*" full_us p50)
  R[ns99.$t]=$(median_field "lat_${t}_ns_*" full_us p99)
  R[s50.$t]=$(median_field "lat_${t}_s_*" first_body_us p50)
  R[s99.$t]=$(median_field "lat_${t}_s_*" first_body_us p99)
  R[sf50.$t]=$(median_field "lat_${t}_s_*" full_us p50)
done
# Pinned: client, mock and gateway on the last CPU, one round.
if [ "$NCPU" -gt 1 ] && command -v taskset >/dev/null 2>&1; then
  wait_idle "figure 4, pinned"
  PIN="taskset -c $LAST_CPU"
  taskset -a -p -c "$LAST_CPU" "$M0_PID" >/dev/null 2>&1
  for t in "${TARGETS[@]}"; do
    up "$t" || continue
    log "4. latency pinned to CPU $LAST_CPU ${LABEL[$t]}"
    [ "$t" != direct ] && pin_target "$t" "$LAST_CPU"
    run_ttfb "pin_${t}_ns" "${PORT[$t]}" "$BODY" || broke "ttfb pin_${t}_ns failed"
    run_ttfb "pin_${t}_s" "${PORT[$t]}" "$SBODY" --expect_done || broke "ttfb pin_${t}_s failed"
    [ "$t" != direct ] && pin_target "$t" "0-$LAST_CPU"
    R[pns50.$t]=$(field "$WORK/pin_${t}_ns.ttfb" full_us p50)
    R[pns99.$t]=$(field "$WORK/pin_${t}_ns.ttfb" full_us p99)
    R[ps50.$t]=$(field "$WORK/pin_${t}_s.ttfb" first_body_us p50)
    R[ps99.$t]=$(field "$WORK/pin_${t}_s.ttfb" first_body_us p99)
  done
  taskset -a -p -c "0-$LAST_CPU" "$M0_PID" >/dev/null 2>&1
  PIN=""
fi
for t in "${GWS[@]}"; do alive "$t" "latency runs"; stop_target "$t"; done

# Phase B: c=64 against the 10 ms mock (ceiling 64 / 10 ms = 6,400 req/s):
# queueing overhead without saturating the cores; RSS and threads under load.
if [ "$HAVE_WRK" = 1 ]; then
  start_target direct ms10 "$M10_PORT"
  for t in "${TARGETS[@]}"; do
    [ "$t" = direct ] || start_target "$t" ms10 "$M10_PORT" || continue
    sleep 0.3
    wait_idle "figure 3b (${LABEL[$t]})"
    log "3b. wrk -c64 ${WRK_SECONDS}s, 10 ms mock, ${LABEL[$t]}"
    pl=(${PIDLIST[$t]//,/ })
    sample_status "$WORK/load_$t.txt" "${pl[@]}" &
    sampler=$!
    PIDS+=("$sampler")
    run_wrk "ms10_$t" "http://127.0.0.1:${PORT[$t]}$PATH_V1" 64 "$WRK_SECONDS" "$BODY"
    R[ms10.$t]=$WRK_RPS
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
    R[load_rss.$t]=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$WORK/load_$t.txt")
    R[load_thr.$t]=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$WORK/load_$t.txt")
    alive "$t" "10 ms mock run"
    [ "$t" = direct ] || stop_target "$t"
  done
fi

# 5. Concurrent streams: per target a fresh mock streaming $STREAM_CHUNKS
# chunks $STREAM_CHUNK_MS ms apart and a fresh gateway; connects ramp over
# $STREAM_RAMP s, so all streams are held at once for a while.
STREAM_S=$(((STREAM_CHUNKS * STREAM_CHUNK_MS + 999) / 1000))
for t in "${TARGETS[@]}"; do
  start_mock "mock_streams_$t" --chunks="$STREAM_CHUNKS" --chunk_delay_ms="$STREAM_CHUNK_MS"
  smock=$MOCK_PID
  if ! start_target "$t" streams "$MOCK_PORT" streams; then stop_pid "$smock"; continue; fi
  sleep 0.3
  wait_idle "figure 5 (${LABEL[$t]})"
  log "5. $STREAMS streams via ${LABEL[$t]} (ramp ${STREAM_RAMP}s, ${STREAM_S}s each)"
  timeout $((STREAM_RAMP + STREAM_S + 90)) "$STREAMS_BIN" --port="${PORT[$t]}" --path="$PATH_V1" \
    --body_file="$SBODY" --n="$STREAMS" --ramp_seconds="$STREAM_RAMP" --connect_batch=256 \
    --pid="${PIDLIST[$t]}" --timeout_s=$((STREAM_RAMP + STREAM_S + 60)) --label="$t" \
    >"$WORK/streams_$t.out" 2>&1
  rc=$?
  raw "streams via ${LABEL[$t]} (n=$STREAMS)" "$WORK/streams_$t.out"
  f="$WORK/streams_$t.out"
  if [ -z "$(field "$f" "streams " max_held)" ]; then
    broke "streams tool failed via ${LABEL[$t]} (rc=$rc): $(tail -1 "$f")"
  else
    R[held.$t]=$(field "$f" "streams " max_held)
    R[done.$t]=$(field "$f" "streams " completed)
    nf=$(field "$f" "streams " failed)
    nt=$(field "$f" "streams " timed_out)
    R[failed.$t]=$((${nf:-0} + ${nt:-0}))
    R[hold_ms.$t]=$(field "$f" "streams " all_held_after_ms)
    R[s_rss.$t]=$(field "$f" rss_kb plateau)
    R[s_before.$t]=$(field "$f" rss_kb before)
    R[s_per.$t]=$(field "$f" rss_kb per_stream)
    R[s_thr.$t]=$(field "$f" rss_kb threads_plateau)
    [ "$rc" -ne 0 ] && note "streams via ${LABEL[$t]}: $(grep -m1 '^failures' "$f"); $(grep -m1 first_error "$f" | cut -c1-160)"
    [ "$rc" -ne 0 ] && [ "$t" = direct ] && broke "the mock alone did not hold and complete $STREAMS streams"
  fi
  alive "$t" "the streams run"
  stop_target "$t"
  stop_pid "$smock"
done

# 6. Slowloris: fresh gateways with a ${HEAD_TIMEOUT}s head timeout (nginx
# client_header_timeout, aigw protection.head_timeout) in front of the
# instant mock. Unloaded c=1 latency first, then $SLOWLORIS connections
# dribbling one header byte per second, and c=1 latency again while all of
# them are open.
SLOW_DURATION=$((SLOW_RAMP + HEAD_TIMEOUT + 8))
for t in "${GWS[@]}"; do
  start_target "$t" slowloris "$M0_PORT" protection || continue
  sleep 0.3
  wait_idle "figure 6 (${LABEL[$t]})"
  log "6. slowloris $SLOWLORIS connections via ${LABEL[$t]}"
  # Unloaded: the same window length as under load below.
  run_ttfb "sl_base_$t" "${PORT[$t]}" "$BODY" --requests=1000000 --warmup=100 \
    --max_seconds=$((HEAD_TIMEOUT - 1)) || broke "ttfb sl_base_$t failed"
  "$SLOWLORIS_BIN" --port="${PORT[$t]}" --n="$SLOWLORIS" --ramp_seconds="$SLOW_RAMP" \
    --interval_ms=1000 --duration_s="$SLOW_DURATION" --pid="${PIDLIST[$t]}" --label="$t" \
    >"$WORK/slowloris_$t.out" 2>&1 &
  slp=$!
  PIDS+=("$slp")
  sleep "$SLOW_RAMP.3"
  # While every slow connection is open (before the head timeout fires).
  run_ttfb "sl_load_$t" "${PORT[$t]}" "$BODY" --requests=1000000 --warmup=0 \
    --max_seconds=$((HEAD_TIMEOUT - 1)) --timeout_ms=$((HEAD_TIMEOUT * 1000))
  wait "$slp"
  raw "slowloris via ${LABEL[$t]}" "$WORK/slowloris_$t.out"
  f="$WORK/slowloris_$t.out"
  if [ -z "$(field "$f" "slowloris " connected)" ]; then
    broke "slowloris tool failed via ${LABEL[$t]}: $(tail -1 "$f")"
  else
    R[sl_conn.$t]=$(field "$f" "slowloris " connected)
    R[sl_closed.$t]=$(field "$f" "slowloris " closed_by_server)
    R[sl_open.$t]=$(field "$f" "slowloris " open_at_end)
    R[sl_p50.$t]=$(field "$f" close_ms p50)
    R[sl_max.$t]=$(field "$f" close_ms max)
    R[sl_rss.$t]=$(field "$f" rss_kb max)
    R[sl_thr.$t]=$(field "$f" rss_kb threads_max)
  fi
  R[sl_base99.$t]=$(field "$WORK/sl_base_$t.ttfb" full_us p99)
  R[sl_base50.$t]=$(field "$WORK/sl_base_$t.ttfb" full_us p50)
  R[sl_load50.$t]=$(field "$WORK/sl_load_$t.ttfb" full_us p50)
  R[sl_load99.$t]=$(field "$WORK/sl_load_$t.ttfb" full_us p99)
  R[sl_load_n.$t]=$(field "$WORK/sl_load_$t.ttfb" "ttfb " requests)
  R[sl_load_err.$t]=$(field "$WORK/sl_load_$t.ttfb" "ttfb " errors)
  if [ "${R[sl_load_err.$t]:-0}" != 0 ] || [ "${R[sl_load_n.$t]:-0}" = 0 ]; then
    note "${LABEL[$t]}: legitimate requests during slowloris: ${R[sl_load_n.$t]:-0} answered, ${R[sl_load_err.$t]:-?} errors ($(grep -m1 first_error "$WORK/sl_load_$t.ttfb" | cut -c1-100))"
  fi
  alive "$t" "slowloris"
  stop_target "$t"
done

# (f) CPU the request pipeline adds per request (bench/pipeline.cc: the
# filter chain alone, no sockets): consumer auth + limits in the local store,
# and the Redis store against a real redis-server on loopback.
if [ -n "$PIPELINE" ]; then
  wait_idle "(f)"
  log "(f) request pipeline CPU per request"
  if "$PIPELINE" --iterations="$PIPE_ITER" >"$WORK/pipeline.out" 2>&1; then
    if command -v redis-server >/dev/null 2>&1; then
      REDIS_PORT=$((20000 + RANDOM % 12000))
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
      "$PIPELINE" --iterations="$REDIS_ITER" --redis="127.0.0.1:$REDIS_PORT" \
        >>"$WORK/pipeline.out" 2>&1 || broke "pipeline bench (redis) failed"
      stop_pid "$REDIS_PID"
    else
      note "redis-server unavailable: (f) Redis store skipped"
    fi
  else
    broke "pipeline bench failed: $(tail -1 "$WORK/pipeline.out")"
  fi
  raw "pipeline" "$WORK/pipeline.out"
fi
F_OPEN=$(field "$WORK/pipeline.out" "pipeline open" cpu_us_per_request)
F_LOCAL=$(field "$WORK/pipeline.out" "pipeline local" cpu_us_per_request)
F_AUTH=$(field "$WORK/pipeline.out" "pipeline auth" cpu_us_per_request)
F_REDIS=$(field "$WORK/pipeline.out" "pipeline redis" cpu_us_per_request)
F_REDIS_WALL=$(field "$WORK/pipeline.out" "pipeline redis" wall_us_per_request)

# ---------------------------------------------------------------- report
g() { echo "${R[$1]:-}"; } # g KEY.TARGET
ROWFMT='%-42s %9s %11s %11s %11s %9s %9s  %-18s %-4s %-4s\n'
row() { printf "$ROWFMT" "$@"; }
# vrow METRIC KEY TARGET EXPR [KIND [S_AIGW S_QWEN]]: one value per target,
# ratios to nginx (KIND x or pct); status by EXPR with A = the gateway's
# value and N = nginx's, or the given statuses
vrow() {
  local metric=$1 key=$2 target=$3 expr=$4 kind=${5:-x} t v vals=() st=() rat=()
  local fixed=("${6:-}" "${7:-}") i=0
  for t in direct nginx aigw qwen; do vals+=("$(na "$(g "$key.$t")")"); done
  for t in aigw qwen; do
    v=$(g "$key.$t")
    if [ "$kind" = pct ]; then rat+=("$(ratio_pct "$v" "$(g "$key.nginx")")")
    else rat+=("$(ratio_x "$v" "$(g "$key.nginx")")"); fi
    if [ -n "$expr" ] && have "$v" && have "$(g "$key.nginx")"; then
      st+=("$(verdict "$(echo "$expr" | sed "s/A/$v/g; s/N/$(g "$key.nginx")/g")")")
    else st+=("${fixed[$i]}"); fi
    i=$((i + 1))
  done
  row "$metric" "${vals[@]}" "${rat[@]}" "$target" "${st[@]}"
}
# lrow METRIC KEY: latency, "value (+added)" per gateway, aigw added - nginx
# added in the ratio columns, target added <= nginx added + 60 us
lrow() {
  local metric=$1 key=$2 target=${3:-} t d v vals=() rat=() st=() n_add a_add
  d=$(g "$key.direct")
  vals+=("$(na "$d")")
  for t in nginx aigw qwen; do
    v=$(g "$key.$t")
    if have "$v" && have "$d"; then vals+=("$v($(us_sub "$v" "$d"))"); else vals+=(n/a); fi
  done
  n_add=$(us_sub "$(g "$key.nginx")" "$d")
  for t in aigw qwen; do
    a_add=$(us_sub "$(g "$key.$t")" "$d")
    if [ "$n_add" != n/a ] && [ "$a_add" != n/a ]; then
      rat+=("$(awk -v a="$a_add" -v n="$n_add" 'BEGIN { printf "%+dus", a - n }')")
      if [ -n "$target" ]; then st+=("$(verdict "$a_add - $n_add <= 60")"); else st+=(""); fi
    else rat+=(n/a); st+=(""); fi
  done
  row "$metric" "${vals[@]}" "${rat[@]}" "$target" "${st[@]}"
}

for t in direct nginx aigw qwen; do
  R[held3.$t]=""
  have "$(g "held.$t")" && R[held3.$t]="$(g "held.$t")/$(g "done.$t")/$(g "failed.$t")"
  have "$(g "s_rss.$t")" && R[s_rss_mb.$t]=$(mb "$(g "s_rss.$t")")
  have "$(g "idle_rss.$t")" && R[idle_mb.$t]=$(mb "$(g "idle_rss.$t")")
  have "$(g "load_rss.$t")" && R[load_mb.$t]=$(mb "$(g "load_rss.$t")")
  have "$(g "sl_rss.$t")" && R[sl_rss_mb.$t]=$(mb "$(g "sl_rss.$t")")
  if have "$(g "sl_conn.$t")"; then
    R[sl_cl.$t]="$(g "sl_closed.$t")/$(g "sl_conn.$t")"
    R[sl_when.$t]=$(awk -v a="$(g "sl_p50.$t")" -v b="$(g "sl_max.$t")" 'BEGIN { if (a < 0) print "-"; else printf "%.1f/%.1f", a / 1000, b / 1000 }')
  fi
  have "$(g "sl_base99.$t")" && R[sl_lat.$t]="$(g "sl_base99.$t")/$(na "$(g "sl_load99.$t")")"
  have "$(g "sl_base50.$t")" && R[sl_lat50.$t]="$(g "sl_base50.$t")/$(na "$(g "sl_load50.$t")")"
  have "$(g "tput.$t")" && have "$(g "tput.direct")" && R[tput_pct.$t]=$(ratio_pct "$(g "tput.$t")" "$(g "tput.direct")")
  have "$(g "ms10.$t")" && have "$(g "ms10.direct")" && R[ms10_pct.$t]=$(ratio_pct "$(g "ms10.$t")" "$(g "ms10.direct")")
  have "$(g "cpu_rps_ns.$t")" && R[cpu_rps.$t]="$(g "cpu_rps_ns.$t")/$(na "$(g "cpu_rps_s.$t")")"
  have "$(g "idle_thr.$t")" && R[thr_il.$t]="$(g "idle_thr.$t")/$(na "$(g "load_thr.$t")")"
done
# Capacity verdicts (absolute targets) per gateway.
cap_status() { # cap_status T -> streams, rss, threads, slowloris verdicts
  local t=$1
  ST_HELD="" ST_RSS="" ST_THR="" ST_SL=""
  have "$(g "held.$t")" && ST_HELD=$(verdict "$(g "held.$t") >= 0.99 * $STREAMS && $(g "done.$t") == $STREAMS")
  have "$(g "s_rss.$t")" && ST_RSS=$(verdict "$(g "s_rss.$t") <= 256 * 1024")
  have "$(g "s_thr.$t")" && ST_THR=$(verdict "$(g "s_thr.$t") <= $NCPU + 8")
  have "$(g "sl_conn.$t")" && ST_SL=$(verdict "$(g "sl_closed.$t") >= $(g "sl_conn.$t") && $(g "sl_conn.$t") > 0 && $(g "sl_max.$t") <= ($HEAD_TIMEOUT + 1) * 1000")
}
cap_status aigw
A_HELD=$ST_HELD A_RSS=$ST_RSS A_THR=$ST_THR A_SL=$ST_SL
cap_status qwen
Q_HELD=$ST_HELD Q_RSS=$ST_RSS Q_THR=$ST_THR Q_SL=$ST_SL
# A plain row: values per target, ratio columns free text, given statuses.
prow() {
  local metric=$1 key=$2 r1=$3 r2=$4 target=$5 s1=$6 s2=$7 t vals=()
  for t in direct nginx aigw qwen; do vals+=("$(na "$(g "$key.$t")")"); done
  row "$metric" "${vals[@]}" "$r1" "$r2" "$target" "$s1" "$s2"
}

LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
MODE=full
[ "$QUICK" = 1 ] && MODE=quick
{
  echo "aigw bench ($MODE)  $(date -u '+%Y-%m-%d %H:%M UTC')  $NCPU cores ($CPU_MODEL), $(uname -r), $(($(date +%s) - T_START)) s"
  echo "aigw: ${AIGW:-none}"
  echo "nginx: $NGINX_VERSION (worker_processes auto, proxy_buffering off, upstream keepalive);  syscalls counted with: $SYSCALLS"
  echo "mocks, gateways and load tools share these cores over loopback; load average at start $LOAD_START, end $LOAD_END"
  echo
  row "metric" "direct" "nginx" "aigw" "aigw-qwen" "aigw:ngx" "qwen:ngx" "target" "aigw" "qwen"
  vrow "1 CPU/request non-stream, c=16 (us)" cpu_ns "aigw<=2x nginx" "A <= 2 * N"
  vrow "1 CPU/request stream 10 chunks (us)" cpu_s "aigw<=2.5x nginx" "A <= 2.5 * N"
  prow "  req/s in those runs: non-stream/stream" cpu_rps "" "" "" "" ""
  vrow "  mock CPU/request in the non-stream run" cpu_mock_ns "" ""
  vrow "2 syscalls/request non-stream" sys_ns "" ""
  vrow "2 syscalls/request stream 10 chunks" sys_s "" ""
  vrow "3 req/s c=64 instant mock, non-stream" tput ">=60% nginx" "A >= 0.6 * N" pct
  prow "  ... as % of direct" tput_pct "" "" "" "" ""
  vrow "3b req/s c=64, mock answers in 10 ms" ms10 "" "" pct
  prow "  ... as % of direct" ms10_pct "" "" ">=95% direct" \
    "$(have "$(g ms10.aigw)" && verdict "$(g ms10.aigw) >= 0.95 * $(g ms10.direct)")" \
    "$(have "$(g ms10.qwen)" && verdict "$(g ms10.qwen) >= 0.95 * $(g ms10.direct)")"
  lrow "4 c=1 non-stream full p50 (us)*" ns50 "added<=nginx+60us"
  lrow "4 c=1 non-stream full p99 (us)*" ns99 "added<=nginx+60us"
  lrow "4 c=1 stream first event p50 (us)*" s50 "added<=nginx+60us"
  lrow "4 c=1 stream first event p99 (us)*" s99 "added<=nginx+60us"
  lrow "4 c=1 stream full, 10 chunks p50 (us)*" sf50
  lrow "  pinned to 1 CPU: non-stream p50 (us)" pns50 "added<=nginx+60us"
  lrow "  pinned to 1 CPU: non-stream p99 (us)" pns99 "added<=nginx+60us"
  lrow "  pinned to 1 CPU: stream first ev p50" ps50 "added<=nginx+60us"
  lrow "  pinned to 1 CPU: stream first ev p99" ps99 "added<=nginx+60us"
  prow "5 $STREAMS streams held/completed/failed" held3 "" "" ">=99% held, all" "$A_HELD" "$Q_HELD"
  vrow "5 RSS at plateau (MB)" s_rss_mb "aigw<=256MB" "" x "$A_RSS" "$Q_RSS"
  vrow "5 threads at plateau" s_thr "<=cores+8" "" x "$A_THR" "$Q_THR"
  vrow "5 RSS per held stream (KB)" s_per "" ""
  prow "5 ms until all were held" hold_ms "" "" "" "" ""
  prow "6 slowloris $SLOWLORIS: closed/connected" sl_cl "" "" "all, <=${HEAD_TIMEOUT}s+1s" "$A_SL" "$Q_SL"
  prow "6 closed after connect p50/max (s)" sl_when "" "" "" "" ""
  vrow "6 RSS during slowloris (MB)" sl_rss_mb "" ""
  vrow "6 threads during slowloris" sl_thr "" ""
  prow "6 c=1 p50 unloaded/during (us)" sl_lat50 "" "" "" "" ""
  prow "6 c=1 p99 unloaded/during (us)" sl_lat "" "" "" "" ""
  vrow "d RSS idle (MB)" idle_mb "" ""
  vrow "d RSS max, c=64 10 ms mock (MB)" load_mb "" ""
  prow "d threads idle/under c=64 load" thr_il "" "" "" "" ""
  row "f pipeline CPU/request: open (us)" "" "" "$(na "$F_OPEN")" "" "" "" "reference" "" ""
  row "f + consumer auth (us)" "" "" "$(na "$F_AUTH")" "" "" "" "" "" ""
  row "f + auth + local limits (us)" "" "" "$(na "$F_LOCAL")" "" "" "" "added<=3us" \
    "$(have "$F_LOCAL" && have "$F_OPEN" && verdict "$F_LOCAL - $F_OPEN <= 3")" ""
  row "f + auth + Redis limits, CPU (us)" "" "" "$(na "$F_REDIS")" "" "" "" "2 round trips" "" ""
  row "f   Redis limits wall / PING RTT (us)" "" "" "$(na "$F_REDIS_WALL")" "$(na "${F_PING_US:-}")" "" "" "reference" "" ""
  echo
  echo "direct = the mock itself (1, 2: the mock's own CPU and syscalls; 5: the mock holding the streams)."
  echo "aigw-qwen = aigw with a qwen provider: OpenAI in, DashScope-native out and back (translation on the path);"
  echo "  nginx has no translation, so the qwen:ngx column compares it with nginx proxying OpenAI as is."
  echo "4: value(+added over direct); ratio columns: aigw added - nginx added. * median over $ROUNDS round(s) of $REQUESTS requests."
  echo "5: RSS and threads summed over nginx's master and workers. 6: head timeout ${HEAD_TIMEOUT}s (nginx client_header_timeout, aigw protection.head_timeout)."
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
} >"$OUT"
log "wrote $OUT"
exit "$BROKEN"

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (outside Bazel, which uses gcc) and
# runs each for N seconds (default 30) on a seed corpus.
#   fuzz/build_and_run.sh [seconds] [target...]
# Environment: RUNS=N runs each target for N inputs instead of a time;
# BUILD_ONLY=1 builds and writes the seeds, runs nothing.
# Outputs in fuzz/out/: binaries, corpus/<target>/ (grown by the run),
# artifacts/<target>/ (crash-*, timeout-*, leak-*), logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-30}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(chat_request_fuzzer embeddings_request_fuzzer sse_stream_fuzzer
           config_fuzzer http_request_fuzzer http_response_fuzzer)
fi

CXX="${CXX:-clang++-14}"
command -v "$CXX" >/dev/null || CXX=clang++
OUT=fuzz/out
mkdir -p "$OUT/obj" "$OUT/logs"

if [ ! -f bazel-bin/proto/aigw/v1/chat.pb.cc ]; then
  bazel build //proto/aigw/v1:chat_cc_proto
fi

SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
# As Bazel builds (.bazelrc, //third_party/system:asio), plus sanitizers.
# Boost's assertions stay on (no NDEBUG) through fuzz/boost_assert.cc.
CXXFLAGS="-std=c++20 -O1 -g -fno-omit-frame-pointer $SAN -I. -Ibazel-bin \
  -DBOOST_ASIO_NO_DEPRECATED -DBOOST_ENABLE_ASSERT_HANDLER \
  -Wno-deprecated-declarations"

# Everything the parsers need; linked as an archive so each target pulls only
# the objects it references.
LIB_SRCS=(
  bazel-bin/proto/aigw/v1/chat.pb.cc
  providers/provider.cc
  providers/upstream_request.cc
  providers/registry.cc
  providers/common/api_error.cc
  providers/common/cancel_token.cc
  providers/common/chat_assembler.cc
  providers/common/json_struct.cc
  providers/common/openai_embeddings_json.cc
  providers/common/openai_request_json.cc
  providers/common/openai_response_json.cc
  providers/common/sse_framer.cc
  providers/openai/openai_stream_decoder.cc
  providers/qwen/qwen_stream_decoder.cc
  providers/claude/claude_stream_decoder.cc
  providers/gemini/gemini_stream_decoder.cc
  server/config.cc
  server/config_yaml.cc
  server/consumer_config.cc
  server/model_mapper.cc
  server/protection_config.cc
  server/provider_config.cc
  server/route_config.cc
  server/protection/cidr_set.cc
  server/protection/ip_address.cc
  server/protection/system_resources.cc
  server/net/request_head.cc
  server/net/response_head.cc
  fuzz/boost_assert.cc
)
for src in "${LIB_SRCS[@]}"; do
  [ -f "$src" ] || { echo "!! $src is listed in LIB_SRCS but missing" >&2; exit 1; }
done

# src -> obj, rebuilt when the source, a header it includes (-MMD) or the
# flags changed.
compile() {
  local src="$1" obj="$OUT/obj/$(echo "$1" | tr '/' '_').o"
  local stale=0 dep
  if [ ! -f "$obj" ] || [ ! -f "$obj.d" ] ||
     [ "$(cat "$obj.flags" 2>/dev/null)" != "$CXX $CXXFLAGS" ]; then
    stale=1
  else
    for dep in $(sed -e 's/\\$//' -e 's/^[^:]*://' "$obj.d"); do
      if [ ! -e "$dep" ] || [ "$dep" -nt "$obj" ]; then stale=1; break; fi
    done
  fi
  if [ $stale = 1 ]; then
    $CXX $CXXFLAGS -MMD -MF "$obj.d" -c "$src" -o "$obj" || return 1
    echo "$CXX $CXXFLAGS" >"$obj.flags"
  fi
  echo "$obj"
}
export -f compile
export CXX CXXFLAGS OUT

OBJS=$(printf '%s\n' "${LIB_SRCS[@]}" |
  xargs -P "$(nproc)" -I{} bash -c 'compile {}')
rm -f "$OUT/libaigw_fuzz.a"
ar rcs "$OUT/libaigw_fuzz.a" $OBJS

LIBS="-lprotobuf -lre2 -lyaml-cpp -lssl -lcrypto \
  -labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info \
  -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle \
  -labsl_exponential_biased -labsl_bad_optional_access \
  -labsl_bad_variant_access -labsl_str_format_internal -labsl_strerror \
  -labsl_synchronization -labsl_graphcycles_internal -labsl_stacktrace \
  -labsl_symbolize -labsl_debugging_internal -labsl_demangle_internal \
  -labsl_malloc_internal -labsl_time -labsl_civil_time -labsl_time_zone \
  -labsl_strings -labsl_strings_internal -labsl_int128 -labsl_hash \
  -labsl_city -labsl_low_level_hash -labsl_raw_hash_set \
  -labsl_hashtablez_sampler -labsl_base -labsl_spinlock_wait \
  -labsl_throw_delegate -labsl_raw_logging_internal -labsl_log_severity \
  -lrt -pthread"

for t in "${TARGETS[@]}"; do
  echo "== build $t"
  $CXX ${CXXFLAGS/fuzzer-no-link/fuzzer} "fuzz/$t.cc" "$OUT/libaigw_fuzz.a" \
    $LIBS -o "$OUT/$t"
done

python3 fuzz/make_seeds.py "$OUT/seeds"
[ -n "${BUILD_ONLY:-}" ] && exit 0

# The JSON/SSE targets use aigw.dict, the HTTP request parser http.dict,
# the upstream response fuzzer both (HTTP heads around SSE/JSON bodies).
mkdir -p "$OUT/dicts"
cat fuzz/http.dict fuzz/aigw.dict >"$OUT/dicts/http_response_fuzzer.dict"
dict_for() {
  case "$1" in
    http_request_fuzzer) echo fuzz/http.dict ;;
    http_response_fuzzer) echo "$OUT/dicts/http_response_fuzzer.dict" ;;
    *) echo fuzz/aigw.dict ;;
  esac
}
# The HTTP targets need room for a head over the 64 KiB limit and the
# bytes after it.
max_len_for() {
  case "$1" in
    http_*) echo 140000 ;;
    *) echo 65536 ;;
  esac
}

# RUNS=N (environment) runs each target for N inputs instead of a time.
status=0
for t in "${TARGETS[@]}"; do
  if [ -n "${RUNS:-}" ]; then
    limit="-runs=$RUNS"
    echo "== run $t for $RUNS inputs"
  else
    limit="-max_total_time=$SECONDS_PER_TARGET"
    echo "== run $t for ${SECONDS_PER_TARGET}s"
  fi
  mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
  if ! "$OUT/$t" "$limit" -timeout=10 \
      -rss_limit_mb=2048 -max_len="$(max_len_for "$t")" -print_final_stats=1 \
      -dict="$(dict_for "$t")" \
      -artifact_prefix="$OUT/artifacts/$t/" \
      "$OUT/corpus/$t" "$OUT/seeds/$t" >"$OUT/logs/$t.log" 2>&1; then
    echo "!! $t FAILED; see $OUT/logs/$t.log and $OUT/artifacts/$t/"
    status=1
  fi
  grep -aE "^stat::number_of_executed_units|^Done|ERROR" "$OUT/logs/$t.log" || true
done
exit $status

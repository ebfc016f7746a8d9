#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (outside Bazel, which uses gcc) and
# runs each for N seconds (default 30) on a seed corpus.
#   fuzz/build_and_run.sh [seconds] [target...]
# Outputs in fuzz/out/: binaries, corpus/<target>/ (grown by the run),
# artifacts/<target>/ (crash-*, timeout-*, leak-*), logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-30}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(chat_request_fuzzer embeddings_request_fuzzer sse_stream_fuzzer
           config_fuzzer)
fi

CXX="${CXX:-clang++-14}"
command -v "$CXX" >/dev/null || CXX=clang++
OUT=fuzz/out
mkdir -p "$OUT/obj" "$OUT/logs"

if [ ! -f bazel-bin/proto/aigw/v1/chat.pb.cc ]; then
  bazel build //proto/aigw/v1:chat_cc_proto
fi

SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
CXXFLAGS="-std=c++17 -O1 -g -fno-omit-frame-pointer $SAN -I. -Ibazel-bin \
  -DCPPHTTPLIB_OPENSSL_SUPPORT -Wno-deprecated-declarations"

# Everything the parsers need; linked as an archive so each target pulls only
# the objects it references.
LIB_SRCS=(
  bazel-bin/proto/aigw/v1/chat.pb.cc
  providers/provider.cc
  providers/registry.cc
  providers/common/api_error.cc
  providers/common/cancel_token.cc
  providers/common/chat_assembler.cc
  providers/common/http_client_pool.cc
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
  server/model_mapper.cc
  server/provider_config.cc
  server/route_config.cc
)

compile() {  # src -> obj, only when the source is newer
  local src="$1" obj="$OUT/obj/$(echo "$1" | tr '/' '_').o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    $CXX $CXXFLAGS -c "$src" -o "$obj"
  fi
  echo "$obj"
}
export -f compile
export CXX CXXFLAGS OUT

OBJS=$(printf '%s\n' "${LIB_SRCS[@]}" |
  xargs -P "$(nproc)" -I{} bash -c 'compile {}')
rm -f "$OUT/libaigw_fuzz.a"
ar rcs "$OUT/libaigw_fuzz.a" $OBJS

LIBS="-lprotobuf -lre2 -lyaml-cpp -lcpp-httplib -lssl -lcrypto \
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

status=0
for t in "${TARGETS[@]}"; do
  echo "== run $t for ${SECONDS_PER_TARGET}s"
  mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
  if ! "$OUT/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -dict=fuzz/aigw.dict \
      -artifact_prefix="$OUT/artifacts/$t/" \
      "$OUT/corpus/$t" "$OUT/seeds/$t" >"$OUT/logs/$t.log" 2>&1; then
    echo "!! $t FAILED; see $OUT/logs/$t.log and $OUT/artifacts/$t/"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^Done|ERROR" "$OUT/logs/$t.log" || true
done
exit $status

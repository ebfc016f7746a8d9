#!/usr/bin/env bash
# Runs the end-to-end suite against the built aigw binary.
#   AIGW_BIN       binary to test (default: <repo>/bazel-bin/server/aigw)
#   AIGW_FIXTURES  recorded OpenAI cassettes (default: <repo>/../shared/fixtures/openai-recorded)
# Extra arguments go to `node --test`, e.g. ./run.sh --test-name-pattern=grpc
set -euo pipefail
cd "$(dirname "$0")"

# Reinstalled when package-lock.json changed since the last install.
if ! cmp -s package-lock.json node_modules/.aigw-installed-lock 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.aigw-installed-lock
fi

bin="${AIGW_BIN:-../../bazel-bin/server/aigw}"
if [[ ! -x "$bin" ]]; then
  echo "run.sh: aigw binary not found at $bin (bazel build //server:aigw first, or set AIGW_BIN)" >&2
  exit 1
fi

exec node --test --test-concurrency=1 --test-timeout=120000 "$@" ./*.test.mjs

#!/usr/bin/env bash
# Command 2: install what is missing, build, and run every test: the
# clang-format check, the GoogleTest targets and the end-to-end suite (real
# aigw binary, fake upstreams on loopback, the openai SDK and grpc-js).
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --test || exit 1

passed=0
failed=0
log=$(mktemp -d)

# 1. Formatting.
bad=$(git ls-files '*.cc' '*.h' | while read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [[ -z "$bad" ]]; then
  passed=$((passed + 1))
  echo "PASS clang-format"
else
  failed=$((failed + 1))
  echo "FAIL clang-format: $bad"
fi

# 2. GoogleTest targets.
bazel build //... 2>&1 | tail -3
bazel test //... --test_summary=short 2>&1 | tee "$log/bazel.txt" |
  grep -E "PASSED|FAILED|NO STATUS|TIMEOUT|ERROR"
unit_pass=$(grep -cE '^//.* PASSED' "$log/bazel.txt")
unit_fail=$(grep -cE '^//.* (FAILED|NO STATUS|TIMEOUT)' "$log/bazel.txt")
if grep -q "^ERROR:" "$log/bazel.txt" && ((unit_fail == 0)); then
  unit_fail=1
fi
passed=$((passed + unit_pass))
failed=$((failed + unit_fail))

# 3. End-to-end tests (node:test, one count per test case).
if tests/e2e/run.sh --test-reporter=tap >"$log/e2e.txt" 2>&1; then e2e_rc=0; else e2e_rc=$?; fi
tail -40 "$log/e2e.txt"
e2e_pass=$(grep -E '^# pass [0-9]+' "$log/e2e.txt" | awk '{s+=$3} END {print s+0}')
e2e_fail=$(grep -E '^# fail [0-9]+' "$log/e2e.txt" | awk '{s+=$3} END {print s+0}')
if ((e2e_rc != 0 && e2e_fail == 0)); then e2e_fail=1; fi
passed=$((passed + e2e_pass))
failed=$((failed + e2e_fail))

echo "${passed} passed, ${failed} failed"
((failed == 0))

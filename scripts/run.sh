#!/usr/bin/env bash
# Command 1: install what is missing, build, and start aigw (built-in echo
# config unless --config=FILE is given). Extra arguments go to aigw.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
bazel build //server:aigw
exec bazel-bin/server/aigw "$@"

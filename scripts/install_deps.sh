#!/usr/bin/env bash
# Installs what aigw needs from Debian 12's packages, only when missing
# (idempotent). Usage: scripts/install_deps.sh [--test]
set -euo pipefail

packages=(
  bazel-bootstrap g++ protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libgrpc++-dev libabsl-dev libcpp-httplib-dev libssl-dev nlohmann-json3-dev
  libyaml-cpp-dev libre2-dev libhiredis-dev libboost1.81-dev
)
if [[ "${1:-}" == "--test" ]]; then
  # prometheus: promtool and a real server for tests/e2e/metrics_prometheus.
  packages+=(libgtest-dev libgmock-dev clang-format openssl wrk curl redis-server
    prometheus)
  # Node 20+ may come from elsewhere (with its own npm); Debian's otherwise.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

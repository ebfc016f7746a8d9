#!/bin/bash
# The image's HEALTHCHECK: GET /healthz on the admin listener with nothing but
# bash (its /dev/tcp redirection), so the slim image needs no curl or wget.
#   AIGW_HEALTH_HOST  default 127.0.0.1
#   AIGW_HEALTH_PORT  default 9901 (listen.admin's port)
#   $1                path, default /healthz (/readyz for readiness)
# Exits 0 on "HTTP/1.x 200", 1 otherwise (refused, timeout, any other status).
set -u
host="${AIGW_HEALTH_HOST:-127.0.0.1}"
port="${AIGW_HEALTH_PORT:-9901}"
path="${1:-/healthz}"
exec 3<>"/dev/tcp/${host}/${port}" 2>/dev/null || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" >&3 || exit 1
IFS= read -r -t 3 status <&3 || exit 1
[[ "$status" == "HTTP/1."?" 200 "* ]]

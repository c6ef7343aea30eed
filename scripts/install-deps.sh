#!/usr/bin/env bash
# Installs what `make test` needs beyond Go and Node, from Debian:
#   - chromium, for the browser tests;
#   - redis-server, which net/fleet's tests start on a free loopback port
#     (never 6379) with persistence off;
#   - nginx, for deploy/'s end-to-end test, which runs it (with its own
#     configuration, on free loopback ports) as the TLS front of two
#     nodes, as in production (the test makes its certificate in Go).
# Idempotent: installs only what is missing, and does nothing when all are
# there. Debian's redis-server and nginx packages would start system
# services; this script keeps them from doing so (the tests start their
# own, and a developer's machine needs no daemon on 6379 or 80).
set -euo pipefail

pkgs=()
if ! command -v chromium >/dev/null 2>&1; then
  pkgs+=(chromium fonts-liberation)
fi
if ! command -v redis-server >/dev/null 2>&1; then
  pkgs+=(redis-server)
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  pkgs+=(nginx)
fi
if [ "${#pkgs[@]}" -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${pkgs[*]} and this is not a Debian system; install Chromium as 'chromium', Redis 7 as 'redis-server' and nginx on PATH" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: missing ${pkgs[*]}; run as root: apt-get update && apt-get install -y ${pkgs[*]}" >&2
    exit 1
  fi
fi

# Debian's redis-server and nginx packages start system services (on 6379,
# on 80) where the init system lets them. The tests never use them (each
# starts its own server on a free port), so where a policy-rc.d is not
# already in place, forbid service starts during this install and restore
# the old state after.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  added_policy=1
fi
cleanup() {
  if [ -n "$added_policy" ]; then
    $sudo rm -f "$policy"
  fi
}
trap cleanup EXIT

echo "install-deps: installing ${pkgs[*]} from Debian"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"

# Belt and braces, for the services this run installed: where systemd
# runs, keep them from starting at boot and stop one that started anyway
# (an init system that ignores policy-rc.d).
if [ -d /run/systemd/system ]; then
  for service in redis-server nginx; do
    if [[ " ${pkgs[*]} " == *" $service "* ]]; then
      $sudo systemctl disable --now "$service" || true
    fi
  done
fi

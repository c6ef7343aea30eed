#!/usr/bin/env bash
# Installs what `make test` needs beyond Go and Node: Debian's chromium for
# the browser tests. Idempotent: does nothing when it is already there.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: chromium is missing and this is not a Debian system; install Chromium and put it on PATH as 'chromium'" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: chromium is missing; run as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
  fi
fi
echo "install-deps: installing chromium from Debian"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation

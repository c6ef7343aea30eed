#!/usr/bin/env bash
# Runs a fleet on this machine: one redis-server (persistence off, port
# 6390 unless REDIS_PORT says otherwise) and three Shatter nodes on
# loopback, public 4000/4001/4002 and admin 6060/6061/6062, logging to
# the terminal. Ctrl-C stops them all: the nodes first (each drains to the
# others while any is left), then Redis. Extra arguments go to every node.
# The per-address limit is off (-max-conns-per-ip 0): every local player
# and bot comes from 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
server=${SERVER:-bin/shatter-server}
port=${REDIS_PORT:-6390}
dir=$(mktemp -d)
pids=()

stop() {
  trap - INT TERM EXIT
  echo "fleet: stopping the nodes"
  for pid in "${pids[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]:1}"; do wait "$pid" 2>/dev/null || true; done
  echo "fleet: stopping redis-server"
  kill -TERM "${pids[0]}" 2>/dev/null || true
  wait "${pids[0]}" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop INT TERM EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --loglevel warning &
pids+=($!)
for _ in $(seq 50); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
for i in 0 1 2; do
  "$server" -addr "127.0.0.1:400$i" -admin-addr "127.0.0.1:606$i" -node-id "node-$i" \
    -redis "redis://127.0.0.1:$port" -max-conns-per-ip 0 "$@" &
  pids+=($!)
done
echo "fleet: redis on 127.0.0.1:$port; nodes on http://127.0.0.1:4000/ 4001 4002; admin /fleet on 127.0.0.1:6060 6061 6062. Ctrl-C stops everything."
wait -n "${pids[@]}" || true

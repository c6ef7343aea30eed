#!/usr/bin/env bash
# Measures a rolling restart of a fleet under play, as docs/OPERATIONS.md
# "Upgrade" describes it: a redis-server and three nodes on loopback
# (public 4100-4102, admin 6160-6162), BOTS bots (default 300) of
# cmd/loadgen playing over them, and, while they play, each node in turn
# stopped with SIGTERM (it drains its players to the others), started
# again under the same -node-id, and waited for (/healthz 200, and ready
# in the other nodes' /fleet) before the next. Prints loadgen's summary
# (bots connected and failed, moves by why, moves that failed, drops) and
# the players each node holds before and after, then stops everything.
# Usage: make build && scripts/rolling-restart.sh  (BOTS, SETTLE=5 seconds
# between restarts, REDIS_PORT=6391).
set -euo pipefail
cd "$(dirname "$0")/.."
server=${SERVER:-bin/shatter-server}
loadgen=${LOADGEN:-bin/shatter-loadgen}
bots=${BOTS:-300}
settle=${SETTLE:-5}
rport=${REDIS_PORT:-6391}
dir=$(mktemp -d)
redis_pid=""
loadgen_pid=""
declare -A node_pid

stop() {
  trap - INT TERM EXIT
  [ -n "$loadgen_pid" ] && kill -TERM "$loadgen_pid" 2>/dev/null || true
  for pid in "${node_pid[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${node_pid[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap stop INT TERM EXIT

start_node() { # $1: 0, 1 or 2
  "$server" -addr "127.0.0.1:410$1" -admin-addr "127.0.0.1:616$1" -node-id "node-$1" \
    -redis "redis://127.0.0.1:$rport" -max-conns-per-ip 0 -log-level warn \
    >>"$dir/node-$1.log" 2>&1 &
  node_pid[$1]=$!
}

# players prints the sessions each node's arenas hold.
players() {
  local out=""
  for i in 0 1 2; do
    n=$(curl -fsS "127.0.0.1:616$i/arenas" 2>/dev/null | grep -o '"sessions":[0-9]*' | awk -F: '{s += $2} END {print s + 0}' || true)
    out+="node-$i ${n:-down}  "
  done
  echo "$out"
}

# ready_in_fleet waits until node $1 answers /healthz and another node's
# /fleet lists it ready.
ready_in_fleet() {
  local other=$(( ($1 + 1) % 3 ))
  for _ in $(seq 200); do
    if curl -fsS "127.0.0.1:410$1/healthz" >/dev/null 2>&1 &&
      curl -fsS "127.0.0.1:616$other/fleet" 2>/dev/null | grep -q "\"id\":\"node-$1\",[^}]*\"state\":\"ready\""; then
      return 0
    fi
    sleep 0.1
  done
  echo "rolling-restart: node-$1 not ready after 20 s" >&2
  return 1
}

redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --loglevel warning >"$dir/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
for i in 0 1 2; do start_node "$i"; done
for i in 0 1 2; do ready_in_fleet "$i"; done

# The bots: ramp at 100 a second, then play long enough for the three
# restarts (each: drain, exit, start, ready, SETTLE seconds).
duration=$(( 3 * (settle + 6) + 10 ))
"$loadgen" -addr 127.0.0.1:4100,127.0.0.1:4101,127.0.0.1:4102 -clients "$bots" -ramp 100 \
  -duration "${duration}s" -quiet >"$dir/loadgen.out" 2>&1 &
loadgen_pid=$!
sleep $(( bots / 100 + 3 ))
echo "rolling-restart: $bots bots playing; before: $(players)"

for i in 0 1 2; do
  t0=$(date +%s.%N)
  kill -TERM "${node_pid[$i]}"
  wait "${node_pid[$i]}" || true
  t1=$(date +%s.%N)
  start_node "$i"
  ready_in_fleet "$i"
  t2=$(date +%s.%N)
  printf 'rolling-restart: node-%d drained and stopped in %.1f s, back and ready in %.1f s; %s\n' \
    "$i" "$(awk "BEGIN {print $t1 - $t0}")" "$(awk "BEGIN {print $t2 - $t1}")" "$(players)"
  sleep "$settle"
done

echo "rolling-restart: after: $(players)"
wait "$loadgen_pid" || true
loadgen_pid=""
cat "$dir/loadgen.out"

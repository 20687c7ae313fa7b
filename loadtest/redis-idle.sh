#!/usr/bin/env bash
# What an idle `conquest worker` costs, per TASK_CHECK_INTERVAL: Redis
# commands/s, Redis user CPU and the worker's own CPU over 10 s
# (docs/PERFORMANCE.md "Queue hop latency").
#   go run ./cmd/stack test -- bash loadtest/redis-idle.sh 4ms 2ms 1ms
set -euo pipefail
if [ -z "${REDIS_URL:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
  echo "redis-idle.sh: run it inside the test stack: go run ./cmd/stack test -- bash loadtest/redis-idle.sh 2ms" >&2
  exit 2
fi
bin=$(mktemp -d)/conquest
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/conquest
"$bin" migrate >/dev/null 2>&1
port=$(echo "$REDIS_URL" | sed 's#.*:\([0-9]*\)/.*#\1#')
stat() { redis-cli -p "$port" info "$1" | grep "^$2:" | cut -d: -f2 | tr -d '\r'; }
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime
for iv in "${@:-2ms}"; do
  TASK_CHECK_INTERVAL=$iv HTTP_ADDR=127.0.0.1:0 "$bin" worker >/dev/null 2>&1 &
  pid=$!
  sleep 3
  a=$(stat stats total_commands_processed); c1=$(stat cpu used_cpu_user); w1=$(ticks "$pid")
  sleep 10
  b=$(stat stats total_commands_processed); c2=$(stat cpu used_cpu_user); w2=$(ticks "$pid")
  echo "TASK_CHECK_INTERVAL=$iv idle: $(( (b - a) / 10 )) Redis commands/s, Redis user CPU $(awk "BEGIN{printf \"%.1f\", ($c2 - $c1) * 10}") % of a core, worker CPU $(awk "BEGIN{printf \"%.1f\", ($w2 - $w1) * 10 / $hz}") % of a core"
  kill "$pid"; wait "$pid" || true
done

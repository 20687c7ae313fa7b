#!/usr/bin/env bash
# What an idle `conquest worker` costs Redis, per TASK_CHECK_INTERVAL:
# commands/s and Redis user CPU over 10 s (docs/PERFORMANCE.md "Queue hop latency").
#   go run ./cmd/stack test -- bash loadtest/redis-idle.sh 4ms 2ms 1ms
set -euo pipefail
bin=$(mktemp -d)/conquest
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/conquest
"$bin" migrate >/dev/null 2>&1
port=$(echo "$REDIS_URL" | sed 's#.*:\([0-9]*\)/.*#\1#')
stat() { redis-cli -p "$port" info "$1" | grep "^$2:" | cut -d: -f2 | tr -d '\r'; }
for iv in "${@:-2ms}"; do
  TASK_CHECK_INTERVAL=$iv HTTP_ADDR=127.0.0.1:0 "$bin" worker >/dev/null 2>&1 &
  pid=$!
  sleep 3
  a=$(stat stats total_commands_processed); c1=$(stat cpu used_cpu_user)
  sleep 10
  b=$(stat stats total_commands_processed); c2=$(stat cpu used_cpu_user)
  echo "TASK_CHECK_INTERVAL=$iv idle: $(( (b - a) / 10 )) Redis commands/s, Redis user CPU $(awk "BEGIN{printf \"%.1f\", ($c2 - $c1) * 10}") % of a core"
  kill "$pid"; wait "$pid" || true
done

#!/usr/bin/env bash
# Benchmark: one agent streaming a demo fleet of CONTAINERS containers to a hub for SECONDS,
# with the release build `serve` runs (scripts/run.sh builds it).
#
#   scripts/bench_cluster.sh [CONTAINERS=100] [SECONDS=60]
#
# Starts a hub (`[cluster] watch_local = false`, so it watches nothing itself) and one agent
# (node n1, the demo fleet of that size), each with its own data dir and loopback port, waits
# until the hub shows the node connected, then samples once a second: the lag the hub measured
# for the node's latest tick (hub receive time minus sample time, 10 ms steps), the agent's
# uplink counters, and the CPU time and resident memory of both processes. Prints: lag
# p50/p99/max over the distinct ticks seen, bytes per second and per tick sent to the hub
# (tick payloads, before websocket framing), CPU (% of one core) and RSS of agent and hub.
# Then SIGKILLs the agent and polls the hub's /api/health every 50 ms until the node shows as
# lost: prints how long that took.
#
# Environment: DOCKERPULSE_BIN picks the binary and skips the build (default: build, then the
# release build under CARGO_TARGET_DIR).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
C="${1:-100}"
SECS="${2:-60}"
pick_bin
command -v jq >/dev/null || ensure_apt jq
HZ=$(getconf CLK_TCK)

ticks_of() { # pid → its utime+stime in clock ticks
  awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0
}
rss_kib() { # pid → its resident memory (KiB)
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
health() { curl -fsS --max-time 5 "http://127.0.0.1:$1/api/health"; }

dir=$(mktemp -d) # 0700: the configs hold the agent's token
hub_pid=""
agent_pid=""
cleanup() {
  for p in $agent_pid $hub_pid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT

token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
hub_port=$(free_port)
agent_port=$(free_port)
mkdir -p "$dir/hub" "$dir/agent"
cat >"$dir/hub/dockerpulse.toml" <<EOF
bind = "127.0.0.1:$hub_port"
data_dir = "$dir/hub/data"
reports_dir = "$dir/hub/reports"
[cluster]
watch_local = false
[[cluster.agents]]
node = "n1"
token = "$token"
EOF
cat >"$dir/agent/dockerpulse.toml" <<EOF
bind = "127.0.0.1:$agent_port"
data_dir = "$dir/agent/data"
reports_dir = "$dir/agent/reports"
demo = true
demo_containers = $C
[cluster]
hub = "ws://127.0.0.1:$hub_port"
node = "n1"
token = "$token"
EOF

wait_health() { # port, log → waits up to 10 s for /api/health to answer
  for _ in $(seq 1 50); do
    health "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$2" >&2
  die "DockerPulse on port $1 did not start"
}
"$BIN" --config "$dir/hub/dockerpulse.toml" serve >"$dir/hub/serve.log" 2>&1 &
hub_pid=$!
wait_health "$hub_port" "$dir/hub/serve.log"
"$BIN" --config "$dir/agent/dockerpulse.toml" serve >"$dir/agent/serve.log" 2>&1 &
agent_pid=$!
wait_health "$agent_port" "$dir/agent/serve.log"

node_state() { health "$hub_port" | jq -r '.nodes[0].state // "none"'; }
connected=0
for _ in $(seq 1 150); do
  [ "$(node_state 2>/dev/null)" = connected ] && { connected=1; break; }
  sleep 0.2
done
[ "$connected" = 1 ] || { tail -n 20 "$dir/agent/serve.log" >&2; die "the node did not connect to the hub in 30 s"; }
say "hub on :$hub_port, agent on :$agent_port with $C demo containers; node connected; sampling for $SECS s"

# One line per second: ms, last_seen_ms, lag_ms, ticks_sent, bytes_sent, agent ticks, hub ticks,
# agent RSS, hub RSS.
sample() {
  local h a
  h=$(health "$hub_port" | jq -r '"\(.nodes[0].last_seen_ms) \(.nodes[0].lag_ms)"')
  a=$(health "$agent_port" | jq -r '"\(.uplink.ticks_sent) \(.uplink.bytes_sent)"')
  echo "$(now_ms) $h $a $(ticks_of "$agent_pid") $(ticks_of "$hub_pid") $(rss_kib "$agent_pid") $(rss_kib "$hub_pid")"
}
sample >"$dir/samples"
for _ in $(seq 1 "$SECS"); do
  sleep 1
  sample >>"$dir/samples"
done

lags=$(awk '!seen[$2]++ { print $3 }' "$dir/samples" | sort -n)
echo
echo "$lags" | awk -v c="$C" '
  { v[NR] = $1 }
  END {
    p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
    printf "%d demo containers, 1 agent -> hub over loopback\n", c
    printf "lag agent -> hub (%d distinct ticks sampled): p50 %d ms, p99 %d ms, max %d ms\n", NR, p50, p99, v[NR]
  }'
awk -v hz="$HZ" '
  NR == 1 { t0 = $1; k0 = $4; b0 = $5; a0 = $6; h0 = $7 }
  { t = $1; k = $4; b = $5; a = $6; h = $7; ar = $8; hr = $9
    if (ar > amax) amax = ar; if (hr > hmax) hmax = hr }
  END {
    s = (t - t0) / 1000
    printf "uplink: %d ticks in %.1f s, %.1f KiB/s per node, %.1f KiB per tick\n", k - k0, s, (b - b0) / s / 1024, (k > k0 ? (b - b0) / (k - k0) / 1024 : 0)
    printf "CPU (%% of one core): agent %.2f %%, hub %.2f %%\n", (a - a0) / hz / s * 100, (h - h0) / hz / s * 100
    printf "RSS (end / max sampled): agent %.1f / %.1f MiB, hub %.1f / %.1f MiB\n", ar / 1024, amax / 1024, hr / 1024, hmax / 1024
  }' "$dir/samples"

# The node's loss: SIGKILL the agent (no goodbye), poll the hub every 50 ms.
# bash reports the killed job ("Killed") on its own stderr: not a failure, keep it quiet.
exec 3>&2 2>/dev/null
kill -9 "$agent_pid"
killed=$(now_ms)
wait "$agent_pid" || true
exec 2>&3 3>&-
agent_pid=""
lost=""
while (($(now_ms) - killed < 15000)); do
  node=$(health "$hub_port" 2>/dev/null || true)
  if [ "$(jq -r '.nodes[0].state' <<<"$node" 2>/dev/null)" = lost ]; then
    lost=$(($(now_ms) - killed))
    break
  fi
  sleep 0.05
done
if [ -n "$lost" ]; then
  echo "agent SIGKILL -> hub shows the node lost: $lost ms ($(jq -r '.nodes[0].detail' <<<"$node"))"
else
  echo "agent SIGKILL -> hub did not show the node lost within 15 s"
fi

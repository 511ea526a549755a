#!/usr/bin/env bash
# Benchmark: what watching N containers at 1 Hz costs, DockerPulse against `docker stats`.
#
#   scripts/bench_overhead.sh [N=50] [SECONDS=60]
#
# Starts N idle labelled containers, then measures the CPU time (user + system) over SECONDS of:
#   1. nobody watching (the engine's idle cost with N containers: the baseline for "added"),
#   2. DockerPulse reading cgroup files (the default on a local engine),
#   3. DockerPulse reading the engine's stats API (what it does for remote engines),
#   4. `docker stats` watching the same containers,
# for the watcher itself and for the engine (dockerd + containerd + shims). Prints a table: the
# watcher, the engine, what the engine spent above idle, and watcher + that (the total cost).
# Needs a release build (scripts/run.sh builds one) and a quiet machine for stable numbers.
#
# Environment: DOCKERPULSE_BIN picks the binary (default: the release build under
# CARGO_TARGET_DIR, which other checkouts sharing that directory may overwrite);
# DOCKERPULSE_BENCH_KEEP=1 leaves the containers running at the end, and a later run reuses
# those already there (starting 500 takes minutes).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${1:-50}"
SECS="${2:-60}"
BIN="${DOCKERPULSE_BIN:-$CARGO_TARGET_DIR/release/dockerpulse}"
KEEP="${DOCKERPULSE_BENCH_KEEP:-0}"
[ -x "$BIN" ] || die "no release build at $BIN: run cargo build --release -p server first"
ensure_docker_engine || die "no Docker engine"
ensure_test_image
HZ=$(getconf CLK_TCK)

ticks_of() { # pids... → utime+stime ticks summed
  local t=0
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
engine_pids() { pgrep -x dockerd; pgrep -x containerd; pgrep -f containerd-shim; }

cleanup() { docker ps -aq --filter label=dockerpulse.bench | xargs -r docker rm -f >/dev/null; }
if [ "$KEEP" = 1 ]; then
  trap 'say "containers left running (DOCKERPULSE_BENCH_KEEP=1)"' EXIT
  # Reuse running bench containers; drop the stopped ones and any beyond N.
  docker ps -aq --filter label=dockerpulse.bench --filter status=exited | xargs -r docker rm -f >/dev/null
  docker ps --filter label=dockerpulse.bench --format '{{.Names}}' \
    | awk -F- -v n="$N" '$3 > n' | xargs -r docker rm -f >/dev/null
else
  trap cleanup EXIT
  cleanup
fi
have=$(docker ps -q --filter label=dockerpulse.bench | wc -l)
say "starting $((N - have)) idle containers ($have already running)"
for i in $(seq 1 "$N"); do
  docker inspect "dp-bench-$i" >/dev/null 2>&1 && continue
  docker run -d --label dockerpulse.bench --name "dp-bench-$i" "$TEST_IMAGE" sleep 100000 >/dev/null
done
sleep 5

IDLE_ENGINE=""
measure() { # label, command...
  local label=$1; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep 5 # let it settle (connect, discover)
  local e0 w0 e1 w1
  e0=$(ticks_of $(engine_pids)); w0=$(ticks_of $pid $(pgrep -P $pid || true))
  sleep "$SECS"
  e1=$(ticks_of $(engine_pids)); w1=$(ticks_of $pid $(pgrep -P $pid || true))
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  local row
  row=$(awk -v l="$label" -v w=$((w1 - w0)) -v e=$((e1 - e0)) -v hz="$HZ" -v s="$SECS" -v idle="$IDLE_ENGINE" \
    'BEGIN {
       wp = w / hz / s * 100; ep = e / hz / s * 100
       if (idle == "") { printf "%s|%.2f", ep, wp; exit }
       printf "%-32s %9.2f %%  %9.2f %%  %9.2f %%  %9.2f %%\n", l, wp, ep, ep - idle, wp + ep - idle
     }')
  if [ -z "$IDLE_ENGINE" ]; then
    IDLE_ENGINE=${row%%|*}
    printf '%-32s %9s    %9.2f %%  %9s    %9s\n' "$label" "-" "$IDLE_ENGINE" "-" "-"
  else
    echo "$row"
  fi
}

dir=$(mktemp -d)
printf '\n%-32s %11s  %11s  %11s  %11s\n' "$N containers, ${SECS}s, % of a core" "watcher" "engine" "engine added" "total added"
measure "idle (nobody watching)" sleep $((SECS + 30))
measure "DockerPulse, cgroup files" env DOCKERPULSE_DATA_DIR="$dir/a" DOCKERPULSE_REPORTS_DIR="$dir/a/r" "$BIN" serve --bind 127.0.0.1:0
measure "DockerPulse, engine stats API" env DOCKERPULSE_STATS=engine DOCKERPULSE_DATA_DIR="$dir/b" DOCKERPULSE_REPORTS_DIR="$dir/b/r" "$BIN" serve --bind 127.0.0.1:0
measure "docker stats" docker stats
rm -rf "$dir"

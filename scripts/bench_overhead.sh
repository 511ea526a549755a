#!/usr/bin/env bash
# Benchmark: what watching N containers at 1 Hz costs, DockerPulse against `docker stats`.
#
#   scripts/bench_overhead.sh [N=50] [SECONDS=60]
#
# Starts N idle labelled containers, then measures the CPU time (user + system) over SECONDS of:
#   1. DockerPulse reading cgroup files (the default on a local engine),
#   2. DockerPulse reading the engine's stats API (what it does for remote engines),
#   3. `docker stats` watching the same containers,
# for the watcher itself and for the engine (dockerd + containerd + shims). Prints a table.
# Needs a release build (scripts/run.sh builds one) and a quiet machine for stable numbers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${1:-50}"
SECS="${2:-60}"
BIN="$CARGO_TARGET_DIR/release/dockerpulse"
[ -x "$BIN" ] || die "no release build at $BIN: run cargo build --release -p server first"
ensure_docker_engine || die "no Docker engine"
ensure_test_image
HZ=$(getconf CLK_TCK)

ticks_of() { # pids... → utime+stime ticks summed
  local t=0
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
  done
  echo "$t"
}
engine_pids() { pgrep -x dockerd; pgrep -x containerd; pgrep -f containerd-shim; }

cleanup() { docker ps -aq --filter label=dockerpulse.bench | xargs -r docker rm -f >/dev/null; }
trap cleanup EXIT
cleanup
say "starting $N idle containers"
for i in $(seq 1 "$N"); do
  docker run -d --label dockerpulse.bench --name "dp-bench-$i" "$TEST_IMAGE" sleep 100000 >/dev/null
done
sleep 5

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
  awk -v l="$label" -v w=$((w1 - w0)) -v e=$((e1 - e0)) -v hz="$HZ" -v s="$SECS" \
    'BEGIN { printf "%-34s %8.2f %%  %8.2f %%\n", l, w / hz / s * 100, e / hz / s * 100 }'
}

dir=$(mktemp -d)
printf '\n%-34s %10s  %10s\n' "watcher ($N containers, ${SECS}s)" "watcher" "engine"
printf '%-34s %10s  %10s\n' "" "(% of a core)" "(% of a core)"
measure "idle (nobody watching)" sleep $((SECS + 30))
measure "DockerPulse, cgroup files" env DOCKERPULSE_DATA_DIR="$dir/a" DOCKERPULSE_REPORTS_DIR="$dir/a/r" "$BIN" serve --bind 127.0.0.1:0
measure "DockerPulse, engine stats API" env DOCKERPULSE_STATS=engine DOCKERPULSE_DATA_DIR="$dir/b" DOCKERPULSE_REPORTS_DIR="$dir/b/r" "$BIN" serve --bind 127.0.0.1:0
measure "docker stats" docker stats
rm -rf "$dir"

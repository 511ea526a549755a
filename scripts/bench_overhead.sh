#!/usr/bin/env bash
# Benchmark: what watching N containers at 1 Hz costs, DockerPulse against `docker stats`.
#
#   scripts/bench_overhead.sh [N=50] [SECONDS=60] [ROUNDS=1]
#
# Starts N idle labelled containers, then measures the CPU time (user + system) over SECONDS of:
#   1. nobody watching (the engine's idle cost with N containers; measured once per round and
#      once at the end: their mean is the baseline for "added"),
#   2. DockerPulse reading cgroup files (the default on a local engine), once per round, each
#      round after its own idle window (the engine's idle cost swings, so one window can mislead),
#   3. DockerPulse reading the engine's stats API (what it does for remote engines),
#   4. `docker stats` watching the same containers,
# for the watcher itself and for the engine (dockerd + containerd + shims). Prints a table: the
# watcher, the engine, what the engine spent above idle, and watcher + that (the total cost; an
# engine figure below idle is noise and counts as zero there).
# Then it counts the requests DockerPulse (cgroup files) sends the engine over SECONDS once
# settled, by tracing its socket writes (strace): what it can add to the engine beyond noise.
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
ROUNDS="${3:-1}"
BIN="${DOCKERPULSE_BIN:-$CARGO_TARGET_DIR/release/dockerpulse}"
KEEP="${DOCKERPULSE_BENCH_KEEP:-0}"
[ -x "$BIN" ] || die "no release build at $BIN: run cargo build --release -p server first"
ensure_docker_engine || die "no Docker engine"
ensure_test_image
ensure_apt strace
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

ROWS=()
measure() { # label, command... → appends "label|watcher %|engine %" to ROWS
  local label=$1; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep 10 # let it settle (connect, list and inspect every container)
  local e0 w0 e1 w1
  e0=$(ticks_of $(engine_pids)); w0=$(ticks_of $pid $(pgrep -P $pid || true))
  sleep "$SECS"
  e1=$(ticks_of $(engine_pids)); w1=$(ticks_of $pid $(pgrep -P $pid || true))
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  ROWS+=("$(awk -v l="$label" -v w=$((w1 - w0)) -v e=$((e1 - e0)) -v hz="$HZ" -v s="$SECS" \
    'BEGIN { printf "%s|%.2f|%.2f", l, w / hz / s * 100, e / hz / s * 100 }')")
  say "${ROWS[-1]}"
}

dir=$(mktemp -d)
WRAP=() # a command DockerPulse runs under (strace, below)
serve() { # data dir name, extra env... → runs DockerPulse on a private data dir
  local d="$dir/$1"; shift
  exec "${WRAP[@]}" env DOCKERPULSE_DATA_DIR="$d" DOCKERPULSE_REPORTS_DIR="$d/r" "$@" "$BIN" serve --bind 127.0.0.1:0
}
# Idle is measured before each round and at the end: the engine's own cost with N containers
# drifts, and the spread of the idle windows shows how far "engine added" can be trusted.
for r in $(seq 1 "$ROUNDS"); do
  measure "idle, round $r" sleep $((SECS + 10))
  measure "DockerPulse, cgroup files (round $r)" serve "a$r"
done
measure "DockerPulse, engine stats API" serve b DOCKERPULSE_STATS=engine
measure "docker stats" docker stats
measure "idle, after" sleep $((SECS + 10))

# What DockerPulse asks of the engine once it has listed and inspected the fleet: every HTTP
# request it writes to the engine's socket, timestamped, counted after the same settle time.
trace="$dir/strace.log"
WRAP=(strace -f -qq -ttt -e trace=write,writev,sendto,sendmsg -e signal=none -s 32 -o "$trace")
serve t >/dev/null 2>&1 &
tpid=$!
start=$(date +%s.%N)
sleep $((10 + SECS))
# Stop DockerPulse (strace's child); strace ends with it.
pkill -P "$tpid" 2>/dev/null || true; wait "$tpid" 2>/dev/null || true
REQS=$(awk -v from="$(echo "$start + 10" | bc)" '
  $2 >= from && $0 ~ /"(GET|POST|PUT|DELETE|HEAD) \// { n++ } END { print n + 0 }' "$trace")
SETTLE_REQS=$(grep -cE '"(GET|POST|PUT|DELETE|HEAD) /' "$trace" || true)
rm -rf "$dir"

printf '%s\n' "${ROWS[@]}" | awk -F'|' -v n="$N" -v s="$SECS" '
  { label[NR] = $1; w[NR] = $2; e[NR] = $3 }
  END {
    for (i = 1; i <= NR; i++) if (label[i] ~ /^idle/) { idle += e[i]; k++; lo = (k == 1 || e[i] < lo) ? e[i] : lo; hi = (k == 1 || e[i] > hi) ? e[i] : hi }
    idle /= k
    printf "\n%-32s %11s  %11s  %12s  %11s\n", n " containers, " s " s, % of a core", "watcher", "engine", "engine added", "total added"
    printf "%-32s %11s  %9.2f %%  %12s  %11s\n", "idle (nobody watching)", "-", idle, sprintf("(%.2f–%.2f)", lo, hi), "-"
    for (i = 1; i <= NR; i++) if (label[i] !~ /^idle/)
      printf "%-32s %9.2f %%  %9.2f %%  %10.2f %%  %9.2f %%\n", label[i], w[i], e[i], e[i] - idle, w[i] + (e[i] > idle ? e[i] - idle : 0)
  }'
printf '\nDockerPulse (cgroup files) sent the engine %s requests in %s s once settled (%s in all, start-up included).\n' "$REQS" "$SECS" "$SETTLE_REQS"

#!/usr/bin/env bash
# Benchmark: VIEWERS websocket viewers watch a demo fleet of CONTAINERS containers for SECONDS,
# against the release build `serve` runs (scripts/run.sh builds it).
#
#   scripts/bench_viewers.sh [CONTAINERS=100] [VIEWERS=100] [SECONDS=30] [WARM=40]
#
# Starts DockerPulse on a loopback port with the demo fleet of that size and viewer caps raised
# to VIEWERS (all viewers come from one address), waits WARM seconds (the brain learns each
# container's baseline for 30 s first; a dashboard normally watches a warm fleet), then runs
# `viewers_load` and prints: ticks per viewer, delivery lag p50/p99, KiB/s per viewer, and the
# server's CPU (% of one core) and resident memory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
C="${1:-100}"
V="${2:-100}"
SECS="${3:-30}"
WARM="${4:-40}"
build_site release
cargo build --release -p server --example viewers_load
BIN="$CARGO_TARGET_DIR/release/dockerpulse"
LOAD="$CARGO_TARGET_DIR/release/examples/viewers_load"
# Each viewer is a socket on both sides of the loopback.
ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > 2 * V + 100 )) || die "open-file limit $(ulimit -n) is too low for $V viewers"

dir=$(mktemp -d)
port=$(free_port)
DOCKERPULSE_DATA_DIR="$dir" DOCKERPULSE_REPORTS_DIR="$dir/reports" \
  DOCKERPULSE_DEMO_CONTAINERS="$C" DOCKERPULSE_VIEWERS__MAX="$V" DOCKERPULSE_VIEWERS__MAX_PER_CLIENT="$V" \
  "$BIN" serve --demo --bind "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null || { cat "$dir/serve.log"; die "DockerPulse did not start"; }
say "$C demo containers; warming up for $WARM s"
sleep "$WARM"
say "$V viewers for $SECS s"
"$LOAD" "ws://127.0.0.1:$port/ws" "$V" "$SECS" "$pid"

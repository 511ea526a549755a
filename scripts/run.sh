#!/usr/bin/env bash
# Sets up (idempotently) and starts DockerPulse.
#
#   scripts/run.sh [dockerpulse serve flags...]     e.g. scripts/run.sh --bind 0.0.0.0:3000
#
# Watches the local Docker engine when one answers; otherwise DockerPulse starts its built-in,
# clearly labelled SIMULATED demo fleet. Open http://127.0.0.1:3000 once it says it is watching.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_apt build-essential pkg-config curl
ensure_rust_tools
build_site release

cd "$ROOT"
export DOCKERPULSE_SITE_ROOT="$ROOT/target/site"
exec "$CARGO_TARGET_DIR/release/dockerpulse" serve "$@"

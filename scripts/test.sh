#!/usr/bin/env bash
# Sets up (idempotently) and runs every test: formatting and lints, unit tests, integration
# tests against a real Docker engine, and the browser end-to-end suite in headless Chromium.
#
#   scripts/test.sh
#
# Starts a Docker engine when none answers (and stops it afterwards). Exits non-zero on any
# failure. Set DOCKERPULSE_REQUIRE_ENGINE=1 (CI does) to fail rather than skip when no engine
# can be started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_apt build-essential pkg-config curl ca-certificates busybox-static chromium docker-compose python3-venv python3 prometheus prometheus-alertmanager iproute2 iptables
ensure_node
ensure_rust_tools

trap stop_started_docker_engine EXIT
if ensure_docker_engine; then
  ensure_test_image
  export DOCKERPULSE_TEST_IMAGE="$TEST_IMAGE"
else
  [ "${DOCKERPULSE_REQUIRE_ENGINE:-0}" = 1 ] && die "no Docker engine could be started"
  warn "NO DOCKER ENGINE: the engine tests will be SKIPPED"
fi

cd "$ROOT"
say "formatting"
cargo fmt --all --check

say "lints (server and app)"
cargo clippy --all-targets -- -D warnings
# `--all-targets` leaves out test targets with `test = false` (the crash-loop drills).
cargo clippy -p server --test drills -- -D warnings
say "lints (browser bundle)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

say "building every test"
# Not --workspace: that would build the browser (hydrate) features into the server.
cargo test --no-run
cargo build -p server --bin dockerpulse
# The crash-loop drills (`test = false` in server/Cargo.toml) mostly wait, so they run beside the
# other tests, straight from their binary (cargo holds its build lock while `cargo test` runs):
# they mind no other test's containers and load the machine little. Not the churn drill (it
# counts every container on the engine), the brain on the engine or the three-node Swarm drill:
# timings and CPU readings elsewhere failed beside them (a burner short of its core, a storm
# late to CRITICAL). The Swarm drill is a script (scripts/swarm_drill.sh, ~4 min, as root); the
# tests cover its paths on one node (tests/swarm_engine/) and on loopback sockets (tests/cluster/).
long_tests=$(cargo test -p server --test drills --no-run --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["kind"] == ["test"]:
        print(m["executable"])')
[ -n "$long_tests" ] || die "the crash-loop drills' test binary was not found"
long_log="$CACHE/long-tests.log"
set -m # its own process group, so that it can be stopped with everything it started
(
  set -e
  cd "$ROOT/server"
  for t in $long_tests; do
    echo "== $(basename "$t")"
    "$t"
  done
) >"$long_log" 2>&1 </dev/null &
long_pid=$!
set +m
# Stop them (and their servers) if the rest fails first.
stop_long_tests() {
  kill -- -"$long_pid" 2>/dev/null || true
  wait "$long_pid" 2>/dev/null || true
}
trap 'stop_long_tests; stop_started_docker_engine' EXIT

say "unit and integration tests (the long ones run alongside: $long_log)"
cargo test

say "engine loss and recovery (serial, on a private second engine)"
cargo test -p server --test engine_restart -- --ignored --test-threads=1

say "the crash-loop drills, run alongside"
if ! wait "$long_pid"; then
  cat "$long_log"
  die "a long test failed (above)"
fi
cat "$long_log"
trap stop_started_docker_engine EXIT

say "demo infrastructure: compose file, scripts, the demo apps"
DOCKERPULSE_ADMIN_TOKEN=compose-validation-token docker-compose -f docker-compose.yml config -q
docker-compose -f docs/swarm-stack.yml config -q
for s in scripts/*.sh demo/*.sh .ci/run; do bash -n "$s"; done
demo/check_apps.sh

say "end-to-end tests in Chromium"
build_site debug
cd "$ROOT/end2end"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
export DOCKERPULSE_BIN="$CARGO_TARGET_DIR/debug/dockerpulse"
export DOCKERPULSE_SITE_ROOT="$ROOT/target/site"
npx playwright test

say "all tests passed"

# Shared set-up steps for scripts/run.sh and scripts/test.sh. Every step is idempotent: it
# checks first and installs only what is missing. Source this file; don't run it.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${DOCKERPULSE_CACHE:-$HOME/.cache/dockerpulse}"
# Build output lives outside the checkout so repeated runs (and fresh clones) reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
export PATH="$HOME/.cargo/bin:$CACHE/tools/node_modules/.bin:$PATH"
# cargo-leptos sets this when it builds; setting it for every cargo command keeps leptos from
# being rebuilt each time `cargo test` and `cargo leptos build` alternate.
export LEPTOS_OUTPUT_NAME=dockerpulse

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130 # must equal wasm-bindgen in Cargo.lock
BINARYEN_VERSION=132.0.0     # Debian's wasm-opt 108 silently breaks release bundles

say() { printf '\033[1;36m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[1;33m!!! %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31mxxx %s\033[0m\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt packages, installed only when missing.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install Rust first (https://rustup.rs)"
  if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
    say "adding the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (once; ~13 min on 2 cores)"
    cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once; ~2 min)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

ensure_node() {
  command -v npm >/dev/null || ensure_apt nodejs npm
}

# wasm-opt for release bundles, from npm (see BINARYEN_VERSION).
ensure_wasm_opt() {
  if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    ensure_node
    say "installing wasm-opt (binaryen $BINARYEN_VERSION, npm)"
    mkdir -p "$CACHE/tools"
    npm install --silent --no-audit --no-fund --prefix "$CACHE/tools" "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}

# A loopback port nothing listens on now (for a bench's own server).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

docker_up() { docker info >/dev/null 2>&1; }

# Starts a Docker engine when none answers. Sets STARTED_DOCKERD=1 when it started one.
STARTED_DOCKERD=0
ensure_docker_engine() {
  docker_up && return 0
  ensure_apt docker.io
  docker_up && return 0
  say "starting a Docker engine (dockerd --iptables=false --bridge=none)"
  as_root mkdir -p "$CACHE"
  as_root sh -c "nohup dockerd --iptables=false --bridge=none --pidfile '$CACHE/dockerd.pid' >'$CACHE/dockerd.log' 2>&1 &"
  for _ in $(seq 1 60); do
    docker_up && { STARTED_DOCKERD=1; return 0; }
    sleep 1
  done
  warn "dockerd did not come up; its log:"
  tail -n 30 "$CACHE/dockerd.log" >&2 || true
  return 1
}

stop_started_docker_engine() {
  if [ "$STARTED_DOCKERD" = 1 ]; then
    say "stopping the Docker engine this script started"
    # Only the engine this script started (its pid file), never another one on the machine.
    local pid
    pid="$(cat "$CACHE/dockerd.pid" 2>/dev/null || true)"
    [ -n "$pid" ] || return 0
    as_root kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
}

# The busybox image every engine test uses (no registry needed).
TEST_IMAGE=dockerpulse-test/busybox:latest
ensure_test_image() {
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && return 0
  ensure_apt busybox-static
  say "building the local test image $TEST_IMAGE from busybox-static"
  local dir
  dir="$(mktemp -d)"
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/etc"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $("$dir/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
  done
  tar -C "$dir" -c . | docker import -c 'ENV PATH=/bin' - "$TEST_IMAGE" >/dev/null
  rm -rf "$dir"
}

# Builds the dashboard (wasm + CSS) and the server. $1: "release" or "debug".
build_site() {
  cd "$ROOT"
  if [ "${1:-debug}" = release ]; then
    ensure_wasm_opt
    say "building DockerPulse (release)"
    cargo leptos build --release
  else
    say "building DockerPulse (debug)"
    cargo leptos build
  fi
}

# The binary a bench or drill runs, in BIN: $DOCKERPULSE_BIN when set (no build), else the
# release build `serve` runs, built first.
pick_bin() {
  if [ -n "${DOCKERPULSE_BIN:-}" ]; then
    BIN="$DOCKERPULSE_BIN"
  else
    build_site release
    BIN="$CARGO_TARGET_DIR/release/dockerpulse"
  fi
  [ -x "$BIN" ] || die "no binary at $BIN"
}

# Keeps, from a `dockerpulse record` directory ($2), only the traces and events of the
# containers named with prefix $1, without the prefix, in $3.
keep_recorded() {
  local prefix="$1" raw="$2" out="$3" f base
  mkdir -p "$out"
  for f in "$raw"/"$prefix"*.csv; do
    [ -e "$f" ] || continue
    base="$(basename "$f")"
    cp "$f" "$out/${base#"$prefix"}"
  done
  {
    echo "ts_ms,container,event"
    grep ",${prefix}" "$raw/_events.csv" | sed "s/,${prefix}/,/"
  } >"$out/_events.csv"
}

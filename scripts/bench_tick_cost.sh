#!/usr/bin/env bash
# Benchmark: instructions the tick loop spends per tick on a demo fleet, counted by callgrind —
# a figure that repeats where wall clock does not (a shared VM's speed swings by more than the
# changes it is meant to show).
#
#   scripts/bench_tick_cost.sh [CONTAINERS=300] [SECONDS=60] [WARM=40] [BIN=the release build]
#
# Runs `serve --demo` with CONTAINERS containers under callgrind, counting only inside the
# pipeline's message handler (the tick loop: brains, live store and history, incidents, healing,
# the hub's encoding), from WARM seconds in (the brains have learnt their baselines) for SECONDS,
# and prints instructions per tick and per container and tick, and the largest parts. To compare
# two builds, copy one binary aside, rebuild, and pass each as BIN. Under callgrind the server
# runs ~50× slower: at a few hundred containers it still keeps up with its 1 s tick.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
C="${1:-300}"
SECS="${2:-60}"
WARM="${3:-40}"
BIN="${4:-}"
ensure_apt valgrind
if [ -z "$BIN" ]; then
  cargo build --release -p server --bin dockerpulse
  BIN="$CARGO_TARGET_DIR/release/dockerpulse"
fi
[ -x "$BIN" ] || die "no binary at $BIN"

dir=$(mktemp -d)
port=$(free_port)
DOCKERPULSE_DATA_DIR="$dir/data" DOCKERPULSE_REPORTS_DIR="$dir/reports" DOCKERPULSE_DEMO_CONTAINERS="$C" \
  valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  --toggle-collect='dockerpulse::pipeline::Pipeline::handle*' \
  "$BIN" serve --demo --bind "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
say "$C demo containers under callgrind; warming up for $WARM s"
sleep "$WARM"
callgrind_control --zero "$pid" >/dev/null 2>&1
say "counting for $SECS s"
sleep "$SECS"
kill -TERM "$pid"
wait "$pid" || true
[ -s "$dir/callgrind.out" ] || { cat "$dir/serve.log"; die "callgrind wrote no profile"; }
callgrind_annotate --inclusive=yes "$dir/callgrind.out" >"$dir/inclusive.txt" 2>/dev/null
python3 - "$dir/callgrind.out" "$dir/inclusive.txt" "$C" <<'EOF'
import re, sys
out, inclusive, containers = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(out).read().split("\n")
names, calls = {}, {}
for l in lines:
    m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", l)
    if m and m.group(2):
        names[m.group(1)] = m.group(2)
for i, l in enumerate(lines[:-1]):
    m = re.match(r"cfn=\((\d+)\)", l)
    if m and lines[i + 1].startswith("calls="):
        n = names.get(m.group(1), "?")
        calls[n] = calls.get(n, 0) + int(lines[i + 1].split()[0][6:])
ticks = sum(v for n, v in calls.items() if n.startswith("dockerpulse::hub::Hub::publish"))
parts = {}
for l in open(inclusive):
    m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+[^:]*:(.*?) \[", l)
    if m:
        parts.setdefault(m.group(2), int(m.group(1).replace(",", "")))
total = parts.get("dockerpulse::pipeline::Pipeline::handle", 0)
if ticks == 0 or total == 0:
    sys.exit("no tick was counted")
print(f"ticks counted: {ticks}")
print(f"instructions per tick: {total / ticks / 1e6:.2f} M ({total / ticks / containers / 1e3:.1f} k per container)")
for key, label in [
    ("dockerpulse::brain::ContainerBrain::observe", "brains"),
    ("dockerpulse::store::history::History::push", "history (compression)"),
    ("dockerpulse::hub::Hub::publish", "hub (encoding the fleet frame)"),
    ("dockerpulse::store::live::LiveStore::frame", "live store frame"),
    ("dockerpulse::heal::deciding::<impl dockerpulse::heal::Healer>::decide", "healing decisions"),
    ("dockerpulse::heal::Healer::view", "healing view"),
    ("dockerpulse::incident::IncidentLog::observe", "incidents (observe)"),
    ("dockerpulse::incident::IncidentLog::tick", "incidents (sweep)"),
    ("<core::hash::sip::Hasher<S> as core::hash::Hasher>::write", "SipHash"),
]:
    v = parts.get(key)
    if v is None:
        # Not a function of its own in this build: inlined into its caller, or never called.
        print(f"  {label:<32}  not seen (inlined or not called)")
    else:
        print(f"  {label:<32} {v / ticks / 1e6:7.2f} M  {100 * v / total:5.1f} %")
EOF

#!/usr/bin/env bash
# Records a labelled fault corpus on the real engine with `dockerpulse record`, for
# `dockerpulse eval risk`: busybox containers that leak memory at several speeds (each ends in a
# real OOM kill, restarted up to 3 times), CPU storms (step and ramp), a fork storm, a crash loop,
# and calm, noisy, bursty and steadily busy ones that must not fail. The labels are not written
# by hand: `eval risk` reads them from what the engine reported (oom, die with a non-zero exit)
# and from the recorded CPU (throttled at the quota).
#
#   scripts/record_faults.sh OUT [SECONDS] [SEED]
#
# Two runs with different SEEDs give a fitting part and a held-out part. Containers are named
# dp-flt-*; only they are kept in OUT (prefix stripped) and removed at the end.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT="${1:?output directory}"
SECONDS_TOTAL="${2:-420}"
SEED="${3:-1}"
DP="${DOCKERPULSE:-$CARGO_TARGET_DIR/release/dockerpulse}"
[ -x "$DP" ] || die "no dockerpulse binary at $DP (cargo build --release -p server)"
ensure_docker_engine
ensure_test_image

P=dp-flt-
cleanup() {
  docker ps -aq --filter "name=^${P}" | xargs -r docker rm -f >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

# Start offsets and speeds vary with the seed, so the two runs are not copies of each other.
r() { echo $(( (SEED * 7919 + $1 * 104729) % $2 )); }

run() { # name, docker flags, script
  docker run -d --name "${P}$1" $2 "$TEST_IMAGE" sh -c "$3" >/dev/null
}

# awk holding ever more strings: `kib` KiB more each second (a real leak, real OOM kill).
leak() { # kib per second, delay
  echo "sleep $2; exec busybox awk 'BEGIN{ for(i=0;;i++){ a[i]=sprintf(\"%$(( $1 * 1024 ))s\", i); system(\"sleep 1\") } }'"
}

NOSWAP_64="--memory 64m --memory-swap 64m --restart on-failure:3"
NOSWAP_96="--memory 96m --memory-swap 96m --restart on-failure:3"
run leak-2048 "$NOSWAP_64 --cpus 1" "$(leak 2048 $((20 + $(r 1 30))))"
run leak-1024 "$NOSWAP_64 --cpus 1" "$(leak 1024 $((20 + $(r 2 30))))"
run leak-640 "$NOSWAP_96 --cpus 1" "$(leak 640 $((10 + $(r 3 30))))"
run leak-400 "$NOSWAP_96 --cpus 1" "$(leak 400 $((10 + $(r 4 20))))"
run leak-256 "$NOSWAP_64 --cpus 1" "$(leak 256 $((5 + $(r 5 20))))"
# CPU storms at a 0.5-CPU quota: calm, a storm, calm again, in cycles.
run storm-step "--cpus 0.5 --memory 64m" "while true; do sleep $((40 + $(r 6 40))); timeout $((30 + $(r 7 60))) yes >/dev/null; done"
run storm-ramp "--cpus 0.5 --memory 64m" "while true; do sleep $((30 + $(r 8 40))); i=1; while [ \$i -le 20 ]; do yes >/dev/null & p=\$!; usleep \$((i*50000)); kill \$p; usleep \$(((20-i)*50000)); i=\$((i+1)); done; timeout 45 yes >/dev/null; done"
# Fork storm: short-lived processes as fast as they can be made, within 64 pids and 0.5 CPU.
run fork-storm "--cpus 0.5 --memory 64m --pids-limit 64" "while true; do sleep $((45 + $(r 9 30))); end=\$((\$(date +%s) + 40)); while [ \$(date +%s) -lt \$end ]; do for j in 1 2 3 4 5 6 7 8; do (true &) 2>/dev/null; done; done; done"
# Crash loop: works a while, then exits 1; the engine restarts it (with its growing delay).
run crash-loop "--memory 64m --restart always" "sleep $((8 + $(r 10 15))); exit 1"
# Healthy ones.
run calm "--cpus 1 --memory 64m" "while true; do date > /tmp/now; sleep 5; done"
run noisy-mem "--cpus 1 --memory 32m --memory-swap 32m" "busybox awk 'BEGIN{ srand($SEED); while(1){ n=int(rand()*8)+1; s=sprintf(\"%\" n*1048576 \"s\", \"\"); system(\"sleep 1\"); s=\"\" } }'"
run bursty "--cpus 1.5 --memory 64m" "while true; do yes >/dev/null & p=\$!; sleep \$((RANDOM%3+1)); kill \$p; sleep \$((RANDOM%5+2)); done"
run busy-steady "--cpus 1 --memory 64m" "while true; do timeout 1 yes >/dev/null; usleep 600000; done"

RAW="$(mktemp -d)"
"$DP" record --seconds "$SECONDS_TOTAL" --out "$RAW" >/dev/null

keep_recorded "$P" "$RAW" "$OUT"
rm -rf "$RAW"
say "recorded the fault corpus (seed $SEED) into $OUT: $(ls "$OUT" | tr '\n' ' ')"

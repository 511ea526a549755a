#!/usr/bin/env bash
# Injects faults into the demo's target containers so DockerPulse's whole story can be shown:
# prediction, risk, healing, audit.
#
#   scripts/stress_demo.sh FAULT [CONTAINER|all] [SECONDS]
#
#   FAULT      cpu    a CPU storm that ramps up over ~20 s, then stays pinned at the quota
#              memory a memory leak of ~2 MiB/s (until the limit: expect an OOM kill)
#              fork   a fork storm: processes multiply (about 20 per second)
#   CONTAINER  a target's name (flask-api, node-service, nginx, redis, postgres, rabbitmq,
#              oracle-db) or "all" [default: flask-api]
#   SECONDS    how long [default: 90]
#
# Ctrl-C stops every fault it started, cleanly. The faults run inside the containers with their
# own shell (`docker exec`), so they use the REAL machine's CPU and memory — within the
# containers' limits, but expect the host to get busy.
set -euo pipefail

TARGETS=(oracle-db nginx redis postgres rabbitmq flask-api node-service)
FAULT="${1:-}"
WHO="${2:-flask-api}"
SECONDS_TOTAL="${3:-90}"
STOP=/tmp/dockerpulse-stress.stop

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
case "$FAULT" in cpu | memory | fork) ;; -h | --help | "") usage ;; *) echo "unknown fault: $FAULT" >&2; usage ;; esac
[[ "$SECONDS_TOTAL" =~ ^[0-9]+$ ]] || { echo "SECONDS must be a whole number" >&2; exit 2; }
command -v docker >/dev/null || { echo "docker CLI not found" >&2; exit 1; }

if [ "$WHO" = all ]; then names=("${TARGETS[@]}"); else names=("$WHO"); fi
running=()
for n in "${names[@]}"; do
  if [ "$(docker inspect -f '{{.State.Running}}' "$n" 2>/dev/null)" = true ]; then
    running+=("$n")
  else
    echo "skipping $n: no running container by that name (scripts/setup_containers.sh starts them)" >&2
  fi
done
[ ${#running[@]} -gt 0 ] || { echo "nothing to stress" >&2; exit 1; }

# The fault programs, in POSIX sh, so they run in any target image that has a shell.
# Each stops when the stop file appears or its time is up.
read -r -d '' CPU_PROG <<'SH' || true
end=$(( $(date +%s) + $1 )); rm -f /tmp/dockerpulse-stress.stop
# One worker per CPU of the quota. Each burns n loop iterations then naps 0.1 s; n doubles every
# second, so the load ramps from nothing to the whole quota in ~15 s (a storm building up, which
# is what a forecast can see coming), then stays pinned.
burn() { n=64; next=$(date +%s)
  while [ ! -e /tmp/dockerpulse-stress.stop ] && [ "$(date +%s)" -lt "$end" ]; do
    i=0; while [ $i -lt $n ]; do i=$((i+1)); done
    if [ $n -lt 262144 ]; then
      sleep 0.1
      [ "$(date +%s)" -ge "$next" ] && { n=$((n*2)); next=$((next+1)); }
    fi
  done; }
k=0; while [ $k -lt "$2" ]; do burn & k=$((k+1)); done
wait
SH
read -r -d '' MEMORY_PROG <<'SH' || true
end=$(( $(date +%s) + $1 )); rm -f /tmp/dockerpulse-stress.stop
# tail keeps an unterminated "line" in memory: it grows with what is fed to it (~2 MiB/s).
( while [ ! -e /tmp/dockerpulse-stress.stop ] && [ "$(date +%s)" -lt "$end" ]; do
    head -c 1048576 /dev/zero; sleep 0.5; done ) | tail -c 1073741824 >/dev/null
SH
read -r -d '' FORK_PROG <<'SH' || true
end=$(( $(date +%s) + $1 )); rm -f /tmp/dockerpulse-stress.stop
n=0; while [ ! -e /tmp/dockerpulse-stress.stop ] && [ "$(date +%s)" -lt "$end" ] && [ $n -lt 2000 ]; do
  sleep 600 & n=$((n+1)); [ $((n % 4)) -eq 0 ] && sleep 0.2; done
while [ ! -e /tmp/dockerpulse-stress.stop ] && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
kill $(jobs -p) 2>/dev/null; wait 2>/dev/null
SH
case "$FAULT" in
  cpu) PROG="$CPU_PROG"; WHAT="a CPU storm ramping up over ~20 s" ;;
  memory) PROG="$MEMORY_PROG"; WHAT="a memory leak of ~2 MiB/s" ;;
  fork) PROG="$FORK_PROG"; WHAT="a fork storm (~20 processes/s)" ;;
esac

echo "WARNING: this loads the REAL machine (within the containers' limits)."
echo "Injecting $WHAT into ${running[*]} for ${SECONDS_TOTAL}s. Ctrl-C stops it."

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping the faults…"
  for n in "${running[@]}"; do docker exec "$n" sh -c "touch $STOP" >/dev/null 2>&1 || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${running[@]}"; do docker exec "$n" sh -c "rm -f $STOP" >/dev/null 2>&1 || true; done
  echo "done: the containers are back to their own work."
}
trap cleanup INT TERM EXIT

for n in "${running[@]}"; do
  # CPUs of the container's quota (at least 1), for the number of CPU workers.
  nano=$(docker inspect -f '{{.HostConfig.NanoCpus}}' "$n" 2>/dev/null || echo 0)
  cpus=$(( (${nano:-0} + 999999999) / 1000000000 )); [ "$cpus" -ge 1 ] || cpus=1
  docker exec "$n" sh -c "$PROG" dockerpulse-stress "$SECONDS_TOTAL" "$cpus" &
  pids+=("$!")
  echo "  $n: started"
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done

#!/usr/bin/env bash
# Records real service traces with `dockerpulse record` for server/tests/data/traces/:
# redis + redis-benchmark, PostgreSQL + pgbench, nginx + ab, in lab containers built from
# Debian's binaries (scripts/lab_images.sh), on loopback ports with --network host.
#
#   scripts/record_traces.sh services OUT   calm → ramp → burst → calm, all three (~5.5 min)
#   scripts/record_traces.sh steady OUT     steady load on all three for 20 min (false alarms)
#   scripts/record_traces.sh oom OUT        redis filled at ~0.6 MiB/s until the kernel OOM-kills it
#   scripts/record_traces.sh saturate OUT   PostgreSQL at 0.5 CPU driven past its quota by pgbench
#
# DOCKERPULSE: the binary to record with (default: target/release/dockerpulse under
# $CARGO_TARGET_DIR). Containers are named dp-rec-*; only they are kept in OUT (prefix stripped)
# and removed at the end. Other containers on the engine are never touched.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCENARIO="${1:?scenario: services | steady | oom | saturate}"
OUT="${2:?output directory}"
DP="${DOCKERPULSE:-$CARGO_TARGET_DIR/release/dockerpulse}"
[ -x "$DP" ] || die "no dockerpulse binary at $DP (cargo build --release -p server)"
ensure_docker_engine
bash "$ROOT/scripts/lab_images.sh"

P=dp-rec-
cleanup() {
  docker ps -aq --filter "name=^${P}" | xargs -r docker rm -f >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

NGINX_CONF="$(mktemp)"
cat >"$NGINX_CONF" <<'EOF'
daemon off;
worker_processes 1;
error_log /dev/stderr;
pid /tmp/nginx.pid;
events { worker_connections 512; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path /tmp; proxy_temp_path /tmp; fastcgi_temp_path /tmp;
  uwsgi_temp_path /tmp; scgi_temp_path /tmp;
  server { listen 127.0.0.1:18080; root /www; }
}
EOF
chmod 644 "$NGINX_CONF"

# Service containers: 1 CPU and 256 MiB each unless the scenario says otherwise.
start_redis() { # $1: extra docker flags
  docker run -d --name ${P}redis --network host ${1:---cpus 1 --memory 256m} dp-lab/redis \
    redis-server --port 16379 --save "" --appendonly no >/dev/null
}
start_postgres() {
  docker run -d --name ${P}postgres --network host --user 1000 ${1:---cpus 1 --memory 256m} \
    dp-lab/postgres sh -c 'initdb -D /var/lib/postgresql/data -A trust -U postgres >/dev/null &&
      exec postgres -D /var/lib/postgresql/data -p 15432 -k /tmp -c listen_addresses=127.0.0.1 \
        -c shared_buffers=32MB -c fsync=off -c max_connections=50' >/dev/null
  for _ in $(seq 1 60); do
    docker run --rm --network host dp-lab/postgres pg_isready -h 127.0.0.1 -p 15432 >/dev/null 2>&1 && break
    sleep 1
  done
  docker run --rm --network host --user 1000 dp-lab/postgres \
    pgbench -h 127.0.0.1 -p 15432 -U postgres -i -s 5 postgres >/dev/null 2>&1
}
start_nginx() {
  docker run -d --name ${P}nginx --network host ${1:---cpus 1 --memory 256m} \
    -v "$NGINX_CONF:/etc/nginx/nginx.conf:ro" dp-lab/nginx nginx -c /etc/nginx/nginx.conf >/dev/null
}

# A load container running a POSIX sh script (the images ship busybox).
load() { # name image script
  docker run -d --name "${P}$1" --network host --user 1000 "$2" sh -c "$3" >/dev/null
}

# Load phases, as sh functions inside the load containers: `for_s S CMD` repeats CMD for S s.
LIB='for_s() { e=$(( $(date +%s) + $1 )); shift; while [ "$(date +%s)" -lt "$e" ]; do eval "$@"; done; }'
REDIS="redis-benchmark -p 16379 -q -r 10000 -t get,set,incr,lpush"
PGB="pgbench -h 127.0.0.1 -p 15432 -U postgres -n"
AB="ab -q -k"
URL=http://127.0.0.1:18080/page.html # ab takes its options before the URL

record() { # seconds
  "$DP" record --seconds "$1" --out "$RAW" >/dev/null
}

RAW="$(mktemp -d)"
case "$SCENARIO" in
  services)
    start_redis; start_postgres; start_nginx
    sleep 5
    # calm 60 s, ramp 120 s (8 steps of 15 s), bursts 75 s (5 s full, 10 s calm), calm 60 s.
    load redis-load dp-lab/redis "$LIB
      for_s 60 '$REDIS -n 300 -c 1 >/dev/null; sleep 1'
      for k in 1 2 3 4 5 6 7 8; do for_s 15 \"$REDIS -n \$((k*2500)) -c \$((k*2)) >/dev/null; sleep 1\"; done
      for b in 1 2 3 4 5; do timeout 5 $REDIS -n 10000000 -c 30 >/dev/null; for_s 10 '$REDIS -n 300 -c 1 >/dev/null; sleep 1'; done
      for_s 60 '$REDIS -n 300 -c 1 >/dev/null; sleep 1'"
    load postgres-load dp-lab/postgres "$LIB
      $PGB -c 1 -R 10 -T 60 postgres >/dev/null 2>&1
      for k in 1 2 3 4 5 6 7 8; do $PGB -c \$k -j 1 -R \$((k*60)) -T 15 postgres >/dev/null 2>&1; done
      for b in 1 2 3 4 5; do $PGB -c 8 -T 5 postgres >/dev/null 2>&1; $PGB -c 1 -R 10 -T 10 postgres >/dev/null 2>&1; done
      $PGB -c 1 -R 10 -T 60 postgres >/dev/null 2>&1"
    load nginx-load dp-lab/nginx "$LIB
      for_s 60 '$AB -n 50 -c 1 $URL >/dev/null 2>&1; sleep 1'
      for k in 1 2 3 4 5 6 7 8; do for_s 15 \"$AB -n \$((k*800)) -c \$((k*2)) $URL >/dev/null 2>&1; sleep 1\"; done
      for b in 1 2 3 4 5; do timeout 5 $AB -n 10000000 -c 16 $URL >/dev/null 2>&1; for_s 10 '$AB -n 50 -c 1 $URL >/dev/null 2>&1; sleep 1'; done
      for_s 60 '$AB -n 50 -c 1 $URL >/dev/null 2>&1; sleep 1'"
    record 330
    ;;
  steady)
    start_redis; start_postgres; start_nginx
    sleep 5
    # A steady moderate load with its natural jitter (no phases), for 20 minutes.
    load redis-load dp-lab/redis "$LIB; for_s 1230 '$REDIS -n 4000 -c 4 >/dev/null; sleep 1'"
    load postgres-load dp-lab/postgres "$PGB -c 2 -j 1 -R 150 -T 1230 postgres >/dev/null 2>&1"
    load nginx-load dp-lab/nginx "$LIB; for_s 1230 '$AB -n 2000 -c 4 $URL >/dev/null 2>&1; sleep 1'"
    record 1215
    ;;
  oom)
    # 128 MiB, no swap; ~0.6 MiB/s of new 64 KiB values until the kernel OOM-kills redis-server.
    start_redis "--cpus 1 --memory 128m --memory-swap 128m"
    sleep 2
    load redis-load dp-lab/redis "sleep 40; i=0; while true; do
      redis-benchmark -p 16379 -q -t set -d 65536 -r 100000000 -n 10 -c 1 >/dev/null 2>&1; sleep 1; done"
    record 330
    ;;
  saturate)
    # 0.5 CPU: calm for a minute, then 8 pgbench clients without a rate limit for 2 minutes.
    start_postgres "--cpus 0.5 --memory 256m"
    sleep 3
    load postgres-load dp-lab/postgres "$PGB -c 1 -R 5 -T 60 postgres >/dev/null 2>&1;
      $PGB -c 8 -j 2 -T 120 postgres >/dev/null 2>&1; $PGB -c 1 -R 5 -T 60 postgres >/dev/null 2>&1"
    record 250
    ;;
  *) die "unknown scenario $SCENARIO" ;;
esac

keep_recorded "$P" "$RAW" "$OUT"
rm -rf "$RAW" "$NGINX_CONF"
say "recorded $SCENARIO into $OUT: $(ls "$OUT" | tr '\n' ' ')"

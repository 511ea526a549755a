#!/usr/bin/env bash
# Brings up the demo's seven target services.
#
#   scripts/setup_containers.sh          the real services from docker-compose.yml (needs an
#                                        image registry: Oracle, Nginx, Redis, PostgreSQL, RabbitMQ,
#                                        and the Flask and Node.js apps built from demo/)
#   scripts/setup_containers.sh --lab    offline lab: seven stand-ins with the same names, labels
#                                        and limits, from a locally imported busybox image
#   scripts/setup_containers.sh --down   removes them (either kind)
#
# The lab stand-ins idle with a little background work, so stress_demo.sh can load them and
# DockerPulse sees the same story as with the real services — anywhere a Docker engine runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# name  cpus  memory  heal-label
LAB=(
  "oracle-db 2.0 2560m off"
  "nginx 0.5 128m restart"
  "redis 1.0 256m restart"
  "postgres 1.5 512m off"
  "rabbitmq 1.0 512m throttle"
  "flask-api 0.5 256m restart"
  "node-service 1.0 256m restart"
)

down() {
  for row in "${LAB[@]}"; do
    set -- $row
    docker rm -f "$1" >/dev/null 2>&1 && echo "removed $1" || true
  done
}

lab() {
  ensure_docker_engine || die "no Docker engine: start one (or use DockerPulse's --demo fleet)"
  ensure_test_image
  for row in "${LAB[@]}"; do
    set -- $row
    local name=$1 cpus=$2 mem=$3 heal=$4
    docker rm -f "$name" >/dev/null 2>&1 || true
    # A light, steady background load: a short burst of work every second.
    docker run -d --name "$name" --cpus "$cpus" --memory "$mem" \
      --label "dockerpulse.heal=$heal" --label "dockerpulse.lab=true" \
      --label "com.docker.compose.service=$name" \
      --health-cmd "true" --health-interval 10s \
      "$TEST_IMAGE" sh -c 'trap "exit 0" TERM; while :; do i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; sleep 1; done & wait' \
      >/dev/null
    echo "started $name (lab stand-in: --cpus $cpus --memory $mem, dockerpulse.heal=$heal)"
  done
}

real() {
  ensure_docker_engine || die "no Docker engine"
  cd "$ROOT"
  local compose=(docker compose)
  docker compose version >/dev/null 2>&1 || compose=(docker-compose)
  # The token is only needed by the dockerpulse service, which this does not start.
  DOCKERPULSE_ADMIN_TOKEN="${DOCKERPULSE_ADMIN_TOKEN:-not-used-by-the-targets}" \
    "${compose[@]}" up -d --build oracle-db nginx redis postgres rabbitmq flask-api node-service
}

case "${1:-}" in
  --lab) lab ;;
  --down) down ;;
  "") real ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

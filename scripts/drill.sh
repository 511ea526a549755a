#!/usr/bin/env bash
# The long versions of the trust drills, as benchmarks (scripts/test.sh runs the short ones):
#
#   scripts/drill.sh crash-loop   # DockerPulse SIGKILLed and restarted every 45 s for 8 minutes
#   scripts/drill.sh churn        # 200 containers created and removed per minute for 10 minutes
#   scripts/drill.sh store        # the stalled-database and full-disk drills (needs root)
#
# Each prints its figures (restarts per hour against the cap, RSS before/after, frame gaps).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_apt build-essential pkg-config busybox-static python3
ensure_docker_engine || die "the drills need a Docker engine"
trap stop_started_docker_engine EXIT
ensure_test_image
export DOCKERPULSE_TEST_IMAGE="$TEST_IMAGE" DOCKERPULSE_REQUIRE_ENGINE=1
cd "$ROOT"
case "${1:-}" in
  crash-loop)
    DRILL_ROUNDS=11 DRILL_PERIOD_S=45 cargo test -p server --test drills crash_loop -- --nocapture
    ;;
  churn)
    DRILL_CHURN_S=600 cargo test -p server --test drill_churn -- --nocapture
    ;;
  store)
    cargo test -p server --test drill_store -- --nocapture
    ;;
  *)
    die "usage: scripts/drill.sh crash-loop|churn|store"
    ;;
esac

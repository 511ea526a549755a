#!/usr/bin/env bash
# Builds the DockerPulse image without any registry: a static (musl) binary and the built site,
# assembled FROM scratch. The result is tagged dockerpulse:latest, as docker-compose.yml expects.
#
#   scripts/build_image.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_apt musl-tools
ensure_rust_tools
rustup target list --installed | grep -q x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
ensure_docker_engine || die "no Docker engine to build the image with"

build_site release
say "building a static binary (musl)"
cd "$ROOT"
CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release -p server --target x86_64-unknown-linux-musl

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/site" "$ctx/data" "$ctx/reports" "$ctx/tmp"
cp "$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/release/dockerpulse" "$ctx/dockerpulse"
cp -r "$ROOT/target/site/." "$ctx/site/"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY dockerpulse /dockerpulse
COPY site /site
COPY data /data
COPY reports /reports
COPY tmp /tmp
ENV DOCKERPULSE_SITE_ROOT=/site DOCKERPULSE_DATA_DIR=/data DOCKERPULSE_REPORTS_DIR=/reports DOCKERPULSE_BIND=0.0.0.0:3000
EXPOSE 3000
ENTRYPOINT ["/dockerpulse"]
CMD ["serve"]
DOCKERFILE
say "building the image FROM scratch"
DOCKER_BUILDKIT=0 docker build -q -t dockerpulse:latest "$ctx"
docker image ls dockerpulse:latest

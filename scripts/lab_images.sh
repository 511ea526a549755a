#!/usr/bin/env bash
# Builds the lab images of real services from Debian's own binaries, without any registry:
# each image is a folder with the binaries, the libraries `ldd` names, the dynamic loader and
# busybox, imported with `docker import`. Idempotent: an existing image is kept.
#
#   dp-lab/redis     redis-server, redis-benchmark, redis-cli
#   dp-lab/postgres  postgres, initdb, pg_ctl, pgbench, psql (runs as uid 1000 "postgres")
#   dp-lab/nginx     nginx, ab (apache2-utils)
#
# Usage: scripts/lab_images.sh            (as root; installs the Debian packages when missing)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_apt redis-server postgresql nginx apache2-utils busybox-static
ensure_docker_engine

# Copies binaries and every library they load into $1.
copy_bins() {
  local dir="$1"
  shift
  local b lib
  for b in "$@"; do
    mkdir -p "$dir$(dirname "$b")"
    cp -L "$b" "$dir$b"
    for lib in $(ldd "$b" | grep -o '/[^ ]*' | sort -u); do
      mkdir -p "$dir$(dirname "$lib")"
      cp -Ln "$lib" "$dir$lib"
    done
  done
}

new_root() {
  local dir
  dir="$(mktemp -d)"
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/etc" "$dir/var/run"
  chmod 1777 "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $("$dir/bin/busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:1000:1000:postgres:/var/lib/postgresql:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$dir/etc/passwd"
  printf 'root:x:0:\npostgres:x:1000:\nnogroup:x:65534:\n' >"$dir/etc/group"
  echo "$dir"
}

import() {
  local dir="$1" name="$2"
  tar -C "$dir" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/usr/sbin:/usr/lib/postgresql/15/bin:/bin' - "$name" >/dev/null
  rm -rf "$dir"
  say "built $name"
}

have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have dp-lab/redis:latest; then
  d="$(new_root)"
  copy_bins "$d" /usr/bin/redis-server /usr/bin/redis-benchmark /usr/bin/redis-cli
  import "$d" dp-lab/redis:latest
fi

if ! have dp-lab/postgres:latest; then
  d="$(new_root)"
  pg=/usr/lib/postgresql/15
  copy_bins "$d" $pg/bin/postgres $pg/bin/initdb $pg/bin/pg_ctl $pg/bin/pgbench $pg/bin/psql
  mkdir -p "$d$pg/lib" "$d/usr/share/postgresql" "$d/var/lib/postgresql" "$d/var/run/postgresql"
  cp -a $pg/lib/. "$d$pg/lib/"
  cp -a /usr/share/postgresql/15 "$d/usr/share/postgresql/"
  # initdb finds its share directory relative to its own binary (../share), as Debian lays out.
  ln -s /usr/share/postgresql/15 "$d$pg/share"
  mkdir -p "$d/usr/share/zoneinfo" && cp -a /usr/share/zoneinfo/UTC "$d/usr/share/zoneinfo/"
  chown -R 1000:1000 "$d/var/lib/postgresql" "$d/var/run/postgresql"
  import "$d" dp-lab/postgres:latest
fi

if ! have dp-lab/nginx:latest; then
  d="$(new_root)"
  copy_bins "$d" /usr/sbin/nginx /usr/bin/ab
  mkdir -p "$d/etc/nginx" "$d/var/log/nginx" "$d/var/lib/nginx" "$d/www"
  cp /etc/nginx/mime.types "$d/etc/nginx/"
  head -c 16384 /dev/urandom | base64 >"$d/www/page.html"
  import "$d" dp-lab/nginx:latest
fi

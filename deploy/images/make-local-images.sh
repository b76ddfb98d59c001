#!/usr/bin/env bash
# Makes the two base images the deployment needs, locally, for machines that
# reach no image registry (CI here): a Debian bookworm minbase (stand-in for
# debian:bookworm-slim) and a PostgreSQL 15 image that starts like the
# official postgres image. Each is built once and kept; pass --force to rebuild.
#   deploy/images/make-local-images.sh        → localhost/debian-base:bookworm, localhost/duban-postgres:15
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
engine=${CONTAINER_ENGINE:-$(command -v podman || command -v docker)}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
force=${1:-}

exists() { "$engine" image exists "$1" 2>/dev/null || "$engine" image inspect "$1" >/dev/null 2>&1; }

bootstrap() { # name include-packages
  local name=$1 include=$2 root
  if exists "$name" && [ "$force" != --force ]; then echo "$name: present"; return; fi
  root=$(mktemp -d /var/tmp/duban-rootfs.XXXXXX)
  echo "$name: debootstrap bookworm${include:+ with $include} (about a minute)…"
  debootstrap --variant=minbase ${include:+--include=$include} bookworm "$root" "$mirror" >/dev/null
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  if [ -n "$include" ]; then
    install -m 0755 "$here/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
    tar -C "$root" -c . | "$engine" import \
      --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
      --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'EXPOSE 5432' - "$name" >/dev/null
  else
    tar -C "$root" -c . | "$engine" import - "$name" >/dev/null
  fi
  rm -rf "$root"
  echo "$name: imported"
}

bootstrap localhost/debian-base:bookworm ""
bootstrap localhost/duban-postgres:15 postgresql-15

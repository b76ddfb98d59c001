#!/usr/bin/env bash
# Builds the Duban image with Podman or Docker.
#   deploy/build-image.sh                          # duban:latest on debian:bookworm-slim
#   BASE=localhost/debian-base:bookworm TAG=duban:test deploy/build-image.sh
# The release binary is compiled on this machine (cargo build --release); build
# on the Debian release of the runtime base (bookworm) so glibc matches.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${CONTAINER_ENGINE:-$(command -v podman || command -v docker || true)}
[ -n "$engine" ] || { echo "build-image: needs podman or docker" >&2; exit 1; }
base=${BASE:-debian:bookworm-slim}
tag=${TAG:-duban:latest}

cargo build --release --locked -p duban
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
target=${CARGO_TARGET_DIR:-target}
cp "$target/release/duban" "$context/duban"
strip "$context/duban" 2>/dev/null || true
"$engine" build --quiet --build-arg "BASE=$base" -t "$tag" -f deploy/Dockerfile "$context"
echo "built $tag on $base"

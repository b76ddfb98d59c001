#!/usr/bin/env bash
# The container test: installs Podman and podman-compose from Debian's
# packages when missing, makes the local base images (no registry is needed),
# builds the Duban image on them, and runs tests/tests/containers.rs, which
# brings deploy/compose.yaml up and drives a court office's day through it.
# Run as root (rootful Podman), as CI does: deploy/test/containers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
for tool in podman podman-compose debootstrap runc iptables; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
# Compose services find each other by name through the CNI dnsname plugin.
[ -x /usr/lib/cni/dnsname ] || need+=(dnsname)
if [ ${#need[@]} -gt 0 ]; then
  echo "containers: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman podman-compose debootstrap runc iptables \
    containernetworking-plugins golang-github-containernetworking-plugin-dnsname uidmap >/dev/null
fi

# Rootful Podman in a container-less sandbox: runc, cgroupfs, a file event
# log, and ulimits within this machine's hard limits.
conf=/etc/containers/containers.conf
if [ ! -f "$conf" ] || ! grep -q 'duban-test' "$conf"; then
  mkdir -p /etc/containers
  nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=65536
  nofile=$(( nofile < 65536 ? nofile : 65536 ))
  cat > "$conf" <<CONF
# duban-test: written by deploy/test/containers.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

start=$(date +%s)
deploy/images/make-local-images.sh
BASE=localhost/debian-base:bookworm TAG=localhost/duban:test deploy/build-image.sh
cargo build --locked -p duban-tests --bin smtp-sink
export DUBAN_SMTP_SINK="$PWD/${CARGO_TARGET_DIR:-target}/debug/smtp-sink"
export DUBAN_IMAGE=localhost/duban:test DUBAN_POSTGRES_IMAGE=localhost/duban-postgres:15
echo "containers: images ready in $(( $(date +%s) - start )) s"
cargo test --locked -p duban-tests --test containers -- --ignored --test-threads=1 --nocapture
echo "containers: done in $(( $(date +%s) - start )) s"

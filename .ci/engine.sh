#!/usr/bin/env bash
# Makes sure a Docker engine answers and the locally built base image exists.
# Nothing can be pulled here, so the base comes from Debian packages (debootstrap).
set -euo pipefail
cache="${ORCH_CACHE:-$HOME/.cache/orchestration}"
base_image="${BASE_IMAGE:-local/debian:bookworm}"
mkdir -p "$cache"

log() { printf '[engine] %s\n' "$*" >&2; }

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  log "installing docker.io and debootstrap from Debian"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io iptables debootstrap >&2
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  # Without the descriptors this script inherited: a lock held around this script (flock) would
  # otherwise be held by dockerd for as long as it runs.
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    exec setsid dockerd >"$cache/dockerd.log" 2>&1 < /dev/null
  ) &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see $cache/dockerd.log"; exit 1; }
fi

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  log "building $base_image with debootstrap"
  rootfs="$cache/rootfs-bookworm"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1
  tar -C "$rootfs" -c . | docker import - "$base_image" >&2
  rm -rf "$rootfs"
fi
log "engine ready, base image $base_image"

#!/usr/bin/env bash
# Builds one image of apps/: apps/build.sh APP TAG [docker build args...]
#   APP: composeapp, distributed_app, distributed_client, redis or consul (see consul/build.sh).
#   BASE_IMAGE (env): base image, e.g. local/debian:bookworm where no registry is reachable.
# CA certificates added on this host (/usr/local/share/ca-certificates) are handed to pip in the build,
# for networks whose TLS is re-signed by a proxy. The classic builder is the default (DOCKER_BUILDKIT=0).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: apps/build.sh APP TAG [docker build args...]"
app=${1:?$usage}
tag=${2:?$usage}
shift 2
[ "$app" = consul ] && exec "$here/consul/build.sh" "$tag" "$@"
[ -f "$here/$app/Dockerfile" ] || { echo "no such app: $app ($usage)" >&2; exit 1; }

args=()
[ -n "${BASE_IMAGE:-}" ] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
if [ -n "$extra_ca" ] && grep -q EXTRA_CA_CERTS "$here/$app/Dockerfile"; then
    args+=(--build-arg "EXTRA_CA_CERTS=$extra_ca")
fi
DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build "${args[@]}" -t "$tag" "$@" "$here/$app"

#!/usr/bin/env bash
# Builds the Consul image from a local Consul binary: apps/consul/build.sh TAG [docker build args...]
# The binary is $CONSUL_BIN, else the path that .ci/consul.sh prints. BASE_IMAGE (env) picks the base.
# The binary is copied into a temporary build context, so nothing large lands in the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${1:?usage: apps/consul/build.sh TAG [docker build args...]}
shift
binary=${CONSUL_BIN:-$(bash "$here/../../.ci/consul.sh" | tail -n 1)}
[ -x "$binary" ] || { echo "consul binary not found or not executable: '$binary'" >&2; exit 1; }

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$context/"
cp "$binary" "$context/consul"
chmod 0755 "$context/consul"
DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build --build-arg "BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}" \
    -t "$tag" "$@" "$context"

#!/usr/bin/env bash
# Build (or reuse a cached) Docker Compose v2 binary from the Go module proxy.
#
# Usage: .ci/compose.sh          -> prints the absolute path of the docker-compose binary on stdout
#   ORCH_CACHE       cache dir (default: $HOME/.cache/orchestration)
#   COMPOSE_VERSION  release to build (default: 2.40.3)
#   GO               go binary to use (default: `go` on PATH, else /usr/local/go/bin/go)
# All logs go to stderr; only the binary path goes to stdout. A cold build takes about 5 minutes.
#
# Why a throwaway module that requires compose: `go build -o` there names the binary and stamps its
# version as compose's Makefile does (`go install .../cmd@version` would install an unversioned `cmd`).
set -euo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-2.40.3}"
COMPOSE_VERSION="${COMPOSE_VERSION#v}"
ORCH_CACHE="${ORCH_CACHE:-$HOME/.cache/orchestration}"

log() { printf '[compose.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$ORCH_CACHE" || die "cannot create cache dir $ORCH_CACHE"
ORCH_CACHE="$(cd "$ORCH_CACHE" && pwd -P)"
BIN="$ORCH_CACHE/docker-compose-$COMPOSE_VERSION"

# compose_ok <binary>: the binary runs and reports the expected version.
compose_ok() {
  [ -f "$1" ] && [ -x "$1" ] || return 1
  [ "$("$1" version --short 2>/dev/null)" = "$COMPOSE_VERSION" ]
}

. "$(dirname "$0")/go-tool.sh"
reuse_cached compose_ok

go_build_env
# compose's go.mod may ask for a newer Go than the one installed: let the go command fetch it.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

WORK="$ORCH_CACHE/compose-build-$COMPOSE_VERSION"
mkdir -p "$WORK"
cd "$WORK"
printf 'module composebuild\n\ngo 1.24\n' > go.mod
rm -f go.sum

log "resolving github.com/docker/compose/v2@v$COMPOSE_VERSION (GOMODCACHE=$GOMODCACHE)"
if ! "$GO" get "github.com/docker/compose/v2@v$COMPOSE_VERSION" >"$WORK/get.log" 2>&1; then
  grep -v '^go: \(added\|downloading\)' "$WORK/get.log" >&2 || true
  die "go get github.com/docker/compose/v2@v$COMPOSE_VERSION failed (full log: $WORK/get.log)"
fi

TMP="$BIN.tmp.$$"
trap 'rm -f "$TMP"' EXIT
log "building docker compose v$COMPOSE_VERSION (GOCACHE=$GOCACHE)"
start=$(date +%s)
# The version the binary reports is set at link time, as compose's own Makefile does.
if ! "$GO" build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=v$COMPOSE_VERSION" \
    -o "$TMP" github.com/docker/compose/v2/cmd >"$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2
  die "go build github.com/docker/compose/v2/cmd@v$COMPOSE_VERSION failed (log: $WORK/build.log)"
fi
log "build finished in $(( $(date +%s) - start ))s"

compose_ok "$TMP" || { "$TMP" version >&2 || true; die "built binary does not report version $COMPOSE_VERSION"; }
mv -f "$TMP" "$BIN"
trap - EXIT
log "built Docker Compose v$COMPOSE_VERSION -> $BIN"
printf '%s\n' "$BIN"

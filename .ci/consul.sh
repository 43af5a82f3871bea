#!/usr/bin/env bash
# Build (or reuse a cached) HashiCorp Consul binary from the Go module proxy.
#
# Usage: .ci/consul.sh            -> prints the absolute path of the consul binary on stdout
#   ORCH_CACHE      cache dir (default: $HOME/.cache/orchestration)
#   CONSUL_VERSION  consul release to build (default: 1.16.3; the last MPL-2.0 1.16.x release
#                   on proxy.golang.org -- 1.16.4/1.16.5 are not served, 1.16.6 is BUSL-1.1)
#   GO              go binary to use (default: `go` on PATH, else /usr/local/go/bin/go)
# All logs go to stderr; only the binary path goes to stdout.
#
# Why a throwaway module: consul's go.mod has `replace ./api ./sdk ...` and an `exclude` of
# github.com/hashicorp/go-msgpack v1.1.5/v1.1.6; both are ignored when consul is a dependency.
# We re-apply the exclude here (otherwise raft-wal drags in the incompatible msgpack v1.1.5),
# and rely on consul's required submodule versions (api v1.25.1, envoyextensions v0.4.1,
# proto-public v0.4.1, sdk v0.14.1, troubleshoot v0.3.1), which compile cleanly for 1.16.3.
set -euo pipefail

CONSUL_VERSION="${CONSUL_VERSION:-1.16.3}"
CONSUL_VERSION="${CONSUL_VERSION#v}"
ORCH_CACHE="${ORCH_CACHE:-$HOME/.cache/orchestration}"

log() { printf '[consul.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$ORCH_CACHE" || die "cannot create cache dir $ORCH_CACHE"
ORCH_CACHE="$(cd "$ORCH_CACHE" && pwd -P)"
BIN="$ORCH_CACHE/consul-$CONSUL_VERSION"

# consul_ok <binary>: the binary runs and reports the expected version.
consul_ok() {
  local out
  [ -f "$1" ] && [ -x "$1" ] || return 1
  out="$("$1" version 2>/dev/null)" || return 1
  [ "${out%%$'\n'*}" = "Consul v$CONSUL_VERSION" ]
}

. "$(dirname "$0")/go-tool.sh"
reuse_cached consul_ok

go_build_env

WORK="$ORCH_CACHE/consul-build-$CONSUL_VERSION"
mkdir -p "$WORK"
cd "$WORK"

cat > go.mod <<'GOMOD'
module consulbuild

go 1.20

// Copied from consul's own go.mod (excludes of a dependency are not inherited).
exclude (
	github.com/hashicorp/go-msgpack v1.1.5 // has breaking changes and must be avoided
	github.com/hashicorp/go-msgpack v1.1.6 // contains retractions but same as v1.1.5
)
GOMOD

# These module versions are served by proxy.golang.org but the checksum database
# returns 404 for them (so `go get` fails with "verifying module ... 404 Not Found").
# Pre-seed their hashes (as served by proxy.golang.org) so no sumdb lookup is needed;
# every other module is still verified against sum.golang.org as usual.
cat > go.sum <<'GOSUM'
github.com/hashicorp/consul/envoyextensions v0.4.1 h1:7s3IXE+qmwjPbZPva+8BjHLrpkFrFkNE+z/6X/O6PQc=
github.com/hashicorp/consul/envoyextensions v0.4.1/go.mod h1:PkLAV99qviACPT7v8Pn7d/vacZixC8/4fuZpR7Rf7vA=
github.com/hashicorp/hcp-sdk-go v0.55.0 h1:T4sQtgQfQJOD0uucT4hS+GZI1FmoHAQMADj277W++xw=
github.com/hashicorp/hcp-sdk-go v0.55.0/go.mod h1:hZqky4HEzsKwvLOt4QJlZUrjeQmb4UCZUhDP2HyQFfc=
GOSUM

log "resolving github.com/hashicorp/consul@v$CONSUL_VERSION (GOMODCACHE=$GOMODCACHE)"
if ! "$GO" get "github.com/hashicorp/consul@v$CONSUL_VERSION" >"$WORK/get.log" 2>&1; then
  grep -v '^go: \(added\|downloading\)' "$WORK/get.log" >&2 || true
  die "go get github.com/hashicorp/consul@v$CONSUL_VERSION failed (full log: $WORK/get.log)"
fi

TMP="$BIN.tmp.$$"
trap 'rm -f "$TMP"' EXIT
log "building consul v$CONSUL_VERSION (GOCACHE=$GOCACHE); a cold build takes several minutes"
start=$(date +%s)
if ! "$GO" build -trimpath -o "$TMP" github.com/hashicorp/consul >"$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2
  die "go build github.com/hashicorp/consul@v$CONSUL_VERSION failed (log: $WORK/build.log)"
fi
log "build finished in $(( $(date +%s) - start ))s"

consul_ok "$TMP" || { "$TMP" version >&2 || true; die "built binary does not report 'Consul v$CONSUL_VERSION'"; }
mv -f "$TMP" "$BIN"
trap - EXIT
log "built Consul v$CONSUL_VERSION -> $BIN"
printf '%s\n' "$BIN"

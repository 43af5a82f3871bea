# Sourced by the scripts that build a Go tool from the module proxy into $ORCH_CACHE (consul.sh,
# compose.sh). They define `log`, `die`, BIN and a `<tool>_ok <binary>` check first.

# reuse_cached <check>: prints BIN and exits when it is already built; otherwise waits for any other
# build of it (best effort, if flock exists) and exits when that one produced it.
reuse_cached() {
  if "$1" "$BIN"; then printf '%s\n' "$BIN"; exit 0; fi
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$BIN.lock"
    flock 9
    if "$1" "$BIN"; then printf '%s\n' "$BIN"; exit 0; fi
  fi
}

# go_build_env: finds Go and keeps its module and build caches in the cache dir, so a second build is quick.
go_build_env() {
  GO="${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}"
  [ -x "$GO" ] || die "Go toolchain not found (set GO=/path/to/go or put go on PATH)"
  log "go: $("$GO" version)"
  export GOMODCACHE="$ORCH_CACHE/go/mod"
  export GOCACHE="$ORCH_CACHE/go/build"
  export GOFLAGS="-mod=mod -buildvcs=false"
  export CGO_ENABLED="${CGO_ENABLED:-0}"
  export GOWORK=off
}

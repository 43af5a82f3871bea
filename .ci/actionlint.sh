#!/usr/bin/env bash
# Checks .github/workflows with actionlint, built once from the Go module proxy and cached.
#   ORCH_CACHE  cache dir (default: $HOME/.cache/orchestration)
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.7.12
cache="${ORCH_CACHE:-$HOME/.cache/orchestration}"
binary="$cache/actionlint-$version"
go_binary=$(command -v go || echo /usr/local/go/bin/go)
if [ ! -x "$binary" ]; then
  echo "[actionlint] building v$version from the Go module proxy" >&2
  mkdir -p "$cache"
  GOBIN="$cache/actionlint-build" GOPATH="$cache/go" GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" \
    "$go_binary" install "github.com/rhysd/actionlint/cmd/actionlint@v$version" >&2
  mv "$cache/actionlint-build/actionlint" "$binary"
fi
"$binary" -no-color .github/workflows/*.yml
echo "[actionlint] workflows pass" >&2

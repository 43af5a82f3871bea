#!/bin/sh
# The official redis image compiles redis with protected mode off, so other containers can connect to
# a plain `redis-server --appendonly yes`. Debian's build keeps it on, so this adds `--protected-mode no`
# first (after the config file, which redis-server only takes as its first argument); flags given in
# the command come later and still win. Like the official entrypoint, a command of bare flags or a
# .conf file runs redis-server.
set -e
case "$1" in
    -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
    shift
    case "${1:-}" in
        "" | -*) set -- redis-server --protected-mode no "$@" ;;
        *) config=$1; shift; set -- redis-server "$config" --protected-mode no "$@" ;;
    esac
fi
exec "$@"

#!/usr/bin/env bash
# Runs the sockjsd comparison described in BENCHMARKS.md: our server,
# bare gorilla/websocket, igm/sockjs-go v3 and sockjs-node 0.3.24, pinned
# to one core each side, in alternating rounds. A few minutes.
# Arguments go to bench/cmd/compare (try -h).
set -euo pipefail
cd "$(dirname "$0")"
exec go run ./cmd/compare "$@"

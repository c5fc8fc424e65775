#!/usr/bin/env bash
# A local development node for the fork tests: ganache, from the npm registry, pinned, in the
# git-ignored folder .local-node/ (nothing is installed globally).
#   scripts/local-node.sh install          install it (once; needs Node.js 18+ and npm)
#   scripts/local-node.sh start PORT       start it on 127.0.0.1:PORT in the background
#   scripts/local-node.sh stop PORT        stop the node started on PORT
#   scripts/local-node.sh bin              print the path of its executable
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=7.9.2
DIR=.local-node
BIN="$DIR/node_modules/.bin/ganache"
case "${1:-}" in
install)
    if [ -x "$BIN" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/ganache/package.json" 2>/dev/null; then
        exit 0
    fi
    mkdir -p "$DIR"
    npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "ganache@$VERSION"
    ;;
start)
    port=${2:?usage: scripts/local-node.sh start PORT}
    [ -x "$BIN" ] || { echo "ganache is not installed: run scripts/local-node.sh install" >&2; exit 1; }
    nohup "$BIN" --server.host 127.0.0.1 --server.port "$port" --chain.chainId 1337 \
        --wallet.deterministic --logging.quiet >"$DIR/node-$port.log" 2>&1 &
    echo $! >"$DIR/node-$port.pid"
    ;;
stop)
    port=${2:?usage: scripts/local-node.sh stop PORT}
    if [ -f "$DIR/node-$port.pid" ]; then
        kill "$(cat "$DIR/node-$port.pid")" 2>/dev/null || true
        rm -f "$DIR/node-$port.pid"
    fi
    ;;
bin)
    echo "$PWD/$BIN"
    ;;
*)
    sed -n '2,7p' "$0" >&2
    exit 2
    ;;
esac

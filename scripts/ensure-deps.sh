#!/bin/sh
# Installs the locked dependency tree, Node 24 included (the `node` package), when it is
# missing or older than the lockfile. npm itself may run on an older system Node: the
# lockfile pins every version, so the tree is the same whichever Node resolves it.
#
# Why `npm install --no-save` and not `npm ci`: the registry mirror this project is built
# against lacks some other platforms' optional binaries (e.g. @swc/core-darwin-arm64), so the
# lockfile cannot list them, and `npm ci` rejects a lockfile that does not. `npm install`
# installs exactly the locked versions, skips the unavailable optional packages, and with
# --no-save never rewrites the lockfile.
set -e
cd "$(dirname "$0")/.."
marker=node_modules/.package-lock.json
if [ ! -x node_modules/.bin/node ] || [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  echo "trellis: installing dependencies…" >&2
  npm install --no-save --no-audit --no-fund
fi

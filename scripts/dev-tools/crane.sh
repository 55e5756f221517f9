#!/usr/bin/env bash
# Build crane (go-containerregistry's registry client, which also serves a registry:
# `crane registry serve`) from the official Go module into the kubelab dev cache. The tests
# run it as a real OCI registry on 127.0.0.1, push the images built here into it, and let
# `kubelab bundle create` pull them from there.
#   usage: scripts/dev-tools/crane.sh [version]   (default v0.22.1)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/crane/<version>/bin/crane and prints that
# bin directory as the last stdout line; progress goes to stderr. Only the Go module proxy
# is needed.
set -euo pipefail

version="${1:-v0.22.1}"
module=github.com/google/go-containerregistry
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/crane/$version/bin"
bin="$dest/crane"
log() { echo "crane: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^v0\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v0.<minor>.<patch>, got $version"; exit 1; }

# Idempotent: keep an existing build that reports the wanted version (`crane version`
# prints the version stamped below).
if [[ -x "$bin" ]] && [[ "$("$bin" version 2>/dev/null)" == "$version" ]]; then
  already_built "crane $version" "$dest"
fi

start_go_build "$dest"

# go-containerregistry's go.mod has no replace directives: `go install module/cmd/crane@v`
# works. Version stamped as its release build does (cmd/crane/cmd.Version).
go_install "cold: ~1 min on 2 cores" -ldflags "-s -w -X $module/cmd/crane/cmd.Version=$version" "$module/cmd/crane@$version"
[[ "$("$tmp/crane" version)" == "$version" ]] || { log "built crane reports $("$tmp/crane" version)"; exit 1; }
mv -f "$tmp/crane" "$bin"
log "built in $((SECONDS - start))s"
echo "$dest"

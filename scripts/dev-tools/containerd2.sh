#!/usr/bin/env bash
# Build containerd 2.x (containerd, containerd-shim-runc-v2, ctr: the binaries of an
# upstream release tarball) from the official Go module into the kubelab dev cache.
#   usage: scripts/dev-tools/containerd2.sh [version]   (default v2.3.4)
# Prints the binary path as the last stdout line; progress goes to stderr.
# Only the Go module proxy is needed (no GitHub, no release tarballs).
# If a version needs a newer Go than the local one, run with GOTOOLCHAIN=auto
# (go then fetches the toolchain from the module proxy); we never override it.
set -euo pipefail

version="${1:-v2.3.4}"
module=github.com/containerd/containerd/v2
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/containerd/$version/bin"
bin="$dest/containerd"
log() { echo "containerd2: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Idempotent: keep an existing build that reports the wanted version.
# (`--version` prints "containerd <package> <version> <revision>".)
if [[ -x "$bin" && -x "$dest/containerd-shim-runc-v2" && -x "$dest/ctr" ]] &&
  [[ "$("$bin" --version 2>/dev/null | awk '{print $3}')" == "$version" ]]; then
  already_built "$("$bin" --version)" "$bin"
fi

start_go_build "$dest"

# `go install module/cmd/containerd@version` works because containerd's go.mod
# has no replace directives. CGO_ENABLED=0 drops the btrfs snapshotter (its
# builtin is `//go:build cgo`); everything else, CRI included, is pure Go.
# The -X flags mirror containerd's Makefile so `--version` shows the tag
# (otherwise it prints "2.x.y+unknown").
go_install "cold: ~1.5 min on 2 cores" -tags urfave_cli_no_docs \
  -ldflags "-s -w -X $module/version.Version=$version -X $module/version.Package=$module" \
  "$module/cmd/containerd@$version" "$module/cmd/containerd-shim-runc-v2@$version" "$module/cmd/ctr@$version"
mv -f "$tmp/containerd-shim-runc-v2" "$tmp/ctr" "$dest/"
mv -f "$tmp/containerd" "$bin"
log "built in $((SECONDS - start))s: $("$bin" --version)"
echo "$bin"

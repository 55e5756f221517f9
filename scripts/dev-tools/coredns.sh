#!/usr/bin/env bash
# Build CoreDNS (the cluster DNS kubeadm deploys) from the official Go module into the
# kubelab dev cache.
#   usage: scripts/dev-tools/coredns.sh [version]   (default v1.14.6)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/coredns/<version>/bin/coredns and prints
# that bin directory as the last stdout line; progress goes to stderr.
# Only the Go module proxy is needed. If a version needs a newer Go than the local one, run
# with GOTOOLCHAIN=auto (go then fetches the toolchain from the module proxy); we never
# override it.
set -euo pipefail

version="${1:-v1.14.6}"
module=github.com/coredns/coredns
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/coredns/$version/bin"
bin="$dest/coredns"
log() { echo "coredns: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v1.<minor>.<patch>, got $version"; exit 1; }

# Idempotent: keep an existing build that reports the wanted version
# (`coredns -version` prints "CoreDNS-1.14.6" then "linux/amd64, go1.x, <GitCommit>").
# (Output captured first: `grep -q` in a pipe may exit early and SIGPIPE the binary.)
reports() { local out; out="$("$1" -version 2>/dev/null)" && grep -qxF "CoreDNS-${version#v}" <<<"$out"; }
if [[ -x "$bin" ]] && reports "$bin"; then
  already_built "CoreDNS-${version#v}" "$dest"
fi

start_go_build "$dest"

# CoreDNS's go.mod has no replace directives, so `go install module@version` works. Flags as
# its Makefile: CGO_ENABLED=0, -tags grpcnotrace, -ldflags "-s -w -X ...GitCommit=...".
# GitCommit is `git describe --dirty --always`, which on the release commit is the tag.
go_install "cold: ~2 min on 2 cores" -tags grpcnotrace \
  -ldflags "-s -w -X $module/coremain.GitCommit=$version" "$module@$version"
reports "$tmp/coredns" || {
  log "built coredns reports $("$tmp/coredns" -version | head -n1)"
  exit 1
}
mv -f "$tmp/coredns" "$bin"
log "built in $((SECONDS - start))s: $("$bin" -version | head -n1)"
echo "$dest"

#!/usr/bin/env bash
# Build crictl (sigs.k8s.io/cri-tools) from the official Go module into the kubelab dev cache.
# The tests' package source packs it as cri-tools, which kubeadm depends on as on pkgs.k8s.io:
# the nodes then have crictl, which kubelab runs etcdctl through (src/phases/etcd.ts).
#   usage: scripts/dev-tools/crictl.sh [version]   (default v1.37.0)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/crictl/<version>/bin/crictl and prints that
# bin directory as the last stdout line; progress goes to stderr. Only the Go module proxy
# is needed.
set -euo pipefail

version="${1:-v1.37.0}"
module=sigs.k8s.io/cri-tools
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/crictl/$version/bin"
bin="$dest/crictl"
log() { echo "crictl: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v1.<minor>.<patch>, got $version"; exit 1; }

# Idempotent: keep an existing build that reports the wanted version (`crictl --version`
# prints "crictl version <version>", stamped below).
if [[ -x "$bin" ]] && [[ "$("$bin" --version 2>/dev/null)" == "crictl version $version" ]]; then
  already_built "crictl $version" "$dest"
fi

start_go_build "$dest"

# cri-tools' go.mod has no replace directives: `go install module/cmd/crictl@v` works. Version
# stamped as its Makefile does (pkg/version.Version).
go_install "cold: ~2 min on 2 cores" -ldflags "-s -w -X $module/pkg/version.Version=$version" "$module/cmd/crictl@$version"
got="$("$tmp/crictl" --version)"
[[ "$got" == "crictl version $version" ]] || { log "built crictl reports $got"; exit 1; }
mv -f "$tmp/crictl" "$bin"
log "built in $((SECONDS - start))s"
echo "$dest"

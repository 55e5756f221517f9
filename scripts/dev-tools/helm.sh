#!/usr/bin/env bash
# Build helm (the pinned release kubelab renders charts with: `helm template`) from the
# official Go module into the kubelab dev cache, and pack it as the upstream release
# tarball is laid out (linux-<arch>/helm), which the tests serve in place of get.helm.sh.
#   usage: scripts/dev-tools/helm.sh [version]   (default v3.22.0)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/helm/<version>/bin/helm and
# .../helm/<version>/helm-<version>-linux-<arch>.tar.gz, and prints the bin directory as the
# last stdout line; progress goes to stderr. Only the Go module proxy is needed.
set -euo pipefail

version="${1:-v3.22.0}"
module=helm.sh/helm/v3
root="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/helm/$version"
dest="$root/bin"
bin="$dest/helm"
log() { echo "helm: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^v3\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v3.<minor>.<patch>, got $version"; exit 1; }
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
tarball="$root/helm-$version-linux-$arch.tar.gz"

# Idempotent: keep an existing build that reports the wanted version, and its tarball.
if [[ -x "$bin" && -f "$tarball" ]] && [[ "$("$bin" version --template '{{.Version}}' 2>/dev/null)" == "$version" ]]; then
  already_built "helm $version" "$dest"
fi

start_go_build "$dest"

# helm's go.mod has no replace directives: `go install module/cmd/helm@version` works.
# Version stamped as its Makefile does (internal/version.version).
go_install "cold: ~3 min on 2 cores" -ldflags "-s -w -X $module/internal/version.version=$version" "$module/cmd/helm@$version"
[[ "$("$tmp/helm" version --template '{{.Version}}')" == "$version" ]] || {
  log "built helm reports $("$tmp/helm" version --template '{{.Version}}')"
  exit 1
}
mkdir -p "$tmp/pack/linux-$arch"
cp "$tmp/helm" "$tmp/pack/linux-$arch/helm"
tar -C "$tmp/pack" --owner=0 --group=0 --mtime=@0 --sort=name -czf "$tmp/helm.tar.gz" "linux-$arch"
mv -f "$tmp/helm" "$bin"
mv -f "$tmp/helm.tar.gz" "$tarball"
log "built in $((SECONDS - start))s"
echo "$dest"

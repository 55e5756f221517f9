#!/usr/bin/env bash
# Build etcd (the server kubeadm runs as a static pod), etcdctl and etcdutl (snapshot status
# and restore, as the upstream etcd image carries them) from the official go.etcd.io/etcd Go
# modules into the kubelab dev cache.
#   usage: scripts/dev-tools/etcd.sh [version]   (default v3.7.0)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/etcd/<version>/bin/{etcd,etcdctl,etcdutl} and
# prints that bin directory as the last stdout line; progress goes to stderr.
# Only the Go module proxy is needed. If a version needs a newer Go than the local one, run
# with GOTOOLCHAIN=auto (go then fetches the toolchain from the module proxy); we never
# override it.
set -euo pipefail

version="${1:-v3.7.0}"
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/etcd/$version/bin"
log() { echo "etcd: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^v3\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { log "version must look like v3.<minor>.<patch>, got $version"; exit 1; }
bare="${version#v}"

# `etcd --version` prints "etcd Version: 3.7.0" (+ Git SHA, Go Version, Go OS/Arch);
# `etcdctl version` prints "etcdctl version: 3.7.0" (+ API version); `etcdutl version`
# prints "etcdutl version: 3.7.0" (+ API version).
# (Output captured first: `grep -q` in a pipe may exit early and SIGPIPE the binary.)
built() {
  [[ -x "$dest/etcd" && -x "$dest/etcdctl" && -x "$dest/etcdutl" ]] || return 1
  local server client util
  server="$("$dest/etcd" --version 2>/dev/null)" && client="$("$dest/etcdctl" version 2>/dev/null)" &&
    util="$("$dest/etcdutl" version 2>/dev/null)" || return 1
  grep -qxF "etcd Version: $bare" <<<"$server" && grep -qxF "etcdctl version: $bare" <<<"$client" &&
    grep -qxF "etcdutl version: $bare" <<<"$util"
}
# Idempotent: keep an existing build that reports the wanted version.
if built; then
  already_built "etcd $bare" "$dest"
fi

start_go_build "$dest"

# `go install go.etcd.io/etcd/server/v3@v3.7.0` does not work: server/v3 and etcdctl/v3
# replace their sibling modules (api/v3, client/v3, pkg/v3, ...) with ../<dir>, and go
# install refuses a module with replace directives. Those siblings are published at the
# same version, so a throwaway main module can require them as they are. It also requires
# the repository's root module go.etcd.io/etcd/v3, whose go.mod lists every etcd module
# and dependency at the versions etcd's own build uses (its scripts build inside the
# repository's go.work, i.e. with the versions all its modules agree on).
server=go.etcd.io/etcd/server/v3
etcdctl=go.etcd.io/etcd/etcdctl/v3
etcdutl=go.etcd.io/etcd/etcdutl/v3
root=go.etcd.io/etcd/v3
info="$(cd "$tmp" && "$go" mod download -json "$server@$version")"
gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$info" | head -n1)"
[[ -f "$gomod" ]] || { log "go mod download $server@$version gave no go.mod:"; echo "$info" >&2; exit 1; }
{
  echo "module kubelab.dev/etcd-build"
  echo
  grep -E '^(go|godebug)[[:space:]]' "$gomod"
  echo
  echo "require $root $version"
} >"$tmp/go.mod"

# ldflags as scripts/build-binary.sh (GO_LDFLAGS="-s -w") and scripts/build_lib.sh give
# them; the module zip has no git, so the Git SHA is what build_lib.sh stamps without git.
ldflags="-s -w -X=go.etcd.io/etcd/api/v3/version.GitSHA=GitNotFound"

log "building etcd, etcdctl, etcdutl $version with $("$go" env GOVERSION) (cold: ~1 min on 2 cores)"
start=$SECONDS
(
  cd "$tmp"
  "$go" get "$server@$version" "$etcdctl@$version" "$etcdutl@$version" >&2
  mkdir out
  # As build_lib.sh: CGO_ENABLED=0 (static), -trimpath -installsuffix=cgo.
  CGO_ENABLED=0 "$go" build -trimpath -installsuffix=cgo -ldflags "$ldflags" -o out/etcd "$server" >&2
  CGO_ENABLED=0 "$go" build -trimpath -installsuffix=cgo -ldflags "$ldflags" -o out/etcdctl "$etcdctl" >&2
  CGO_ENABLED=0 "$go" build -trimpath -installsuffix=cgo -ldflags "$ldflags" -o out/etcdutl "$etcdutl" >&2
)
mv -f "$tmp/out/etcd" "$tmp/out/etcdctl" "$tmp/out/etcdutl" "$dest/"
built || { log "the build does not report $bare: $("$dest/etcd" --version 2>&1 | head -n1)"; exit 1; }
log "built in $((SECONDS - start))s: $("$dest/etcd" --version | head -n1)"
echo "$dest"

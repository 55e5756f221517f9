#!/usr/bin/env bash
# Build Kubernetes binaries (cmd/<name> of k8s.io/kubernetes) from the official Go module
# into the kubelab dev cache.
#   usage: scripts/dev-tools/kubernetes.sh [version] [binaries...]   (default v1.37.2 kubeadm)
#   binaries: kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler
#             kube-proxy
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/kubernetes/<version>/bin/<name> and prints
# that bin directory as the last stdout line; progress goes to stderr.
# Only the Go module proxy is needed (no GitHub, no dl.k8s.io). If a version needs a newer Go
# than the local one, run with GOTOOLCHAIN=auto (go then fetches the toolchain from the
# module proxy); we never override it.
set -euo pipefail

version="${1:-v1.37.2}"
shift || true
binaries=("$@")
((${#binaries[@]})) || binaries=(kubeadm)
module=k8s.io/kubernetes
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/kubernetes/$version/bin"
log() { echo "kubernetes: $*" >&2; }

[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.-]+)?$ ]] || {
  log "version must look like v1.<minor>.<patch>[-pre], got $version"
  exit 1
}
minor="${BASH_REMATCH[1]}"
# The staging modules (k8s.io/api, k8s.io/client-go, ...) are published as v0.<minor>.<patch>
# for Kubernetes v1.<minor>.<patch> (prerelease suffix included).
staging="v0.${version#v1.}"

for name in "${binaries[@]}"; do
  case "$name" in
  kubeadm | kubelet | kubectl | kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy) ;;
  *) log "unknown binary $name (known: kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)"; exit 1 ;;
  esac
done

# The version a binary reports, as its own version command prints it.
version_of() {
  local bin="$1"
  case "${bin##*/}" in
  kubeadm) "$bin" version -o short ;;   # "v1.37.2"
  kubectl) "$bin" version --client ;;   # "Client Version: v1.37.2" (+ Kustomize Version)
  *) "$bin" --version ;;                # "Kubernetes v1.37.2"
  esac 2>/dev/null
}
# has_version BIN: BIN runs and one word of its version output is exactly $version.
has_version() {
  [[ -x "$1" ]] || return 1
  local out
  out="$(version_of "$1")" || return 1
  out="${out//[$'\t\n']/ }"
  [[ " $out " == *" $version "* ]]
}

# Idempotent: keep every existing build that reports the wanted version.
todo=()
for name in "${binaries[@]}"; do
  if has_version "$dest/$name"; then
    log "already built: $name $version"
  else
    todo+=("$name")
  fi
done
if ((${#todo[@]} == 0)); then
  echo "$dest"
  exit 0
fi

# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_go_build "$dest"

# `go install k8s.io/kubernetes/cmd/kubeadm@v1.37.2` does not work: kubernetes' go.mod
# requires the staging modules at v0.0.0 and replaces them with ./staging/src/k8s.io/...,
# and go install refuses a module with replace directives (the module zip does not even
# contain staging/src: those directories have their own go.mod). So build from a throwaway
# main module that requires k8s.io/kubernetes and maps every staging replace to the
# published module of the same release (k8s.io/api => k8s.io/api v0.37.2, ...).
info="$(cd "$tmp" && "$go" mod download -json "$module@$version")"
field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" <<<"$info" | head -n1; }
gomod="$(field GoMod)"
# The .info file is {"Version":"v1.37.2","Time":"2026-10-27T12:01:04Z"}.
modtime="$(sed -n 's/.*"Time":[[:space:]]*"\([^"]*\)".*/\1/p' "$(field Info)")"
[[ -f "$gomod" ]] || { log "go mod download $module@$version gave no go.mod:"; echo "$info" >&2; exit 1; }

mapfile -t staged < <(sed -nE 's#^[[:space:]]*(k8s\.io/[A-Za-z0-9._-]+)[[:space:]]+=>[[:space:]]+\./staging/src/k8s\.io/[A-Za-z0-9._-]+[[:space:]]*$#\1#p' "$gomod")
((${#staged[@]})) || { log "no ./staging replace directives in $gomod"; exit 1; }
{
  echo "module kubelab.dev/kubernetes-build"
  echo
  # Same language version and GODEBUG defaults as Kubernetes' own build (the main module's
  # go.mod decides both).
  grep -E '^(go|godebug)[[:space:]]' "$gomod"
  echo
  echo "require $module $version"
  echo
  echo "replace ("
  for m in "${staged[@]}"; do echo "	$m => $m $staging"; done
  echo ")"
} >"$tmp/go.mod"

pkgs=()
for name in "${todo[@]}"; do pkgs+=("$module/cmd/$name"); done

# Version stamping as hack/lib/version.sh does it (for client-go and component-base alike);
# the module zip carries no git metadata, so gitCommit stays empty and gitTreeState is
# "archive" (what version.sh reports for a `git archive` export, i.e. no git tree). buildDate
# is the module's publication time, not the build's (as SOURCE_DATE_EPOCH would give).
major=1
ldflags=()
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags+=(
    "-X '$pkg.gitVersion=$version'"
    "-X '$pkg.gitMajor=$major'"
    "-X '$pkg.gitMinor=$minor'"
    "-X '$pkg.gitCommit='"
    "-X '$pkg.gitTreeState=archive'"
    "-X '$pkg.buildDate=${modtime:-1970-01-01T00:00:00Z}'"
  )
done

log "building ${todo[*]} from $module@$version (staging $staging) with $("$go" env GOVERSION) (cold kubeadm: ~4 min on 2 cores)"
start=$SECONDS
(
  cd "$tmp"
  # go get records the requirements and go.sum lines of exactly the packages built.
  "$go" get "${pkgs[@]/%/@$version}" >&2
  # CGO_ENABLED=0 for all (upstream builds kubelet with cgo; the rest are static there too).
  # Tags and -s -w -trimpath as hack/lib/golang.sh uses for non-debug builds.
  mkdir out
  CGO_ENABLED=0 "$go" build -trimpath -tags selinux,notest,grpcnotrace \
    -ldflags "all=${ldflags[*]} -s -w" -o out/ "${pkgs[@]}" >&2
)
for name in "${todo[@]}"; do
  has_version "$tmp/out/$name" || { log "$name does not report $version: $(version_of "$tmp/out/$name" || true)"; exit 1; }
  mv -f "$tmp/out/$name" "$dest/$name"
done
log "built ${todo[*]} in $((SECONDS - start))s: $(version_of "$dest/${todo[0]}" | head -n1)"
echo "$dest"

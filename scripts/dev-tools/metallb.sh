#!/usr/bin/env bash
# Build MetalLB's controller and speaker (the binaries of its quay.io/metallb images) from the
# official Go module go.universe.tf/metallb into the kubelab dev cache.
#   usage: scripts/dev-tools/metallb.sh [version]   (default v0.16.1)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/metallb/<version>/bin/{controller,speaker}
# and prints that bin directory as the last stdout line; progress goes to stderr.
# Only the Go module proxy is needed. If a version needs a newer Go than the local one, run
# with GOTOOLCHAIN=auto (go then fetches the toolchain from the module proxy); we never
# override it.
set -euo pipefail

version="${1:-v0.16.1}"
module=go.universe.tf/metallb
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/metallb/$version/bin"
log() { echo "metallb: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^v0\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v0.<minor>.<patch>, got $version"; exit 1; }
go="$(go_bin)"

# The binaries have no version flag (they only log internal/version at start-up), so ask the
# build info instead: `go version -m` prints "path go.universe.tf/metallb/<name>" and
# "mod go.universe.tf/metallb v0.16.1 h1:..." for a `go install module/<name>@v0.16.1`.
# (Output captured first: `grep -q` in a pipe may exit early and SIGPIPE go.)
built_from() {
  local out
  [[ -x "$1" ]] && out="$("$go" version -m "$1" 2>/dev/null)" || return 1
  grep -qxF $'\tpath\t'"$module/${1##*/}" <<<"$out" && grep -qF $'\tmod\t'"$module"$'\t'"$version"$'\t' <<<"$out"
}
built() { built_from "$1/controller" && built_from "$1/speaker"; }
# Idempotent: keep an existing build of the wanted version.
if built "$dest"; then
  already_built "controller, speaker $version" "$dest"
fi

start_go_build "$dest"

# ldflags as controller/Dockerfile and speaker/Dockerfile give them (no -s -w):
# internal/version.gitCommit and gitBranch from the GIT_COMMIT and GIT_BRANCH build args,
# which the release workflow (.github/workflows/publish.yaml) sets to github.sha and
# github.ref_name, i.e. the tag's commit and the tag. The module zip has no git, but the
# proxy records the tag's commit (Origin.Hash); without it, the Dockerfiles' default "dev".
info="$(cd "$tmp" && "$go" mod download -json "$module@$version")"
commit="$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]\{40\}\)",\{0,1\}$/\1/p' <<<"$info" | head -n1)"
[[ -n $commit ]] || { log "the module proxy records no commit for $module@$version: stamping \"dev\""; commit=dev; }
pkg=$module/internal/version

# go.universe.tf/metallb's go.mod has no replace or exclude directives, so `go install
# module/pkg@version` works. CGO_ENABLED=0 as the Dockerfiles build (plus -trimpath).
go_install "cold: ~2 min on 2 cores" \
  -ldflags "-X '$pkg.gitCommit=$commit' -X '$pkg.gitBranch=$version'" \
  "$module/controller@$version" "$module/speaker@$version"
built "$tmp" || { log "the build is not $module $version:"; "$go" version -m "$tmp/controller" >&2; exit 1; }
mv -f "$tmp/controller" "$tmp/speaker" "$dest/"
log "built in $((SECONDS - start))s: controller, speaker $version (commit $commit)"
echo "$dest"

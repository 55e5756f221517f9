#!/usr/bin/env bash
# Build the OpenTofu CLI (`tofu`, cmd/tofu of github.com/opentofu/opentofu) from the official
# Go module into the kubelab dev cache, for the tests that need a real OpenTofu CLI. Offline,
# `tofu init` works for modules that use only the builtin terraform.io/builtin/terraform
# provider (terraform_data, ...); a registry provider needs registry.opentofu.org.
#   usage: scripts/dev-tools/opentofu.sh [version]   (default v1.12.6; cold: ~3 min on 2 cores)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/opentofu/<version>/bin/tofu and prints that
# bin directory as the last stdout line; progress goes to stderr.
# Only the Go module proxy is needed. If a version needs a newer Go than the local one, run
# with GOTOOLCHAIN=auto (go then fetches the toolchain from the module proxy); we never
# override it.
set -euo pipefail

version="${1:-v1.12.6}"
module=github.com/opentofu/opentofu
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/opentofu/$version/bin"
bin="$dest/tofu"
log() { echo "opentofu: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v1.<minor>.<patch>, got $version"; exit 1; }

# Idempotent: keep an existing build that reports the wanted version. `tofu version` prints
# "OpenTofu v1.12.6" then "on linux_amd64" (a build without the release ldflags says
# "v1.12.6-dev"). Run from / so that no working directory's lock file or config is read; a
# CLI config warning (e.g. TF_CLI_CONFIG_FILE naming a missing file) goes to stdout first.
# (Output captured first: `grep -q` in a pipe may exit early and SIGPIPE the binary.)
version_line() { local out; out="$(cd / && "$1" version 2>/dev/null)" && grep -m1 '^OpenTofu ' <<<"$out"; }
reports() { [[ "$(version_line "$1")" == "OpenTofu $version" ]]; }
if [[ -x "$bin" ]] && reports "$bin"; then
  already_built "OpenTofu $version" "$dest"
fi

start_go_build "$dest"

# `go install github.com/opentofu/opentofu/cmd/tofu@v1.12.6` does not work: its go.mod
# replaces github.com/hashicorp/hcl/v2 with OpenTofu's fork (github.com/opentofu/hcl/v2), and
# go install refuses a module with replace directives. The module zip is the release's source
# tree with its go.mod and go.sum, so build inside it (read-only in the module cache; go build
# writes nothing there): exactly the dependency versions and sums of OpenTofu's own build.
info="$(cd "$tmp" && "$go" mod download -json "$module@$version")"
src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info" | head -n1)"
[[ -f "$src/go.mod" && -d "$src/cmd/tofu" ]] || { log "go mod download $module@$version gave no source tree:"; echo "$info" >&2; exit 1; }

# Flags as its release build (.goreleaser.yaml, scripts/build.sh with TF_RELEASE): CGO_ENABLED=0,
# -mod=readonly, -trimpath, -ldflags "-s -w -X version.dev=no" (without it the version reads
# "<VERSION>-dev"; the version itself is version/VERSION, embedded).
log "building $module/cmd/tofu@$version with $("$go" env GOVERSION) (cold: ~3 min on 2 cores)"
start=$SECONDS
(
  cd "$src"
  CGO_ENABLED=0 "$go" build -mod=readonly -trimpath \
    -ldflags "-s -w -X '$module/version.dev=no'" -o "$tmp/tofu" ./cmd/tofu >&2
)
reports "$tmp/tofu" || {
  log "built tofu reports $(version_line "$tmp/tofu" || true)"
  exit 1
}
mv -f "$tmp/tofu" "$bin"
log "built in $((SECONDS - start))s: $(version_line "$bin")"
echo "$dest"

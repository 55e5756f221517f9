#!/usr/bin/env bash
# Build the pause binary (the sandbox container's process) from Kubernetes' own pause.c, the
# way build/pause/Makefile does: a static, stripped C program (gcc -Os -static).
#   usage: scripts/dev-tools/pause.sh [version] [kubernetes-version]   (default 3.10.2 v1.37.2)
# The source comes from the k8s.io/kubernetes module (build/pause/linux/pause.c) through the
# Go module proxy; its Makefile's TAG must be the wanted version. Needs gcc and libc6-dev
# (scripts/dev-tools/install-deps.sh).
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/pause/<version>/bin/pause and prints that
# bin directory as the last stdout line; progress goes to stderr.
set -euo pipefail

version="${1:-3.10.2}"
k8s="${2:-v1.37.2}"
module=k8s.io/kubernetes
dest="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev/pause/$version/bin"
bin="$dest/pause"
log() { echo "pause: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $version =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || { log "version must look like 3.10.2, got $version"; exit 1; }
# The Makefile stamps VERSION=v$(TAG)-$(REV), REV being `git describe --contains` of the
# Kubernetes commit; the module zip has no git, so the Kubernetes release stands in for it.
stamp="v$version-$k8s"

# Idempotent: keep an existing build whose `pause -v` ("pause.c <VERSION>") is this one.
if [[ -x "$bin" && "$("$bin" -v 2>/dev/null)" == "pause.c $stamp" ]]; then
  already_built "pause.c $stamp" "$dest"
fi

command -v gcc >/dev/null || { log "gcc not found: run scripts/dev-tools/install-deps.sh"; exit 1; }
start_go_build "$dest"

info="$(cd "$tmp" && "$go" mod download -json "$module@$k8s")"
src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info" | head -n1)/build/pause"
[[ -f "$src/linux/pause.c" ]] || { log "no build/pause/linux/pause.c in $module@$k8s:"; echo "$info" >&2; exit 1; }
tag="$(sed -n 's/^TAG[[:space:]]*?=[[:space:]]*//p' "$src/Makefile")"
[[ "$tag" == "$version" ]] || { log "$module@$k8s builds pause $tag, not $version"; exit 1; }

# The Makefile's CFLAGS (-Os -Wall -Werror -static) and its strip step.
start=$SECONDS
gcc -Os -Wall -Werror -static "-DVERSION=$stamp" -o "$tmp/pause" "$src/linux/pause.c" >&2
strip "$tmp/pause"
[[ "$("$tmp/pause" -v)" == "pause.c $stamp" ]] || { log "built pause reports $("$tmp/pause" -v)"; exit 1; }
mv -f "$tmp/pause" "$bin"
log "built in $((SECONDS - start))s: $("$bin" -v) ($(stat -c %s "$bin") bytes)"
echo "$dest"

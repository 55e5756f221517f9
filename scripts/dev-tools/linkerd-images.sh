#!/usr/bin/env bash
# Build the Linkerd edge-26.8.3 images (cr.l5d.io/linkerd/controller and proxy) from source into
# the kubelab dev cache: the binaries (linkerd.sh), then the OCI image archives
# (linkerd-images.ts), which `ctr -n k8s.io images import` registers under the names the pinned
# linkerd-control-plane chart renders.
#   usage: scripts/dev-tools/linkerd-images.sh
# Prints ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/linkerd-edge-26.8.3 (the archives and
# images.json) as the last stdout line; progress goes to stderr. Idempotent: every step keeps
# what is already built, so a warm run takes seconds (under 2 s measured). Run as root (the
# proxy's base is a Debian root made with debootstrap). Cold, on 2 shared cores: about 23 min,
# 22 of them linkerd.sh (its header has the parts' times), a minute for the Debian root and
# 10 s for the archives.
# Version: the Linkerd release kubelab pins; linkerd-images.ts takes it from src/versions.ts and
# stops on a binary missing here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/linkerd.sh" edge-26.8.3 >/dev/null
cd "$here/../.."
npx --no-install tsx scripts/dev-tools/linkerd-images.ts

#!/usr/bin/env bash
# Build the MetalLB v0.16.1 images (quay.io/metallb/controller and speaker, native mode) from
# source into the kubelab dev cache: the binaries (metallb.sh), then the OCI image archives
# (metallb-images.ts), which `ctr -n k8s.io images import` registers under the names the
# pinned metallb-native.yaml uses.
#   usage: scripts/dev-tools/metallb-images.sh
# Prints ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/metallb-v0.16.1 (the archives and
# images.json) as the last stdout line; progress goes to stderr. Idempotent: every step keeps
# what is already built, so a warm run takes seconds. Cold, on 2 cores: roughly 2.5 min, nearly
# all of it the Go build.
# Version: the MetalLB release kubelab pins; metallb-images.ts takes it from src/versions.ts
# and stops on a binary missing here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/metallb.sh" v0.16.1 >/dev/null
cd "$here/../.."
npx --no-install tsx scripts/dev-tools/metallb-images.ts

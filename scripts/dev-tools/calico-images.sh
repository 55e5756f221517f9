#!/usr/bin/env bash
# Build the Calico v3.32.1 images (quay.io/calico/node, cni and kube-controllers) from source
# into the kubelab dev cache: the binaries (calico.sh), then the OCI image archives
# (calico-images.ts), which `ctr -n k8s.io images import` registers under the names the pinned
# calico.yaml uses.
#   usage: scripts/dev-tools/calico-images.sh
# Prints ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/calico-v3.32.1 (the archives and
# images.json) as the last stdout line; progress goes to stderr. Idempotent: every step keeps
# what is already built, so a warm run takes seconds. Run as root (calico-node's base is a
# Debian root made with debootstrap). Cold, on 2 cores: roughly 9 min (530 s measured), 8 of
# them calico.sh; the Debian root and the archives take about a minute and a half.
# Version: the Calico release kubelab pins; calico-images.ts takes it from src/versions.ts and
# stops on a binary missing here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/calico.sh" v3.32.1 >/dev/null
cd "$here/../.."
npx --no-install tsx scripts/dev-tools/calico-images.ts

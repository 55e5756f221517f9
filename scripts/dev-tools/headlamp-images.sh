#!/usr/bin/env bash
# Build Headlamp v0.45.0's image (ghcr.io/headlamp-k8s/headlamp:v0.45.0) from source into the
# kubelab dev cache: the backend and frontend (headlamp.sh), then the OCI image archive
# (headlamp-images.ts), which `ctr -n k8s.io images import` registers under the name kubelab pins.
#   usage: scripts/dev-tools/headlamp-images.sh
# Prints ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/headlamp-v0.45.0 (the archive and
# images.json) as the last stdout line; progress goes to stderr. Idempotent: a warm run takes
# seconds. Cold, on 2 cores: a few minutes, nearly all of them headlamp.sh.
# Version: the release kubelab pins; headlamp-images.ts takes it from src/versions.ts and stops
# on a file missing here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/headlamp.sh" v0.45.0 >/dev/null
cd "$here/../.."
npx --no-install tsx scripts/dev-tools/headlamp-images.ts

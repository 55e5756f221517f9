#!/usr/bin/env bash
# Build the control plane images kubeadm v1.37.2 expects, from source, into the kubelab dev
# cache: the binaries (kubernetes.sh, etcd.sh, coredns.sh, pause.sh), then the OCI image
# archives (images.ts), which `ctr -n k8s.io images import` registers under kubeadm's names.
#   usage: scripts/dev-tools/k8s-images.sh
# Prints ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/v1.37.2 (the archives and images.json)
# as the last stdout line; progress goes to stderr. Idempotent: every step keeps what is
# already built, so a warm run takes seconds. Run as root (kube-proxy's base is a Debian root
# made with debootstrap). Cold, on 2 cores: roughly 11 min, 7 of them Kubernetes.
# Versions: the release kubelab pins and the etcd, CoreDNS and pause versions its kubeadm
# expects; images.ts takes them from src/versions.ts and stops on a binary missing here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/kubernetes.sh" v1.37.2 kube-apiserver kube-controller-manager kube-scheduler kube-proxy >/dev/null
"$here/etcd.sh" v3.7.0 >/dev/null
"$here/coredns.sh" v1.14.6 >/dev/null
"$here/pause.sh" 3.10.2 v1.37.2 >/dev/null
cd "$here/../.."
npx --no-install tsx scripts/dev-tools/images.ts

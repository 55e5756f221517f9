#!/usr/bin/env bash
# Build the control plane images kubeadm expects for a pinned Kubernetes release, from source,
# into the kubelab dev cache: the binaries (kubernetes.sh, etcd.sh, coredns.sh, pause.sh), then
# the OCI image archives (images.ts), which `ctr -n k8s.io images import` registers under
# kubeadm's names.
#   usage: scripts/dev-tools/k8s-images.sh [version]   (default v1.37.2; also v1.36.3, which
#          only `npm run test:upgrade` builds)
# Prints ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/<version> (the archives and images.json)
# as the last stdout line; progress goes to stderr. Idempotent: every step keeps what is
# already built, so a warm run takes seconds. Run as root (kube-proxy's base is a Debian root
# made with debootstrap). Cold, on 2 cores: roughly 11 min, 7 of them Kubernetes.
# Versions: a release kubelab pins and the etcd, CoreDNS and pause versions its kubeadm
# expects; images.ts takes them from src/versions.ts and stops on a binary missing here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${1:-v1.37.2}"

# pause 3.10.2 is the same program for both releases: built once, from v1.37.2's source (its
# build/pause/Makefile TAG is 3.10.2), so the two image sets share one pause binary.
case "$version" in
v1.37.2) etcd=v3.7.0 coredns=v1.14.6 pause=3.10.2 pause_source=v1.37.2 ;;
v1.36.3) etcd=v3.6.8 coredns=v1.14.2 pause=3.10.2 pause_source=v1.37.2 ;;
*)
  echo "k8s-images: $version is not a release kubelab pins (v1.36.3, v1.37.2)" >&2
  exit 1
  ;;
esac

"$here/kubernetes.sh" "$version" kube-apiserver kube-controller-manager kube-scheduler kube-proxy >/dev/null
"$here/etcd.sh" "$etcd" >/dev/null
"$here/coredns.sh" "$coredns" >/dev/null
"$here/pause.sh" "$pause" "$pause_source" >/dev/null
cd "$here/../.."
KUBELAB_IMAGES_KUBERNETES="$version" npx --no-install tsx scripts/dev-tools/images.ts

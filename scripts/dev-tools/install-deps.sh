#!/usr/bin/env bash
# Install the real tools the test suite checks rendered files with (Debian, as root):
#   - containerd 1.6.x from Debian (config `version = 2` layout) -> /usr/bin/containerd
#   - openssl
#   - openssh-server + openssh-client: a real sshd on 127.0.0.1 for the SSH layer's tests
#   - for the nspawn provider's tests (real machines): debootstrap (builds the node image),
#     systemd-container (systemd-nspawn, systemd-id128) and iproute2 (the lab bridge)
#   - for the node preparation tests' package source: apt-utils (apt-ftparchive builds a local
#     apt repository) and containernetworking-plugins (the test CNI plugins tarball)
#   - containerd 2.x built from its Go module (scripts/dev-tools/containerd2.sh)
#   - Kubernetes built from the k8s.io/kubernetes Go module at the pinned version
#     (scripts/dev-tools/kubernetes.sh): kubeadm validates the rendered configs; kubeadm,
#     kubelet and kubectl go into the tests' packages and bundle (cold ~7 min on 2 cores)
#   - gcc + libc6-dev (a static pause binary) and the control plane images kubeadm expects,
#     built from source (scripts/dev-tools/k8s-images.sh; cold ~11 min on 2 cores, once)
#   - crane (a real OCI registry for the bundle tests) and helm (renders charts) built with Go
#   - crictl built with Go (scripts/dev-tools/crictl.sh): the tests' cri-tools package, which
#     kubeadm depends on as on pkgs.k8s.io (kubelab runs etcdctl through crictl)
#   - the MetalLB images the pinned metallb-native.yaml names (controller, speaker), built
#     from source (scripts/dev-tools/metallb-images.sh; cold ~2.5 min on 2 cores, once)
#   - OpenTofu (`tofu`, a real OpenTofu CLI for the tests) built with Go
#     (scripts/dev-tools/opentofu.sh; cold ~3 min on 2 cores, once)
#   - libelf-dev, zlib1g-dev, libpcap-dev and make, for the Calico images the pinned calico.yaml
#     names (node, cni, kube-controllers; calico-node links libbpf, libelf, zlib and libpcap
#     through cgo). The images themselves are built by `npm run test:lab`'s pretest step
#     (scripts/dev-tools/calico-images.sh; cold ~9 min on 2 cores, once): npm test does not
#     need them, and CI's cold run stays under 40 minutes without them. Likewise Headlamp's
#     image (scripts/dev-tools/headlamp-images.sh; cold ~4 min)
#   - chromium (Debian's, headless): the lab tier signs in to the UI in a real browser, driven
#     by playwright-core, which never downloads a browser of its own
#   - zsh and fish: `kubelab completion` scripts are parsed and run by the shells they are for
# Idempotent and non-interactive (works under CI=true with no stdin).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

missing=()
# (dpkg -s alone also succeeds for a removed package whose conffiles remain)
[[ $(dpkg-query -W -f='${db:Status-Status}' containerd 2>/dev/null) == installed ]] || missing+=(containerd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)   # a real sshd for src/remote tests
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v apt-ftparchive >/dev/null 2>&1 || missing+=(apt-utils)
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
command -v gpg >/dev/null 2>&1 || missing+=(gnupg) # the test apt repository is signed
command -v gpgv >/dev/null 2>&1 || missing+=(gpgv)   # bundle create checks signatures with it
command -v iptables >/dev/null 2>&1 || missing+=(iptables) # doctor's probe tests drop SYNs in a namespace
command -v vagrant >/dev/null 2>&1 || missing+=(vagrant vagrant-libvirt) # `vagrant validate` checks the rendered Vagrantfiles
command -v gcc >/dev/null 2>&1 || missing+=(gcc) # pause.sh: a static C build (libc.a is in libc6-dev)
[[ $(dpkg-query -W -f='${db:Status-Status}' libc6-dev 2>/dev/null) == installed ]] || missing+=(libc6-dev)
# calico.sh: calico-node's cgo build (libbpf is built from source, with make, against these).
command -v make >/dev/null 2>&1 || missing+=(make)
for pkg in libelf-dev zlib1g-dev libpcap-dev; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
done
# The lab tier's browser (test/helpers/browser.ts).
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# kubelab completion's zsh and fish scripts are checked by the shells themselves.
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
# A real `vagrant up` (npm run test:vagrant): libvirt + QEMU, and what builds the test box.
for pkg in qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients dnsmasq-base fdisk; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || { echo "install-deps: need root to install ${missing[*]}" >&2; exit 1; }
  echo "install-deps: installing ${missing[*]}" >&2
  # The containerd package's maintainer scripts try to enable/start the service.
  # PID 1 here is not systemd, so forbid any service start during the install:
  # invoke-rc.d consults policy-rc.d and exit 101 means "action not allowed".
  # (deb-systemd-invoke also skips when systemd is not running.)
  # An existing policy-rc.d (e.g. Docker images ship one) is left alone.
  policy=/usr/sbin/policy-rc.d ours=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    ours=1
    trap 'rm -f "$policy"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2
  [[ -z $ours ]] || { rm -f "$policy"; trap - EXIT; }
fi

/usr/bin/containerd --version >&2
openssl version >&2
"$here/containerd2.sh" "$@"
"$here/kubernetes.sh" v1.37.2 kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy
"$here/k8s-images.sh"
"$here/crane.sh"
"$here/crictl.sh"
"$here/helm.sh"
"$here/metallb-images.sh"
"$here/opentofu.sh"
# The test box for `npm run test:vagrant` is built by that script's pretest step
# (scripts/dev-tools/vagrant-box.sh), not here: `npm test` does not need it.
# The pinned upstream manifests and charts the tests read, through kubelab's download cache
# (npm test refreshes them too; a mirror seeds them offline: see upstream.ts).
npx tsx "$here/upstream.ts" fixtures >/dev/null

#!/usr/bin/env bash
# Build Calico's binaries (those of its quay.io/calico node, cni and kube-controllers images)
# from the release's verified source archive into the kubelab dev cache.
#   usage: scripts/dev-tools/calico.sh [version]   (default v3.32.1)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/calico/<version>/:
#   bin/calico-node, bin/mountns                  node/cmd/... (cgo, libbpf linked in statically)
#   bin/calico, bin/calico-ipam (-> calico), bin/install     cni-plugin/cmd/... (static)
#   bin/host-local, bin/loopback, bin/portmap, bin/tuning    containernetworking plugins (static)
#   bin/kube-controllers, bin/check-status, bin/wrapper      kube-controllers/cmd/... (static)
#   node-fs/   the calico-node image's own files (node/filesystem, confd's templates, license)
#   LICENSE    the release's license, which every image carries at /licenses/LICENSE
# and prints that bin directory as the last stdout line; progress goes to stderr.
# Idempotent: a warm run only checks what is there (well under a second). Cold, on 2 cores
# with empty Go caches and dev cache: about 8 min (478 s measured on a shared machine),
# module downloads and libbpf included.
#
# Sources: the archive scripts/dev-tools/upstream.ts `source calico-<version>` verifies (a git
# archive of the tag; its commit is in sources.tsv), built as the main module with
# GOFLAGS=-mod=mod: github.com/projectcalico/calico itself is not on the module proxy, its
# dependencies are. calico-node needs libbpf (below), so also Debian's libbpf source package.
# Needs gcc, make, libelf-dev, zlib1g-dev and libpcap-dev (scripts/dev-tools/install-deps.sh).
#
# Why calico-node is a cgo build: Felix links libbpf through cgo, and a CGO_ENABLED=0 build
# gets stubs that panic. Felix calls one of them even with the BPF dataplane off: at start-up
# the iptables/nftables dataplane removes a BPF connect-time load balancer a previous run may
# have left (felix/bpf/nat RemoveConnectTimeLoadBalancer -> PinnedMap.EnsureExists ->
# libbpf.OpenObject), which panics "LIBBPF syscall stub" whenever /sys/fs/bpf is a bpffs, as
# the manifest's ebpf-bootstrap init container makes it (upstream's own CGO_ENABLED=0 builds
# for ppc64le and s390x hit exactly this). So calico-node and mountns are built as
# node/Makefile builds them on amd64/arm64: CGO_ENABLED=1, libbpf.a linked in, libelf, zlib,
# libpcap (felix's packet capture) and glibc as shared libraries, which the image's Debian root
# provides. Upstream clones libbpf v1.6.2 from GitHub into felix/bpf-gpl/libbpf; offline we
# take Debian's source package of libbpf 1.5.0 (trixie), which has every call Felix makes
# (tcx needs >= 1.3; Debian 12's 1.1 is too old), pinned by sha256 below. The BPF programs
# themselves (/usr/lib/calico/bpf/*.o, built with clang) are not built: the BPF dataplane
# is out of scope, and without them the clean-up above fails softly ("ignoring").
set -euo pipefail

version="${1:-v3.32.1}"
root="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev"
dest="$root/calico/$version"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "calico: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$here/lib.sh"

[[ $version =~ ^v3\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v3.<minor>.<patch>, got $version"; exit 1; }
archive_name="calico-${version#v}.tar.gz"
commit="$(awk -F'\t' -v f="$archive_name" '$2 == f { print $5 }' "$here/sources.tsv")"
[[ $commit =~ ^[0-9a-f]{40}$ ]] || { log "no $archive_name with a commit in $here/sources.tsv"; exit 1; }

# libbpf: the orig tarball of Debian's source package (the upstream release as is).
libbpf_version=1.5.0
libbpf_suite=trixie
libbpf_file="libbpf_${libbpf_version}.orig.tar.gz"
libbpf_sha256=53492aff6dd47e4da04ef5e672d753b9743848bdb38e9d90eafbe190b7983c44

static_bins=(calico install kube-controllers check-status wrapper)
plugin_bins=(host-local loopback portmap tuning)
cgo_bins=(calico-node mountns)

# A build is this release's when the binaries that report a version report it (calico-node and
# kube-controllers also the tag's commit; the plugins the release, as cni-plugin/Makefile
# stamps them) and its stamp file names this release, libbpf and recipe: install,
# check-status, wrapper and mountns report nothing (-trimpath keeps ldflags out of the build
# info). Bump recipe when the build changes.
recipe=2
stamp="calico $version $commit libbpf $libbpf_version recipe $recipe"
reports() { # BIN EXPECTED...: every EXPECTED is a whole line of `BIN <version flag>`
  local out line
  [[ -x "$1" ]] || return 1
  case "${1##*/}" in
  calico | calico-ipam | calico-node) out="$("$1" -v 2>/dev/null)" ;;
  kube-controllers) out="$("$1" -version 2>/dev/null)" ;;
  *) out="$("$1" </dev/null 2>&1)" ;; # a CNI plugin without CNI_COMMAND prints its about line
  esac || return 1
  for line in "${@:2}"; do grep -qxF "$line" <<<"$out" || return 1; done
}
built() {
  local b
  [[ -f $1/stamp && "$(<"$1/stamp")" == "$stamp" && -L $1/bin/calico-ipam && -f $1/LICENSE ]] || return 1
  [[ -f $1/node-fs/usr/sbin/start_runit && -d $1/node-fs/etc/calico/confd/templates ]] || return 1
  for b in "${static_bins[@]}" "${cgo_bins[@]}" "${plugin_bins[@]}"; do [[ -x $1/bin/$b ]] || return 1; done
  reports "$1/bin/calico-node" "Version:      $version" "Git commit:   $commit" &&
    reports "$1/bin/kube-controllers" "Version:      $version" "Git commit:   $commit" &&
    reports "$1/bin/calico" "$version" && reports "$1/bin/calico-ipam" "$version" || return 1
  for b in "${plugin_bins[@]}"; do reports "$1/bin/$b" "CNI $b plugin $version" || return 1; done
}
# Idempotent: keep an existing build of this release.
if built "$dest"; then
  already_built "Calico $version (commit ${commit:0:12})" "$dest/bin"
fi

for h in gelf.h zlib.h pcap.h; do
  [[ -f /usr/include/$h ]] || { log "no /usr/include/$h: run scripts/dev-tools/install-deps.sh (libelf-dev, zlib1g-dev, libpcap-dev)"; exit 1; }
done
command -v gcc >/dev/null && command -v make >/dev/null || { log "gcc and make are needed: run scripts/dev-tools/install-deps.sh"; exit 1; }

start_go_build "$dest"
start=$SECONDS

# libbpf_source prints the verified libbpf tarball, fetched once into the dev cache's sources:
# from KUBELAB_SOURCES_MIRROR when it has the file, else with `apt-get source` from Debian
# (a throwaway apt state that lists only the suite's sources, so the host's apt is untouched).
libbpf_source() {
  local out="$root/sources/$libbpf_file" apt sums
  if [[ -f $out ]] && sha256sum -c --status <<<"$libbpf_sha256  $out"; then echo "$out"; return; fi
  mkdir -p "$root/sources"
  if [[ -n ${KUBELAB_SOURCES_MIRROR:-} && -f $KUBELAB_SOURCES_MIRROR/$libbpf_file ]]; then
    cp "$KUBELAB_SOURCES_MIRROR/$libbpf_file" "$out.partial"
  else
    apt="$tmp/apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/prefs" "$apt/dl"
    touch "$apt/status"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${KUBELAB_DEBIAN_MIRROR:-http://deb.debian.org/debian} $libbpf_suite main" >"$apt/sources.list"
    local -a opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
      -o "Dir::Etc::PreferencesParts=$apt/prefs" -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
      -o "Dir::State::Status=$apt/status" -o "APT::Sandbox::User=root")
    log "fetching Debian's libbpf $libbpf_version source ($libbpf_suite)"
    apt-get "${opts[@]}" update >&2
    (cd "$apt/dl" && apt-get "${opts[@]}" source --download-only "libbpf/$libbpf_suite" >&2)
    [[ -f $apt/dl/$libbpf_file ]] || { log "Debian's $libbpf_suite libbpf source is not $libbpf_version any more:"; ls "$apt/dl" >&2; exit 1; }
    mv "$apt/dl/$libbpf_file" "$out.partial"
  fi
  sums="$(sha256sum "$out.partial")"
  [[ ${sums%% *} == "$libbpf_sha256" ]] || { log "$libbpf_file: sha256 ${sums%% *}, pinned $libbpf_sha256"; rm -f "$out.partial"; exit 1; }
  mv "$out.partial" "$out"
  echo "$out"
}

archive="$(cd "$here/../.." && npx --no-install tsx scripts/dev-tools/upstream.ts source "${archive_name%.tar.gz}")"
libbpf="$(libbpf_source)"
src="$tmp/src"
mkdir -p "$src" "$tmp/out"
tar -xzf "$archive" -C "$src" --strip-components=1
# Where felix's cgo directives and `make -C felix libbpf` expect it.
mkdir -p "$src/felix/bpf-gpl/libbpf"
tar -xzf "$libbpf" -C "$src/felix/bpf-gpl/libbpf" --strip-components=1
[[ -f $src/go.mod && -f $src/felix/bpf-gpl/libbpf/src/libbpf.h ]] || { log "unexpected source layout in $archive or $libbpf"; exit 1; }

arch="$("$go" env GOARCH)"
log "building libbpf $libbpf_version (static)"
make -s -C "$src/felix/bpf-gpl/libbpf/src" -j"$(nproc)" BUILD_STATIC_ONLY=1 OBJDIR="$arch" >&2

# Stamped as lib.Makefile does: Version is `git describe --tags` at the tag (the tag itself),
# GitRevision the tag's commit, BuildDate the commit's time (git archive gives every file that
# mtime) instead of the build's, and -B the build-id note from the commit.
date="$(date -u -d "@$(stat -c %Y "$src/go.mod")" +%FT%T%z)"
bi=github.com/projectcalico/calico/pkg/buildinfo
ldflags="-X $bi.Version=$version -X $bi.BuildDate=$date -X $bi.GitRevision=$commit -B 0x$commit"
export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false"

log "building ${static_bins[*]} ${plugin_bins[*]} ${cgo_bins[*]} from calico $version with $("$go" env GOVERSION) (cold: ~8 min on 2 cores)"
(
  cd "$src"
  # As cni-plugin/Makefile and kube-controllers/Makefile build them (build_binary):
  # CGO_ENABLED=0, plus -trimpath.
  CGO_ENABLED=0 "$go" build -trimpath -ldflags "$ldflags" -o "$tmp/out/" \
    ./cni-plugin/cmd/calico ./cni-plugin/cmd/install \
    ./kube-controllers/cmd/kube-controllers ./kube-controllers/cmd/check-status ./kube-controllers/cmd/wrapper >&2
  # The CNI image's reference plugins: upstream builds them from its fork of
  # containernetworking/plugins (branch master, unpinned) with BuildVersion = the release;
  # here from the containernetworking/plugins module Calico's go.mod requires.
  cn=github.com/containernetworking/plugins/plugins
  CGO_ENABLED=0 "$go" build -trimpath -ldflags "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$version" \
    -o "$tmp/out/" $cn/ipam/host-local $cn/main/loopback $cn/meta/portmap $cn/meta/tuning >&2
  # node/Makefile's CGO_CFLAGS and CGO_LDFLAGS (build_cgo_binary).
  lb="$src/felix/bpf-gpl/libbpf/src"
  CGO_ENABLED=1 CGO_CFLAGS="-I$lb -I$src/felix/bpf-gpl" CGO_LDFLAGS="-L$lb/$arch -lbpf -lelf -lz" \
    "$go" build -trimpath -ldflags "$ldflags" -o "$tmp/out/" ./node/cmd/calico-node ./node/cmd/mountns >&2
)
# cni-plugin/Makefile: calico-ipam is a link to calico, which picks its role by its name.
ln -s calico "$tmp/out/calico-ipam"

# The calico-node image's files besides the binaries, as node/Makefile and node/Dockerfile lay
# them out: node/filesystem/etc -> /etc (start-up scripts, runit services, felix.cfg),
# node/filesystem/sbin -> /usr/sbin (start_runit...), confd's conf.d and templates ->
# /etc/calico/confd. Left out: included-source (BIRD and the eBPF programs' GPL source; neither
# is built here) and usr/lib/calico/bpf (the BPF programs).
fs="$tmp/node-fs"
mkdir -p "$fs/usr"
cp -a "$src/node/filesystem/etc" "$fs/etc"
cp -a "$src/node/filesystem/sbin" "$fs/usr/sbin"
cp -a "$src/confd/etc/calico/confd/conf.d" "$src/confd/etc/calico/confd/templates" "$fs/etc/calico/confd/"
# git archive writes 0664/0775 (its umask 002); a checkout, which upstream builds from, has
# 0644/0755, and the layer must not make the root's /etc or /usr/sbin group-writable.
chmod -R go-w "$fs"
cp "$src/LICENSE.md" "$tmp/LICENSE"

reports "$tmp/out/calico-node" "Version:      $version" || { log "calico-node -v does not report $version:"; "$tmp/out/calico-node" -v >&2; exit 1; }

# Each directory is swapped in with a rename (the old one moved aside into $tmp first).
for d in bin node-fs; do
  [[ ! -e $dest/$d ]] || mv "$dest/$d" "$tmp/old-$d"
done
mv "$tmp/out" "$dest/bin"
mv "$fs" "$dest/node-fs"
mv -f "$tmp/LICENSE" "$dest/LICENSE"
echo "$stamp" >"$dest/stamp"
built "$dest" || { log "the build in $dest is not calico $version"; exit 1; }
log "built in $((SECONDS - start))s: Calico $version (commit ${commit:0:12}), libbpf $libbpf_version"
echo "$dest/bin"

#!/usr/bin/env bash
# Build Linkerd's binaries (those of its cr.l5d.io/linkerd controller and proxy images) from the
# release's verified source archives into the kubelab dev cache.
#   usage: scripts/dev-tools/linkerd.sh [version]   (default edge-26.8.3)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/linkerd/<version>/:
#   bin/controller, bin/proxy-identity         linkerd2 ./controller/cmd, ./proxy-identity (Go, static)
#   bin/linkerd-policy-controller              linkerd2 policy-controller (Rust, static)
#   bin/linkerd2-proxy                         linkerd2-proxy (Rust, glibc)
#   bin/linkerd2-proxy-init                    linkerd2-proxy-init ./proxy-init (Go, static)
#   bin/linkerd-network-validator              linkerd2-proxy-init's validator (Rust, static)
#   bin/linkerd-await                          linkerd-await (Rust, static)
#   licenses/linkerd2, licenses/linkerd2-proxy the two licenses the images carry
#   proxy-version                              the proxy's release tag (v2.366.0), as the proxy image records it
# and prints that bin directory as the last stdout line; progress goes to stderr.
# Idempotent, per part: each part has a stamp in stamps/ and is rebuilt only when its stamp or a
# binary's self-report is off, so a warm run only checks (well under a second) and an
# interrupted cold run keeps the parts it finished.
#
# Sources (scripts/dev-tools/upstream.ts `source NAME`): linkerd2-<version>, and the refs its
# Dockerfile.proxy and .proxy-version name (pinned below and checked against them): the proxy,
# proxy-init, the network validator and linkerd-await. Go modules come from the module proxy;
# crates from crates.io. The Rust lock files also name two git sources (the kubert crates of
# linkerd/linkerd-kubert); cargo reaches them through a `[patch]` to the archives sources.tsv
# lists at the locked commits, and the build stops if patching changed anything else in the lock.
# Rust: the installed stable toolchain (RUSTUP_TOOLCHAIN=stable), not the 1.88/1.90 the sources'
# rust-toolchain.toml files pin (rustup cannot fetch those offline); Go: the one on PATH.
#
# Build profile of the Rust parts: each workspace's own release profile, as upstream builds
# them (the proxy: opt-level 3, fat LTO, line tables; the policy controller: thin LTO; the
# validator and linkerd-await: fat LTO), with the `--cfg tokio_unstable` upstream's RUSTFLAGS
# set, then stripped as upstream's packaging strips. A cheaper profile was measured and is not
# worth its difference: the proxy alone, cold, with `-j2` on 2 cores shared with other builds,
# took 8.5 min with its release profile and 8.8 min with opt-level 1 and no LTO (LTO skips the
# dependencies' machine code, so its single final codegen costs about what it saves).
# Upstream builds the policy controller, the validator and linkerd-await for musl; the musl
# target is not installed here, so they are glibc builds linked statically (crt-static):
# static like upstream's, and, as the policy controller's manifest chooses for the glibc
# target, with jemalloc as its allocator. The proxy is a glibc build, as upstream releases it
# (x86_64-unknown-linux-gnu, jemalloc); its build info names kubelab as the vendor.
#
# Rust's build trees stay in ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/linkerd/build/ (sources
# unpacked at fixed paths, cargo target directories: a few GB, free to delete), so a build
# interrupted or failed resumes where it stopped. Cold, on 2 shared cores with empty Go and
# cargo build caches (module and crate downloads cached): about 22 min (1305 s measured: the Go
# parts 3.5 min, linkerd-await 0.5, the validator 0.7, the policy controller 8.3, the proxy 8.6).
set -euo pipefail

version="${1:-edge-26.8.3}"
root="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev"
dest="$root/linkerd/$version"
work="$root/linkerd/build"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "linkerd: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$here/lib.sh"

# The refs edge-26.8.3 builds its proxy image from: .proxy-version, and Dockerfile.proxy's
# PROXY_INIT_REF, LINKERD_VALIDATOR_VERSION and LINKERD_AWAIT_VERSION.
case "$version" in
edge-26.8.3) proxy=2.366.0 proxy_init=2.4.9 validator=0.1.9 await=0.3.3 ;;
*) log "no pinned proxy, proxy-init, validator and await versions for $version"; exit 1 ;;
esac

commit_of() { # FILE: the commit sources.tsv pins for a source archive
  local c
  c="$(awk -F'\t' -v f="$1" '$2 == f { print $5 }' "$here/sources.tsv")"
  [[ $c =~ ^[0-9a-f]{40}$ ]] || { log "no $1 with a commit in $here/sources.tsv"; return 1; }
  echo "$c"
}

# Each part: its source archive (without .tar.gz) and the binaries it installs. Bump recipe
# when a part's build changes.
recipe=1
declare -A part_src=(
  [linkerd2-go]="linkerd2-$version"
  [policy-controller]="linkerd2-$version"
  [proxy]="linkerd2-proxy-$proxy"
  [proxy-init]="linkerd2-proxy-init-$proxy_init"
  [validator]="linkerd-network-validator-$validator"
  [await]="linkerd-await-$await"
)
declare -A part_bins=(
  [linkerd2-go]="controller proxy-identity"
  [policy-controller]="linkerd-policy-controller"
  [proxy]="linkerd2-proxy"
  [proxy-init]="linkerd2-proxy-init"
  [validator]="linkerd-network-validator"
  [await]="linkerd-await"
)
parts=(linkerd2-go proxy-init await validator policy-controller proxy)
stamp_of() { # PART
  local s="${part_src[$1]}" p=" profile release strip"
  [[ $1 == linkerd2-go || $1 == proxy-init ]] && p=""
  echo "$1 $s $(commit_of "$s.tar.gz") recipe $recipe$p"
}

# reports BIN: the binary runs here and says what it is.
reports() {
  local b="$1" out
  [[ -x $b ]] || return 1
  case "${b##*/}" in
  # Upstream leaves the version to the image's LINKERD_CONTAINER_VERSION_OVERRIDE.
  controller) out="$(LINKERD_CONTAINER_VERSION_OVERRIDE="$version" "$b" identity -version 2>&1)" && [[ $out == "$version" ]] ;;
  proxy-identity) out="$(env -i "$b" 2>&1)"; [[ $out == *"Invalid end-entity directory"* ]] ;;
  linkerd2-proxy-init) out="$("$b" --help 2>&1)" && [[ $out == *--incoming-proxy-port* ]] ;;
  # Built without clap's help: with no arguments it only says some are required.
  linkerd-policy-controller) out="$(env -i "$b" 2>&1)"; [[ $out == *"required arguments were not provided"* ]] ;;
  linkerd-network-validator) out="$("$b" --version 2>&1)" && [[ $out == "linkerd-network-validator $validator" ]] ;;
  # linkerd-await's manifest still says 0.3.1 at release/v0.3.3.
  linkerd-await) out="$("$b" --version 2>&1)" && [[ $out == "linkerd-await 0.3."* ]] ;;
  # The proxy reads only its environment: it logs its build, then refuses the empty configuration.
  linkerd2-proxy) out="$(env -i LINKERD2_PROXY_LOG=info "$b" 2>&1)"; [[ $out == *"release $proxy ("*") by kubelab"* ]] ;;
  *) return 1 ;;
  esac
}
# part_built PART [explain] and all_built [explain]: is it there and current (with explain: if
# not, say what is off).
part_built() {
  local b
  if [[ ! -f $dest/stamps/$1 || "$(<"$dest/stamps/$1")" != "$(stamp_of "$1")" ]]; then
    [[ -z ${2:-} ]] || log "$1: stamps/$1 is not \"$(stamp_of "$1")\""
    return 1
  fi
  for b in ${part_bins[$1]}; do
    reports "$dest/bin/$b" && continue
    [[ -z ${2:-} ]] || log "$1: bin/$b does not run here or does not say what it is"
    return 1
  done
}
all_built() {
  local p
  if [[ ! -f $dest/licenses/linkerd2 || ! -f $dest/licenses/linkerd2-proxy || "$(cat "$dest/proxy-version" 2>/dev/null)" != "v$proxy" ]]; then
    [[ -z ${1:-} ]] || log "licenses/ or proxy-version missing"
    return 1
  fi
  for p in "${parts[@]}"; do part_built "$p" "${1:-}" || return 1; done
}
if all_built; then
  already_built "Linkerd $version (proxy $proxy)" "$dest/bin"
fi

command -v cargo >/dev/null || { log "cargo is needed: Rust's stable toolchain (rustup)"; exit 1; }
# gcc: aws-lc and jemalloc's C code, and the final links; make: jemalloc's build.
command -v gcc >/dev/null && command -v make >/dev/null || { log "gcc and make are needed: run scripts/dev-tools/install-deps.sh"; exit 1; }

start_go_build "$dest"
start=$SECONDS
mkdir -p "$dest/bin" "$dest/stamps" "$dest/licenses" "$work/src" "$work/target"

unpack() { # NAME DIR: the verified archive's tree in DIR (replaced); tar keeps the archive's
  # mtimes, so cargo's fingerprints of an unchanged tree still match.
  local archive
  archive="$(cd "$here/../.." && npx --no-install tsx scripts/dev-tools/upstream.ts source "$1")"
  rm -rf "$2"
  mkdir -p "$2"
  tar -xzf "$archive" -C "$2" --strip-components=1
}
install_part() { # PART DIR: move the part's binaries from DIR into bin/, then write its stamp
  local b
  rm -f "$dest/stamps/$1"
  for b in ${part_bins[$1]}; do
    reports "$2/$b" || { log "$b (from ${part_src[$1]}) does not run here or does not say what it is"; exit 1; }
    mv -f "$2/$b" "$dest/bin/$b"
  done
  stamp_of "$1" >"$dest/stamps/$1"
}

# The linkerd2 tree: its pins and licenses first.
l2="$tmp/linkerd2"
unpack "linkerd2-$version" "$l2"
got_proxy="$(<"$l2/.proxy-version")"
[[ $got_proxy == "v$proxy" ]] || { log "linkerd2 $version names proxy $got_proxy, pinned v$proxy"; exit 1; }
for pin in "PROXY_INIT_REF=\"proxy-init/v$proxy_init\"" "LINKERD_VALIDATOR_VERSION=v$validator" "LINKERD_AWAIT_VERSION=v$await"; do
  grep -qxF "ARG $pin" "$l2/Dockerfile.proxy" || { log "linkerd2 $version's Dockerfile.proxy has no ARG $pin"; exit 1; }
done
cp "$l2/LICENSE" "$dest/licenses/linkerd2"
echo "v$proxy" >"$dest/proxy-version"

export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
gobuild() { # DIR OUT PKG...: as the Dockerfiles build them (-ldflags "-s -w"), plus -trimpath
  local dir="$1" out="$2"
  shift 2
  (cd "$dir" && nice -n 19 "$go" build -trimpath -ldflags "-s -w" -o "$out" "$@" >&2)
}
if ! part_built linkerd2-go; then
  log "building controller and proxy-identity from linkerd2 $version with $("$go" env GOVERSION) (cold: ~4 min)"
  mkdir -p "$tmp/out-go"
  gobuild "$l2" "$tmp/out-go/controller" -tags prod ./controller/cmd
  gobuild "$l2" "$tmp/out-go/proxy-identity" ./proxy-identity
  install_part linkerd2-go "$tmp/out-go"
fi
if ! part_built proxy-init; then
  log "building proxy-init $proxy_init with $("$go" env GOVERSION)"
  unpack "linkerd2-proxy-init-$proxy_init" "$tmp/proxy-init"
  mkdir -p "$tmp/out-init"
  gobuild "$tmp/proxy-init" "$tmp/out-init/linkerd2-proxy-init" ./proxy-init
  install_part proxy-init "$tmp/out-init"
fi

# cargo_build PART PACKAGE static|dynamic: builds PACKAGE's binary of the PART's archive with the
# release profile into $tmp/out-PART.
host="$(RUSTUP_TOOLCHAIN=stable rustc -vV | sed -n 's/^host: //p')"
cargo_build() {
  local part="$1" package="$2" link="$3" name="${part_src[$1]}"
  local src="$work/src/$name" lock url crate commit file dir bin out="$tmp/out-$1"
  local -a cfg=() target=()
  unpack "$name" "$src"
  # The lock's git sources, patched to the pinned archive of the same commit.
  lock="$tmp/$name.Cargo.lock"
  cp "$src/Cargo.lock" "$lock"
  while read -r crate url commit; do
    file="$(awk -F'\t' -v c="$commit" '$5 == c { print $2 }' "$here/sources.tsv" | head -n1)"
    [[ -n $file ]] || { log "$name locks $crate at $url#$commit: no archive of that commit in sources.tsv"; exit 1; }
    dir="$work/src/${file%.tar.gz}"
    [[ -f $dir/$crate/Cargo.toml ]] || unpack "${file%.tar.gz}" "$dir"
    [[ -f $dir/$crate/Cargo.toml ]] || { log "${file%.tar.gz} has no $crate/Cargo.toml"; exit 1; }
    cfg+=(--config "patch.\"$url\".$crate.path=\"$dir/$crate\"")
  done < <(awk -F'"' '/^name = / { n = $2 } /^source = "git\+/ { s = $2; sub(/^git\+/, "", s); c = s; sub(/[?#].*/, "", s); sub(/.*#/, "", c); print n, s, c }' "$lock")
  if [[ $link == static ]]; then
    # crt-static for the target only (proc macros cannot be static): an explicit --target.
    target=(--target "$host")
    export RUSTFLAGS="--cfg tokio_unstable -C target-feature=+crt-static"
  else
    export RUSTFLAGS="--cfg tokio_unstable"
  fi
  export RUSTUP_TOOLCHAIN=stable CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$work/target/$name"
  (cd "$src" && cargo fetch --quiet "${cfg[@]}" >&2)
  grep -v '^source = "git+' "$lock" | cmp -s - "$src/Cargo.lock" ||
    { log "$name: patching its git sources changed more of Cargo.lock than their source lines"; exit 1; }
  (cd "$src" && nice -n 19 cargo build --frozen -j"$(nproc)" "${cfg[@]}" "${target[@]}" --release -p "$package" >&2)
  mkdir -p "$out"
  for bin in ${part_bins[$part]}; do
    cp "$CARGO_TARGET_DIR/${target[1]:-}/release/$bin" "$out/$bin"
    strip --strip-unneeded "$out/$bin"
  done
}

if ! part_built await; then
  log "building linkerd-await $await (cold: ~1 min)"
  cargo_build await linkerd-await static
  install_part await "$tmp/out-await"
fi
if ! part_built validator; then
  log "building linkerd-network-validator $validator (cold: ~1 min)"
  cargo_build validator linkerd-network-validator static
  install_part validator "$tmp/out-validator"
fi
if ! part_built policy-controller; then
  log "building linkerd-policy-controller from linkerd2 $version (cold: ~8 min)"
  cargo_build policy-controller linkerd-policy-controller static
  install_part policy-controller "$tmp/out-policy-controller"
fi
if ! part_built proxy; then
  # linkerd-app-core's build script asks git for the commit it reports (`git rev-parse --short
  # HEAD`); an archive is no checkout, so a git in front of the real one answers that question.
  mkdir -p "$tmp/git"
  printf '#!/bin/sh\nif [ "$*" = "rev-parse --short HEAD" ]; then echo %s; exit 0; fi\nexec %s "$@"\n' \
    "$(commit_of "${part_src[proxy]}.tar.gz" | cut -c1-7)" "$(command -v git)" >"$tmp/git/git"
  chmod +x "$tmp/git/git"
  log "building linkerd2-proxy $proxy (cold: ~9 min)"
  # Its build info: the release's version, and kubelab as the vendor (upstream's: linkerd).
  PATH="$tmp/git:$PATH" LINKERD2_PROXY_VERSION="$proxy" LINKERD2_PROXY_VENDOR=kubelab \
    cargo_build proxy linkerd2-proxy dynamic
  cp "$work/src/${part_src[proxy]}/LICENSE" "$dest/licenses/linkerd2-proxy"
  install_part proxy "$tmp/out-proxy"
fi

all_built explain || { log "the build in $dest is not Linkerd $version"; exit 1; }
log "built in $((SECONDS - start))s: Linkerd $version (proxy $proxy, proxy-init $proxy_init, validator $validator, await $await)"
echo "$dest/bin"

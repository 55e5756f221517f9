# shellcheck shell=bash
# Shared by the dev-tools build scripts (sourced, not run; they define log() first).

# go_bin prints the Go toolchain to build with (PATH, else /usr/local/go/bin/go), or fails.
go_bin() {
  local go
  go="$(command -v go || true)"
  go="${go:-/usr/local/go/bin/go}"
  [[ -x "$go" ]] || { echo "go not found (PATH or /usr/local/go/bin/go)" >&2; return 1; }
  echo "$go"
}

# build_dir DEST makes DEST and a temp build dir inside it (same filesystem, so the final
# mv is atomic), removed when the script exits; prints the temp dir.
build_dir() {
  mkdir -p "$1"
  mktemp -d "$1/.build.XXXXXX"
}

# start_go_build DEST sets $go (the toolchain) and $tmp (a build dir inside DEST, removed when
# the script exits), and keeps a go.work around the cache dir from capturing the build module.
start_go_build() {
  go="$(go_bin)"
  tmp="$(build_dir "$1")"
  # shellcheck disable=SC2064 # expand $tmp now: the trap runs after the function returns
  trap "rm -rf '$tmp'" EXIT
  export GOWORK=off
}

# already_built WHAT OUT: says WHAT is built already, prints OUT (the script's last stdout
# line) and ends the script.
already_built() {
  log "already built: $1"
  echo "$2"
  exit 0
}

# go_install NOTE ARGS...: `go install ARGS` (flags, then module/pkg@version...) into $tmp,
# static (CGO_ENABLED=0) and -trimpath, after a line naming the packages and NOTE (the cold
# build time); sets $start for the script's "built in" line.
go_install() {
  local note="$1" a
  local -a pkgs=()
  shift
  for a in "$@"; do [[ $a == *@* ]] && pkgs+=("$a"); done
  log "building ${pkgs[*]} with $("$go" env GOVERSION) ($note)"
  start=$SECONDS
  GOBIN="$tmp" CGO_ENABLED=0 "$go" install -trimpath "$@" >&2
}

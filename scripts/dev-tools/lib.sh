# shellcheck shell=bash
# Shared by the dev-tools build scripts (sourced, not run).

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

#!/usr/bin/env bash
# Build Headlamp (the default lab UI) from the release's verified source archive into the
# kubelab dev cache: the Go backend and the React frontend its image serves.
#   usage: scripts/dev-tools/headlamp.sh [version]   (default v0.45.0)
# Installs ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/headlamp/<version>/:
#   bin/headlamp-server   backend/cmd (static, CGO_ENABLED=0), stamped as the Makefile stamps it
#   frontend/             the frontend's production build (vite), served by -html-static-dir
#   LICENSE               the release's license
# and prints that directory as the last stdout line; progress goes to stderr. Idempotent: a warm
# run only checks what is there. Cold, on 2 cores: about 6 min (Go modules and npm packages
# downloaded, the vite build about 4 of them).
#
# Sources: the archive scripts/dev-tools/upstream.ts `source headlamp-<version>` verifies (a git
# archive of the tag, without docs and plugins; its commit is in sources.tsv). Go modules come
# from the Go module proxy, npm packages from the npm registry (`npm ci` from the frontend's
# lock file). The frontend wants Node.js >= 22 (its package.json engines); when the host's is
# older, Node.js at a pinned 22.x (scripts/dev-tools/node.sh, from the npm registry) is put first
# on PATH for the frontend build only.
#
# As the upstream Dockerfile builds it, with two differences: the frontend's .env is written here
# (make-env.js reads the version from app/package.json and the commit from `git rev-parse`, and
# an archive has no .git; the commit comes from sources.tsv instead), and the backend carries the
# Makefile's version stamp (-s -w -X ...kubeconfig.Version and AppName), which the Dockerfile's
# plain `go build` leaves empty.
set -euo pipefail

version="${1:-v0.45.0}"
root="${XDG_CACHE_HOME:-$HOME/.cache}/kubelab-dev"
dest="$root/headlamp/$version"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "headlamp: $*" >&2; }
# shellcheck source=scripts/dev-tools/lib.sh
source "$here/lib.sh"

[[ $version =~ ^v0\.[0-9]+\.[0-9]+$ ]] || { log "version must look like v0.<minor>.<patch>, got $version"; exit 1; }
archive_name="headlamp-${version#v}.tar.gz"
commit="$(awk -F'\t' -v f="$archive_name" '$2 == f { print $5 }' "$here/sources.tsv")"
[[ $commit =~ ^[0-9a-f]{40}$ ]] || { log "no $archive_name with a commit in $here/sources.tsv"; exit 1; }

# The Node.js the frontend build runs on when the host's is older than its engines field.
node_version=22.23.3
# Bump recipe when the build changes.
recipe=1
stamp="headlamp $version $commit node $node_version recipe $recipe"

built() {
  [[ -f $1/stamp && "$(<"$1/stamp")" == "$stamp" && -x $1/bin/headlamp-server && -f $1/frontend/index.html && -f $1/LICENSE ]]
}
if built "$dest"; then
  already_built "Headlamp $version (commit ${commit:0:12})" "$dest"
fi

# node_bin prints a Node.js >= 22: the host's, else the pinned one (node.sh installs it once
# into the dev cache).
node_bin() {
  local host
  host="$(command -v node || true)"
  if [[ -n $host && "$("$host" -p 'process.versions.node.split(".")[0]')" -ge 22 ]]; then
    dirname "$host"
    return
  fi
  bash "$here/node.sh" "$node_version" | tail -n1
}

start_go_build "$dest"
start=$SECONDS
archive="$(cd "$here/../.." && npx --no-install tsx scripts/dev-tools/upstream.ts source "${archive_name%.tar.gz}")"
src="$tmp/src"
mkdir -p "$src" "$tmp/out/bin"
tar -xzf "$archive" -C "$src" --strip-components=1
[[ -f $src/backend/go.mod && -f $src/frontend/package-lock.json && -f $src/app/package.json ]] || { log "unexpected source layout in $archive"; exit 1; }
app_version="$(node -p 'require(process.argv[1]).version' "$src/app/package.json")"
app_name="$(node -p 'require(process.argv[1]).productName' "$src/app/package.json")"
[[ v$app_version == "$version" ]] || { log "app/package.json says $app_version, not $version"; exit 1; }

log "building the backend with $("$go" env GOVERSION)"
kc=github.com/kubernetes-sigs/headlamp/backend/pkg/kubeconfig
(cd "$src/backend" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath \
  -ldflags "-s -w -X $kc.Version=$app_version -X '$kc.AppName=$app_name'" -o "$tmp/out/bin/headlamp-server" ./cmd/ >&2)

node_path="$(node_bin)"
log "building the frontend with Node.js $("$node_path/node" --version) (npm ci, then vite: a few minutes)"
# make-env.js's file, with the commit from sources.tsv instead of `git rev-parse HEAD`.
cat >"$src/frontend/.env" <<EOF
REACT_APP_HEADLAMP_VERSION=$app_version
REACT_APP_HEADLAMP_GIT_VERSION=$commit
REACT_APP_HEADLAMP_PRODUCT_NAME=$app_name
REACT_APP_ENABLE_REACT_QUERY_DEVTOOLS=false
REACT_APP_HEADLAMP_SIDEBAR_DEFAULT_OPEN=true
EOF
(
  cd "$src/frontend"
  export PATH="$node_path:$PATH"
  # The Dockerfile's `npm ci --only=prod`, then `npm run build` without its prebuild (make-env.js).
  npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2
  PUBLIC_URL=./ NODE_OPTIONS=--max-old-space-size=8096 npx --no-install vite build --logLevel warn >&2
  rm -f build/frontend/index.baseUrl.html
)
[[ -f $src/frontend/build/index.html ]] || { log "the frontend build left no build/index.html"; exit 1; }
mv "$src/frontend/build" "$tmp/out/frontend"
cp "$src/LICENSE" "$tmp/out/LICENSE"

for d in bin frontend; do
  [[ ! -e $dest/$d ]] || mv "$dest/$d" "$tmp/old-$d"
  mv "$tmp/out/$d" "$dest/$d"
done
mv -f "$tmp/out/LICENSE" "$dest/LICENSE"
echo "$stamp" >"$dest/stamp"
built "$dest" || { log "the build in $dest is not Headlamp $version"; exit 1; }
log "built in $((SECONDS - start))s: Headlamp $version (commit ${commit:0:12})"
echo "$dest"

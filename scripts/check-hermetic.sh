#!/usr/bin/env bash
# Proves the hermetic tier stands alone: the committed tree is cloned into an empty temporary
# directory (nothing beside it), and `npm run test:unit`'s runner is started there with an empty
# HOME (no dev cache, no downloads), nothing on PATH but node, no environment but that, and,
# where this host allows it, no network (a private network namespace with only loopback) and
# no root (the tests run as nobody). node_modules is the checkout's own (npm ci made it).
#   usage: bash scripts/check-hermetic.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -d $repo/node_modules ]] || { echo "check-hermetic: run npm ci first" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
git clone -q "$repo" "$tmp/kubelab"
ln -s "$repo/node_modules" "$tmp/kubelab/node_modules"
mkdir -p "$tmp/bin" "$tmp/home"
ln -s "$(command -v node)" "$tmp/bin/node"
chmod 1777 "$tmp/home"

cmd=(env -i "HOME=$tmp/home" "PATH=$tmp/bin" node scripts/run-tests.mjs unit)
how="an empty HOME, only node on PATH"
if [[ $(id -u) == 0 ]] && command -v unshare >/dev/null && command -v setpriv >/dev/null && command -v ip >/dev/null &&
  unshare -n true 2>/dev/null; then
  # Loopback only (tests may serve on 127.0.0.1), then drop root for the tests themselves.
  cmd=(unshare -n -- sh -c 'ip link set lo up && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' sh "${cmd[@]}")
  how="$how, no network, as nobody"
fi
echo "check-hermetic: the unit tier in a bare clone ($how)" >&2
cd "$tmp/kubelab"
[[ ! -e ../shared ]]
"${cmd[@]}"

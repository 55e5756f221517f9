/**
 * Getting a pinned file onto a node: fetched by the node from the host's file server when
 * there is one (see artifacts/serve.ts), else uploaded over the node's SSH connection. A
 * node that cannot reach the server (no route to the lab address, a firewall, no curl) gets
 * every later file over SSH too, with one line saying so.
 */
import { basename } from "node:path";
import type { Offer } from "../artifacts/serve.js";
import type { Remote } from "../remote/types.js";
import type { PinnedFile } from "../versions.js";
import { whileWriting } from "./disk-full.js";
import type { PhaseContext } from "./phase.js";

/** Where files that are unpacked wait on the node (removed afterwards). */
const SPOOL = "/var/cache/kubelab";

/** Exit status of FETCH when the download itself failed (the only case that falls back to SSH). */
const CANNOT_FETCH = 90;

/**
 * The node side of a fetch: download into a temp file, check the sha256 the host gave, then
 * install it (mode, atomic rename) or unpack it. Arguments: URL SHA256 MODE DEST UNPACK_DIR
 * (UNPACK_DIR empty for an install).
 */
const FETCH = `set -eu
url=$1 sum=$2 mode=$3 dest=$4 into=$5
if [ -n "$into" ]; then dir=${SPOOL}; else dir=\${dest%/*}; fi
mkdir -p "$dir" \${into:+"$into"}
command -v curl >/dev/null || { echo "curl not found" >&2; exit ${CANNOT_FETCH}; }
tmp=$(mktemp "$dir/.kubelab-fetch.XXXXXX")
trap 'rm -f "$tmp"' EXIT
curl -fsS --connect-timeout 3 --retry 2 --retry-connrefused -o "$tmp" "$url" || exit ${CANNOT_FETCH}
echo "$sum  $tmp" | sha256sum -c --quiet - >&2
if [ -n "$into" ]; then tar -C "$into" -xf "$tmp"; else chmod "$mode" "$tmp"; mv -f "$tmp" "$dest"; fi
`;

const unreachable = new WeakMap<PhaseContext, Set<string>>();

/** fetch runs FETCH on the node; false when the node could not download (caller falls back). */
async function fetch(ctx: PhaseContext, remote: Remote, offer: Offer, mode: number, dest: string, into: string) {
  const skip = unreachable.get(ctx) ?? new Set<string>();
  unreachable.set(ctx, skip);
  if (skip.has(remote.node)) return false;
  const argv = ["sh", "-c", FETCH, "kubelab-fetch", offer.url, offer.sha256, mode.toString(8), dest, into];
  const r = await remote.exec(argv, { timeoutMs: 600_000 });
  if (r.code === 0) return true;
  if (r.code !== CANNOT_FETCH) await remote.run(argv, { timeoutMs: 600_000 }); // throws with the output
  skip.add(remote.node);
  const why = r.stderr.trim().split("\n").pop() || `exit ${r.code}`;
  ctx.log(`${remote.node}: cannot fetch from the host's file server ${offer.url} (${why}); uploading over SSH instead`);
  return false;
}

/** installFile puts a pinned file at `dest` with `mode`. */
export async function installFile(
  ctx: PhaseContext,
  remote: Remote,
  file: PinnedFile,
  dest: string,
  mode = 0o644,
): Promise<void> {
  const server = ctx.fileServer;
  await whileWriting(remote, dest, async () => {
    if (server && (await fetch(ctx, remote, await server.offer(file), mode, dest, ""))) return;
    await remote.writeFile(dest, await ctx.packages.artifacts.get(file), mode);
  });
}

/** unpackFile extracts a pinned gzip'ed tarball into `dir` (created if missing). */
export async function unpackFile(ctx: PhaseContext, remote: Remote, file: PinnedFile, dir: string): Promise<void> {
  const server = ctx.fileServer;
  const unpacking = `unpacking ${basename(file.url)} into ${dir}`;
  const fetched = await whileWriting(
    remote,
    `${dir}/`,
    async () => !!server && (await fetch(ctx, remote, await server.offer(file, { gunzip: true }), 0o644, "", dir)),
    unpacking,
  );
  if (fetched) return;
  const tmp = `${SPOOL}/${file.sha256}.tar.gz`;
  await whileWriting(remote, tmp, async () => remote.writeFile(tmp, await ctx.packages.artifacts.get(file), 0o644));
  await remote.run(["mkdir", "-p", dir]);
  await whileWriting(remote, `${dir}/`, () => remote.run(["tar", "-C", dir, "-xzf", tmp]), unpacking);
  await remote.run(["rm", "-f", tmp]);
}

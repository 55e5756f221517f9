/**
 * etcd snapshots on a control plane: saved by etcdctl and checked and restored by etcdutl,
 * both run inside the node's running etcd container (as etcd.ts runs etcdctl; etcdutl, when
 * no etcd runs, from the etcd image mounted on the node), on files under /var/lib/etcd, which
 * the container mounts from the node. etcdutl is what etcd 3.6
 * and later check and restore snapshots with; an image without it falls back to etcdctl's
 * older `snapshot status` and `snapshot restore`.
 */
import { CommandError } from "../errors.js";
import type { Remote } from "../remote/types.js";
import { etcdctl, NO_ETCD_EXIT, peerURL } from "./etcd.js";

/** etcd's data directory as kubeadm sets it up (a hostPath mount of the etcd pod). */
export const ETCD_DATA_DIR = "/var/lib/etcd";

/** Where etcd's static pod manifest is: kubelet's directory, or where a restore parks it meanwhile. */
export const ETCD_MANIFESTS = ["/etc/kubernetes/manifests", "/etc/kubernetes/kubelab-restore-manifests"] as const;

// etcdutl takes no endpoint nor certificates: it reads files. It runs in the node's running
// etcd container; without one (etcd lost or crashing) it runs on the node itself from the etcd
// image the manifest names, mounted read-only by containerd (its binaries are static). An
// image without etcdutl gets the same subcommand run by etcdctl.
const UTIL_SCRIPT = `id=$(crictl ps --name '^etcd$' --state running -q 2>/dev/null | head -n 1)
if [ -n "$id" ]; then
  tool=etcdutl
  crictl exec "$id" etcdutl version >/dev/null 2>&1 || tool=etcdctl
  echo "kubelab-etcd-tool=$tool" >&2
  exec crictl exec "$id" "$tool" "$@"
fi
image=$(sed -n 's/^ *image: *//p' ${ETCD_MANIFESTS.map((d) => `${d}/etcd.yaml`).join(" ")} 2>/dev/null | head -n 1)
[ -n "$image" ] || { echo "no running etcd container and no etcd manifest on this node" >&2; exit ${NO_ETCD_EXIT}; }
dir=$(mktemp -d /run/kubelab-etcd-image.XXXXXX) || exit 1
ctr -n k8s.io images mount "$image" "$dir" >/dev/null || { rmdir "$dir"; exit 1; }
tool=etcdutl
[ -x "$dir/usr/local/bin/etcdutl" ] || tool=etcdctl
echo "kubelab-etcd-tool=$tool (from $image)" >&2
"$dir/usr/local/bin/$tool" "$@"
rc=$?
ctr -n k8s.io images unmount --rm "$dir" >/dev/null 2>&1
rmdir "$dir" 2>/dev/null
exit $rc`;

/** The argv that runs `etcdutl ARGS` (or etcdctl when the image lacks etcdutl) in the node's etcd container. */
export const etcdutlArgv = (args: readonly string[]): string[] => ["sh", "-c", UTIL_SCRIPT, "kubelab-etcdutl", ...args];

/** Which tool the script ran, from its stderr. */
const toolOf = (stderr: string): "etcdutl" | "etcdctl" =>
  /kubelab-etcd-tool=etcdctl\b/.test(stderr) ? "etcdctl" : "etcdutl";

async function etcdutl(
  remote: Remote,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ stdout: string; tool: "etcdutl" | "etcdctl" }> {
  const argv = etcdutlArgv(args);
  const r = await remote.exec(argv, { timeoutMs });
  if (r.code !== 0) throw new CommandError(remote.node, ["etcdutl", ...args], r.code, r.stderr || r.stdout);
  return { stdout: r.stdout, tool: toolOf(r.stderr) };
}

/** snapshotSave has the node's etcd write a snapshot to `path` (under {@link ETCD_DATA_DIR}). */
export async function snapshotSave(remote: Remote, path: string): Promise<void> {
  await etcdctl(remote, ["snapshot", "save", path], 300_000);
}

/** A snapshot's status as `etcdutl snapshot status -w json` reports it. */
export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
  /** The tool that checked it. */
  readonly checkedWith: "etcdutl" | "etcdctl";
}

/** parseSnapshotStatus reads `snapshot status -w json`; anything else is an error naming the output. */
export function parseSnapshotStatus(out: string, checkedWith: SnapshotStatus["checkedWith"]): SnapshotStatus {
  const start = out.indexOf("{");
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = start >= 0 ? (JSON.parse(out.slice(start)) as Record<string, unknown>) : undefined;
  } catch {}
  const n = (k: string) => (typeof parsed?.[k] === "number" ? (parsed[k] as number) : Number.NaN);
  const status = { hash: n("hash"), revision: n("revision"), totalKey: n("totalKey"), totalSize: n("totalSize") };
  if (Object.values(status).some(Number.isNaN)) throw new Error(`unexpected snapshot status output: ${out.trim()}`);
  return { ...status, checkedWith };
}

/** snapshotStatus checks the snapshot at `path` on the node (its hash and bolt database) and returns its status. */
export async function snapshotStatus(remote: Remote, path: string): Promise<SnapshotStatus> {
  const r = await etcdutl(remote, ["snapshot", "status", path, "-w", "json"], 120_000);
  return parseSnapshotStatus(r.stdout, r.tool);
}

/**
 * How far etcdutl moves the revision on past the snapshot's, marking it compacted: every
 * client watching from a revision it saw before the restore (kubelets, controllers, the API
 * server's caches) is told its revision is gone and lists afresh, instead of waiting for
 * revisions the restored store reuses. Kubernetes' etcd restore instructions give this value.
 */
export const BUMP_REVISION = 1_000_000_000;

/**
 * snapshotRestoreArgs restores `snapshot` into the new data directory `dataDir` as the
 * single member kubeadm's manifest starts on `node` (its name, its peer URL); with etcdutl
 * (`bump`) the revision is moved on and compacted (etcdctl's old restore has no such flags).
 */
export function snapshotRestoreArgs(
  snapshot: string,
  dataDir: string,
  node: { readonly name: string; readonly ip: string },
  bump: boolean,
): string[] {
  const peer = peerURL(node.ip);
  return [
    "snapshot",
    "restore",
    snapshot,
    `--data-dir=${dataDir}`,
    `--name=${node.name}`,
    `--initial-cluster=${node.name}=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    ...(bump ? [`--bump-revision=${BUMP_REVISION}`, "--mark-compacted"] : []),
  ];
}

/**
 * snapshotRestore writes a fresh data directory from a snapshot on the node with the tool
 * its status was checked with; the running etcd is not touched.
 */
export async function snapshotRestore(
  remote: Remote,
  snapshot: string,
  dataDir: string,
  node: { readonly name: string; readonly ip: string },
  tool: SnapshotStatus["checkedWith"],
): Promise<void> {
  await etcdutl(remote, snapshotRestoreArgs(snapshot, dataDir, node, tool === "etcdutl"), 300_000);
}

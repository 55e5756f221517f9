/**
 * etcd of a kubeadm cluster (stacked: one member per control plane), reached on a control
 * plane through the etcdctl inside its running etcd container (`crictl exec`), with the
 * client certificate kubeadm makes for etcd's health checks. Nothing is installed on the node
 * for it, and the endpoint is the node's own member.
 */
import { CommandError } from "../errors.js";
import type { Remote } from "../remote/types.js";

/** Where kubeadm keeps etcd's certificates; the etcd static pod mounts the same path. */
export const ETCD_PKI = "/etc/kubernetes/pki/etcd";

/** A member as `etcdctl member list` reports it. */
export interface EtcdMember {
  /** Hexadecimal, as etcdctl prints and takes it. */
  readonly id: string;
  /** Empty until the member has started once (a member added but never started). */
  readonly name: string;
  readonly started: boolean;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

/** One endpoint's health, as `etcdctl endpoint health -w json` reports it. */
export interface EtcdHealth {
  readonly endpoint: string;
  readonly health: boolean;
  readonly error?: string;
}

/** Exit code of the script when the node runs no etcd container. */
export const NO_ETCD_EXIT = 3;

const SCRIPT = `id=$(crictl ps --name '^etcd$' --state running -q 2>/dev/null | head -n 1)
[ -n "$id" ] || { echo "no running etcd container on this node" >&2; exit ${NO_ETCD_EXIT}; }
exec crictl exec "$id" etcdctl --endpoints=https://127.0.0.1:2379 \\
  --cacert=${ETCD_PKI}/ca.crt --cert=${ETCD_PKI}/healthcheck-client.crt --key=${ETCD_PKI}/healthcheck-client.key \\
  --command-timeout=10s "$@"`;

/** The argv that runs `etcdctl ARGS` in the node's etcd container (exported for fake nodes). */
export const etcdctlArgv = (args: readonly string[]): string[] => ["sh", "-c", SCRIPT, "kubelab-etcdctl", ...args];

/** etcdctl runs `etcdctl ARGS` on a control plane and returns its output; a failure throws a CommandError. */
export async function etcdctl(remote: Remote, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return remote.run(etcdctlArgv(args), { timeoutMs });
}

/**
 * parseMemberList reads `etcdctl member list -w simple` (`ID, STATUS, NAME, PEER ADDRS,
 * CLIENT ADDRS, IS LEARNER`, addresses comma-separated inside the field).
 */
export function parseMemberList(out: string): EtcdMember[] {
  const members: EtcdMember[] = [];
  for (const line of out.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(", ");
    if (fields.length < 6) throw new Error(`unexpected etcdctl member list line: ${line}`);
    const [id, status, name] = fields as [string, string, string];
    const isLearner = fields[fields.length - 1]?.trim() === "true";
    // Peer and client address lists are themselves joined with "," (no space).
    const urls = (s: string | undefined) => (s ? s.split(",").filter((u) => u !== "") : []);
    members.push({
      id: id.trim(),
      name: name.trim(),
      started: status.trim() === "started",
      peerURLs: urls(fields[3]),
      clientURLs: urls(fields[4]),
      isLearner,
    });
  }
  return members;
}

/** memberList lists the cluster's etcd members, asked of the control plane `remote`. */
export async function memberList(remote: Remote): Promise<EtcdMember[]> {
  return parseMemberList(await etcdctl(remote, ["member", "list", "-w", "simple"]));
}

/**
 * memberListOn asks the first of `remotes` whose etcd answers, and asks again for up to
 * `waitMs` while none does: a control plane that has just booted runs its etcd container
 * only once its kubelet has started the static pod.
 */
export async function memberListOn(
  remotes: readonly Remote[],
  opts: { waitMs?: number; signal?: AbortSignal } = {},
): Promise<EtcdMember[]> {
  const until = Date.now() + (opts.waitMs ?? 90_000);
  for (;;) {
    let last: unknown;
    for (const remote of remotes) {
      try {
        return await memberList(remote);
      } catch (e) {
        last = e;
      }
    }
    if (Date.now() >= until || opts.signal?.aborted) throw last;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** memberRemove removes a member by its hexadecimal ID. */
export async function memberRemove(remote: Remote, id: string): Promise<void> {
  await etcdctl(remote, ["member", "remove", id]);
}

/** The peer URL kubeadm gives a control plane's etcd member. */
export const peerURL = (address: string): string => `https://${address}:2380`;

/**
 * membersOf returns the members that belong to a node: by name (a started member) or by
 * peer URL (a member added by an interrupted join that never started has no name).
 */
export function membersOf(
  members: readonly EtcdMember[],
  node: { readonly name: string; readonly ip: string },
): EtcdMember[] {
  const peer = peerURL(node.ip);
  return members.filter((m) => m.name === node.name || m.peerURLs.includes(peer));
}

/** parseHealth reads `etcdctl endpoint health --cluster -w json`. */
export function parseHealth(out: string): EtcdHealth[] {
  const parsed: unknown = JSON.parse(out);
  if (!Array.isArray(parsed)) throw new Error("unexpected etcdctl endpoint health output");
  return parsed.map((e: { endpoint?: string; health?: boolean; error?: string }) => ({
    endpoint: String(e.endpoint ?? ""),
    health: e.health === true,
    ...(e.error ? { error: String(e.error) } : {}),
  }));
}

/**
 * endpointHealth asks every member's health through the control plane `remote`. etcdctl
 * exits 1 when one is unhealthy but still prints every endpoint's result, which is returned.
 */
export async function endpointHealth(remote: Remote): Promise<EtcdHealth[]> {
  const r = await remote.exec(etcdctlArgv(["endpoint", "health", "--cluster", "-w", "json"]), { timeoutMs: 30_000 });
  const health = healthOutput(r.stdout);
  if (!health) throw new CommandError(remote.node, ["etcdctl", "endpoint", "health"], r.code, r.stderr || r.stdout);
  return health;
}

/**
 * healthOutput reads what `etcdctl endpoint health --cluster -w json` printed, whatever its exit
 * code (1 when a member is unhealthy); undefined when it printed no JSON list (etcd not reached).
 */
export function healthOutput(stdout: string): EtcdHealth[] | undefined {
  const start = stdout.indexOf("[");
  if (start < 0) return undefined;
  try {
    return parseHealth(stdout.slice(start));
  } catch {
    return undefined;
  }
}

/** quorum is the number of voting members that must be healthy for etcd to accept writes. */
export const quorum = (voters: number): number => Math.floor(voters / 2) + 1;

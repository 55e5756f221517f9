/**
 * The cluster: `kubeadm init` on the first control plane, then `kubeadm join` everywhere
 * else (workers at once, further control planes one at a time), each skipped on a node that
 * already did it. Join secrets (a bootstrap token with a short TTL, the certificate key) are
 * made on demand, kept in memory and handed to kubeadm on its stdin: never written to disk,
 * logged or put on a command line.
 */
import { createHash, X509Certificate } from "node:crypto";
import { CommandError } from "../errors.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { PlanNode } from "../plan/types.js";
import type { Remote } from "../remote/types.js";
import { type JoinSecrets, KUBEADM_INIT_PATH, kubeadmJoinDocument } from "../render/kubeadm.js";
import { memberListOn, memberRemove, membersOf } from "./etcd.js";
import { nodeEnvironment } from "./facts.js";
import { ADMIN_CONF, initState, LEFTOVERS_PROBE } from "./kubeadm-state.js";
import { change, eachNode, type Phase, type PhaseContext } from "./phase.js";

export { ADMIN_CONF } from "./kubeadm-state.js";

const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
const CA_CERT = "/etc/kubernetes/pki/ca.crt";

/** How long a bootstrap token made for one `up` lives (kubeadm's default is 24h). */
const TOKEN_TTL = "15m0s";

/**
 * Preflight checks that fail on a node for a known reason, by name (never `all`):
 * - SystemVerification on a cgroup v1 node: kubeadm 1.35+ makes cgroup v1 a fatal error
 *   there even with kubelet's `failCgroupV1: false` (which kubelab then sets), and says the
 *   check must be skipped explicitly. nspawn nodes on a cgroup v1/hybrid host are such nodes.
 */
export function preflightIgnores(ctx: PhaseContext, node: string): string[] {
  const facts = ctx.facts.get(node);
  return facts && nodeEnvironment(facts).cgroupV1 ? ["SystemVerification"] : [];
}

/** ignoreFlag is kubeadm's --ignore-preflight-errors for {@link preflightIgnores}, or nothing. */
export const ignoreFlag = (ctx: PhaseContext, node: string): string[] => {
  const list = preflightIgnores(ctx, node);
  return list.length > 0 ? [`--ignore-preflight-errors=${list.join(",")}`] : [];
};

/** Bootstrap tokens in kubeadm's output (it prints them) are masked before the output goes anywhere. */
export function redactTokens(text: string): string {
  return text.replace(/\b([a-z0-9]{6})\.[a-z0-9]{16}\b/g, "$1.<redacted>");
}

/** caCertHash is kubeadm's `sha256:<hex>` pin of a CA: the hash of its SubjectPublicKeyInfo. */
export function caCertHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

const exists = async (remote: Remote, path: string) => (await remote.exec(["test", "-f", path])).code === 0;

/** kubeletTail is the last lines kubelet logged on a node, for errors about that node. */
export async function kubeletTail(remote: Remote, lines = 25): Promise<string> {
  const r = await remote.exec(["journalctl", "-u", "kubelet", "--no-pager", "-o", "cat", "-n", String(lines)]);
  return r.stdout.trim() || r.stderr.trim();
}

/**
 * Runs kubeadm; on failure the error carries the end of kubeadm's output and kubelet's last
 * lines (what explains most failed inits and joins), bootstrap tokens masked.
 */
export async function kubeadm(remote: Remote, argv: string[], stdin?: string): Promise<string> {
  const r = await remote.exec(argv, { stdin, timeoutMs: 15 * 60_000 });
  if (r.code === 0) return r.stdout;
  const kubelet = await kubeletTail(remote, 6).catch(() => "");
  const output = redactTokens(`${r.stderr || r.stdout}`.trimEnd())
    .split("\n")
    .slice(-12)
    .join("\n");
  throw new CommandError(
    remote.node,
    argv,
    r.code,
    `${output}${kubelet ? `\n--- kubelet's last lines:\n${kubelet}` : ""}`,
  );
}

function cpRemote(ctx: PhaseContext): { cp: PlanNode; remote: Remote } {
  const cp = firstControlPlane(ctx.plan);
  const remote = ctx.hosts.get(cp.name);
  if (!remote) throw new Error(`${cp.name}: no connection`);
  return { cp, remote };
}

/** The reset that clears what an unfinished init or join left, before it runs again. */
const RESET = ["kubeadm", "reset", "-f"];

/**
 * kubeadm init on the first control plane, unless the cluster shows it finished; an init
 * that started and stopped is reset and run again (kubeadm-state.ts).
 */
export const kubeadmInitPhase: Phase = {
  title: "Initialise the control plane (kubeadm init)",
  async run(ctx) {
    const { cp, remote } = cpRemote(ctx);
    const state = await initState(remote, cp.name);
    if (state.kind === "done") return;
    const more = ctx.plan.nodes.filter((n) => n.role === "control-plane").length > 1;
    const what =
      state.kind === "unfinished" ? `kubeadm reset -f and kubeadm init again (${state.why})` : "kubeadm init";
    await change(ctx, cp.name, what, async () => {
      if (state.kind === "unfinished") await kubeadm(remote, RESET);
      // --upload-certs: further control planes fetch the CA keys with the certificate key.
      await kubeadm(remote, [
        "kubeadm",
        "init",
        "--config",
        KUBEADM_INIT_PATH,
        ...ignoreFlag(ctx, cp.name),
        ...(more ? ["--upload-certs"] : []),
      ]);
    });
  },
};

/**
 * TOKEN_CREATE makes a join token on the first control plane and prints it once the cluster
 * has signed the cluster-info ConfigMap with it (the bootstrap signer of the controller
 * manager adds `jws-kubeconfig-<token id>`). kubeadm join's discovery needs that signature
 * and, when it is not there yet, tries again only after 5 seconds: a join right after the
 * token was made took 5 or 10 seconds longer than the join itself. The wait gives up after
 * 20 s and leaves the rest to kubeadm's own retries.
 */
export const TOKEN_CREATE = [
  "sh",
  "-c",
  `set -e
t=$(kubeadm token create --ttl ${TOKEN_TTL} --description "kubelab up: node join")
i=0
while [ "$i" -lt 100 ]; do
  kubectl --kubeconfig ${ADMIN_CONF} -n kube-public get configmap cluster-info -o 'jsonpath={.data}' 2>/dev/null | grep -q "jws-kubeconfig-\${t%%.*}" && break
  sleep 0.2; i=$((i + 1))
done
echo "$t"`,
  "kubelab-join-token",
];

/** Makes the join secrets on the first control plane. */
async function joinSecrets(ctx: PhaseContext, controlPlanes: boolean): Promise<JoinSecrets> {
  const { remote } = cpRemote(ctx);
  const token = (await remote.run(TOKEN_CREATE)).trim().split("\n").pop() ?? "";
  const ca = await remote.readFile(CA_CERT);
  if (ca === undefined) throw new Error(`${remote.node}: ${CA_CERT} is missing after kubeadm init`);
  let certificateKey: string | undefined;
  if (controlPlanes) {
    // Re-uploads the control-plane certificates (they expire after two hours) under a new key.
    const out = await remote.run([
      "kubeadm",
      "init",
      "phase",
      "upload-certs",
      "--upload-certs",
      "--config",
      KUBEADM_INIT_PATH,
    ]);
    certificateKey = out.trim().split("\n").pop()?.trim();
  }
  return { token, caCertHash: caCertHash(ca), certificateKey };
}

/**
 * kubeadm join on every node that has not joined: workers concurrently, further control
 * planes one at a time (each adds an etcd member). Whether a join finished is asked of the
 * cluster (joinStates); one that started and stopped is undone first (undoJoin).
 */
export const kubeadmJoinPhase: Phase = {
  title: "Join nodes (kubeadm join)",
  async run(ctx) {
    const states = await joinStates(ctx);
    const pending = ctx.plan.nodes.filter((n) => {
      const s = states.get(n.name);
      return s !== undefined && s.kind !== "done";
    });
    if (pending.length === 0) return;
    const secrets = ctx.dryRun
      ? undefined
      : await joinSecrets(
          ctx,
          pending.some((n) => n.role === "control-plane"),
        );
    const join = (n: PlanNode, remote: Remote) => {
      const state = states.get(n.name) as JoinState;
      return change(
        ctx,
        n.name,
        state.kind === "unfinished"
          ? `kubeadm reset -f and kubeadm join again (${n.role}; ${state.why})`
          : `kubeadm join (${n.role})`,
        async () => {
          if (state.kind === "unfinished") await undoJoin(ctx, n, remote);
          // `cat |` makes stdin a pipe: kubeadm opens /dev/stdin, which fails on a socket.
          await kubeadm(
            remote,
            ["sh", "-c", 'cat | kubeadm join --config /dev/stdin "$@"', "kubeadm-join", ...ignoreFlag(ctx, n.name)],
            kubeadmJoinDocument(ctx.plan, n.name, secrets as JoinSecrets),
          );
        },
      );
    };
    const isPending = (n: PlanNode) => pending.includes(n);
    await eachNode(ctx, (n, remote) => join(n, remote), {
      only: (n) => isPending(n) && n.role === "control-plane",
      concurrency: 1,
    });
    await eachNode(ctx, (n, remote) => join(n, remote), { only: (n) => isPending(n) && n.role === "worker" });
  },
};

/** GET_NODES lists the cluster's nodes from the first control plane. */
export const GET_NODES = ["kubectl", "--kubeconfig", ADMIN_CONF, "get", "nodes", "-o", "name"];

/** The label kubeadm gives a control plane in its last join step. */
const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

/** GET_CONTROL_PLANES lists the nodes kubeadm marked as control planes (its last join step). */
export const GET_CONTROL_PLANES = [...GET_NODES.slice(0, 5), "-l", CONTROL_PLANE_LABEL, "-o", "name"];

/** deleteNode deletes a Node object from the first control plane (absent is fine). */
export const deleteNode = (name: string) => [...GET_NODES.slice(0, 3), "delete", "node", name, "--ignore-not-found"];

/** Where a node's join stands. */
type JoinState =
  | { readonly kind: "fresh" }
  | { readonly kind: "done" }
  | { readonly kind: "unfinished"; readonly why: string };

const names = (out: string) =>
  new Set(
    out
      .split("\n")
      .map((l) => l.trim().replace(/^node\//, ""))
      .filter(Boolean),
  );

/**
 * joinStates tells, for every node but the first control plane, whether its join never
 * started (fresh), finished, or started and stopped. kubelet.conf only says the join got as
 * far as the kubelet's TLS bootstrap: a worker has finished once the cluster has its Node; a
 * control plane once kubeadm also marked it (its last step) and its etcd member is a started
 * voter. Files an earlier join left without kubelet.conf (certificates, static pods, etcd
 * data) make kubeadm's preflight refuse, so that join is unfinished too. In a dry run before
 * the first control plane exists there is no cluster to ask: nothing has joined.
 */
async function joinStates(ctx: PhaseContext): Promise<Map<string, JoinState>> {
  const first = firstControlPlane(ctx.plan);
  const states = new Map<string, JoinState>();
  const started: PlanNode[] = [];
  await eachNode(
    ctx,
    async (n, remote) => {
      if (await exists(remote, KUBELET_CONF)) {
        started.push(n);
        return;
      }
      const left = (await remote.run(LEFTOVERS_PROBE)).split("\n").filter(Boolean);
      states.set(
        n.name,
        left.length === 0
          ? { kind: "fresh" }
          : { kind: "unfinished", why: `an earlier kubeadm join stopped before kubelet.conf: ${left.join(", ")}` },
      );
    },
    { only: (n) => n !== first },
  );
  if (started.length === 0) return states;
  const { remote } = cpRemote(ctx);
  if (ctx.dryRun && !(await exists(remote, ADMIN_CONF))) {
    for (const n of started) states.set(n.name, { kind: "fresh" });
    return states;
  }
  const registered = names(await remote.run(GET_NODES, { timeoutMs: 60_000 }));
  const controlPlanes = started.filter((n) => n.role === "control-plane");
  const marked =
    controlPlanes.length > 0 ? names(await remote.run(GET_CONTROL_PLANES, { timeoutMs: 60_000 })) : new Set();
  // Any control plane's etcd will do; the first one may have just booted (its etcd not running yet).
  const members =
    controlPlanes.length > 0
      ? await memberListOn(
          [remote, ...controlPlanes.map((n) => ctx.hosts.get(n.name)).filter((r): r is Remote => r !== undefined)],
          { signal: ctx.signal },
        )
      : [];
  for (const n of started) {
    const missing: string[] = [];
    if (!registered.has(n.name)) missing.push("it is not a node of the cluster");
    else if (n.role === "control-plane") {
      if (!marked.has(n.name)) missing.push("kubeadm did not mark it as a control plane");
      const own = membersOf(members, n);
      if (!own.some((m) => m.started && !m.isLearner && m.name === n.name))
        missing.push(
          own.length === 0
            ? "it has no etcd member"
            : `its etcd member ${own.map((m) => m.id).join(", ")} is ${own.some((m) => m.isLearner) ? "a learner" : "not started"}`,
        );
    }
    states.set(
      n.name,
      missing.length === 0
        ? { kind: "done" }
        : { kind: "unfinished", why: `it has kubelet.conf but ${missing.join(", ")}` },
    );
  }
  return states;
}

/**
 * undoJoin clears what an unfinished join left so kubeadm joins the node again once: the
 * node's etcd members are removed from the first control plane first, while the cluster can
 * still agree (after a reset stops that member's etcd, a two-member cluster would have lost
 * its quorum), then `kubeadm reset -f` on the node, then its Node object (kubeadm's preflight
 * refuses to join a name the cluster already has as Ready).
 */
async function undoJoin(ctx: PhaseContext, n: PlanNode, remote: Remote): Promise<void> {
  const { remote: first } = cpRemote(ctx);
  if (n.role === "control-plane")
    for (const m of membersOf(await memberListOn([first], { signal: ctx.signal }), n)) {
      ctx.log(`${n.name}: removing its etcd member ${m.id} left by the unfinished join`);
      await memberRemove(first, m.id);
    }
  await kubeadm(remote, RESET);
  await first.run(deleteNode(n.name), { timeoutMs: 60_000 });
}

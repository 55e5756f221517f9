/**
 * In-place Kubernetes upgrades, kubeadm's procedure: when the plan pins a newer release than
 * the cluster runs, the first control plane upgrades its kubeadm package and runs `kubeadm
 * upgrade plan` and `kubeadm upgrade apply`, the other control planes `kubeadm upgrade node`;
 * then each node's kubelet in turn (control planes, then workers one batch at a time, workers
 * running `kubeadm upgrade node` first): drained, kubelet and kubectl packages upgraded and
 * held, kubelet restarted, Ready at the new release, uncordoned.
 *
 * Every decision comes from what the nodes and the cluster say now (the packages installed,
 * kubeadm-config's kubernetesVersion, each Node's kubelet version, each control plane's
 * static pod manifest), so an upgrade that stopped halfway continues where it stopped, and an
 * upgraded cluster gets nothing. What kubeadm refuses (a downgrade, a skipped minor) is
 * refused right after the facts are gathered, before anything changes.
 */
import type { KubeConfig, V1Node } from "@kubernetes/client-node";
import { UserError } from "../errors.js";
import { kubeConfig, listNodes, nodeReady, poll } from "../kube/client.js";
import { drainNode, uncordonNode } from "../kube/drain.js";
import { clusterKubeconfig } from "../kube/kubeconfig.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan, PlanNode } from "../plan/types.js";
import { release, upgradeOrder, upgradePath } from "../plan/upgrade-path.js";
import type { Remote } from "../remote/types.js";
import type { NodeFacts } from "./facts.js";
import { holdPackages, installPackages, KUBELET_CONFIG } from "./install-kubernetes.js";
import { ignoreFlag, kubeadm } from "./kubeadm.js";
import { ADMIN_CONF, apiProbePrelude } from "./kubeadm-state.js";
import { change, eachNode, type Phase, type PhaseContext } from "./phase.js";

/** The annotation kubelab puts on a node it drains for an upgrade, so a resumed upgrade uncordons it. */
export const DRAINED_ANNOTATION = "kubelab.dev/drained-for";

const APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml";

/** What the cluster says about its versions. */
export interface ClusterVersions {
  /** kubeadm-config's ClusterConfiguration kubernetesVersion: the control plane's release. */
  readonly controlPlane?: string;
  /** Each registered Node: its kubelet's version, whether it is cordoned, and kubelab's drain mark. */
  readonly nodes: ReadonlyMap<
    string,
    { readonly kubelet: string; readonly unschedulable: boolean; readonly drainedFor?: string }
  >;
}

/**
 * VERSIONS_SCRIPT runs on the first control plane with admin.conf: it waits up to $1 seconds
 * for the API server (then prints `api-down`), prints `cluster VERSION` from kubeadm-config
 * and one `node NAME kubelet=V unschedulable=B drained=V` line per Node, or `unreadable` when
 * the API refuses (an init stopped before its RBAC: the init phase judges that cluster).
 */
const VERSIONS_SCRIPT = `${apiProbePrelude(10)}
k -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' | sed -n 's/^kubernetesVersion:[[:space:]]*/cluster /p'
k get nodes -o jsonpath='{range .items[*]}node {.metadata.name} kubelet={.status.nodeInfo.kubeletVersion} unschedulable={.spec.unschedulable} drained={.metadata.annotations.kubelab\\.dev/drained-for}{"\\n"}{end}' || echo unreadable`;

/** The versions probe's argv (exported for tests that script a node's answer). */
export const versionsProbe = (waitSeconds: number): string[] => [
  "sh",
  "-c",
  VERSIONS_SCRIPT,
  "kubelab-versions",
  String(waitSeconds),
];

/** parseVersions reads VERSIONS_SCRIPT's lines; undefined when the API server did not answer. */
export function parseVersions(stdout: string): ClusterVersions | undefined {
  const lines = stdout.split("\n").map((l) => l.trim());
  if (lines.includes("api-down")) return undefined;
  const nodes = new Map<string, { kubelet: string; unschedulable: boolean; drainedFor?: string }>();
  let controlPlane: string | undefined;
  for (const line of lines) {
    const words = line.split(/\s+/);
    if (words[0] === "cluster" && words[1]) controlPlane = words[1].replace(/^["']|["']$/g, "");
    if (words[0] !== "node" || !words[1]) continue;
    const field = (k: string) =>
      words
        .find((w) => w.startsWith(`${k}=`))
        ?.slice(k.length + 1)
        .trim();
    nodes.set(words[1], {
      kubelet: field("kubelet") ?? "",
      unschedulable: field("unschedulable") === "true",
      ...(field("drained") ? { drainedFor: field("drained") } : {}),
    });
  }
  return { controlPlane, nodes };
}

/** clusterVersions asks the first control plane; undefined when there is no cluster yet or its API does not answer. */
export async function clusterVersions(ctx: PhaseContext, waitSeconds: number): Promise<ClusterVersions | undefined> {
  const cp = firstControlPlane(ctx.plan);
  const remote = ctx.hosts.get(cp.name);
  if (!remote || (await remote.exec(["test", "-f", ADMIN_CONF])).code !== 0) return undefined;
  return parseVersions(await remote.run(versionsProbe(waitSeconds), { timeoutMs: (waitSeconds + 60) * 1000 }));
}

/** apiserverVersion is the release of the kube-apiserver image in a static pod manifest. */
export function apiserverVersion(manifest: string | undefined): string | undefined {
  return /image:\s*["']?\S*\/kube-apiserver:(v[0-9][^\s"']*)/.exec(manifest ?? "")?.[1];
}

/** What one node needs for the plan's release; absent fields are done. */
export interface NodeUpgrade {
  readonly node: PlanNode;
  /** Upgrade the kubeadm package, from this release. */
  readonly kubeadmPackage?: string;
  /** `kubeadm upgrade apply` (the first control plane) or `kubeadm upgrade node`, from this release. */
  readonly kubeadm?: { readonly kind: "apply" | "node"; readonly from: string };
  /** Drain, upgrade kubelet and kubectl, restart, wait Ready, uncordon: from this kubelet release. */
  readonly kubelet?: { readonly from: string; readonly packages: boolean };
  /** Only uncordon: an upgrade stopped after this node's kubelet was upgraded but before it was let back. */
  readonly uncordon?: boolean;
  /** Not a node of the cluster yet (an unfinished join): only its packages, before it joins again. */
  readonly packagesOnly?: readonly string[];
}

const PACKAGES = ["kubeadm", "kubelet", "kubectl"] as const;
const joined = (facts: NodeFacts | undefined) => facts?.files.get(KUBELET_CONFIG) !== undefined;

/** The releases each part of the cluster runs, where they were seen (for refusals). */
function seenVersions(
  plan: Plan,
  facts: ReadonlyMap<string, NodeFacts>,
  cluster: ClusterVersions | undefined,
): { where: string; version: string }[] {
  const seen: { where: string; version: string }[] = [];
  if (cluster?.controlPlane) seen.push({ where: "the control plane (kubeadm-config)", version: cluster.controlPlane });
  for (const n of plan.nodes) {
    const f = facts.get(n.name);
    if (!joined(f)) continue;
    for (const p of ["kubeadm", "kubelet"] as const) {
      const v = release(f?.packages.get(p));
      if (v) seen.push({ where: `${n.name}'s ${p} package`, version: v });
    }
    const kubelet = cluster?.nodes.get(n.name)?.kubelet;
    if (kubelet) seen.push({ where: `${n.name}'s kubelet`, version: kubelet });
  }
  return seen;
}

/**
 * checkUpgrade throws the UserError (exit 2) for a version change kubeadm refuses, naming
 * where each refused release runs and the allowed path; it changes nothing.
 */
export function checkUpgrade(
  plan: Plan,
  facts: ReadonlyMap<string, NodeFacts>,
  cluster: ClusterVersions | undefined,
): void {
  const to = plan.kubernetes.version;
  const refused = new Map<string, { fix: string; where: string[] }>();
  for (const { where, version } of seenVersions(plan, facts, cluster)) {
    const r = upgradePath(version, to);
    if (!r) continue;
    const entry = refused.get(r.message) ?? { fix: r.fix, where: [] };
    entry.where.push(`${where}: ${version}`);
    refused.set(r.message, entry);
  }
  if (refused.size === 0) return;
  const [message, first] = [...refused.entries()][0] as [string, { fix: string; where: string[] }];
  throw new UserError(`kubernetes.version ${to}: the cluster cannot be upgraded in place: ${message}`, {
    hint: first.fix,
    details: [...refused.values()].flatMap((e) => e.where).join("\n"),
  });
}

/**
 * upgradeNeeds decides, for every node of the cluster, what it still needs to run the plan's
 * release: from the nodes' facts (packages), the cluster (kubeadm-config, Nodes) and the
 * other control planes' kube-apiserver manifests. Nodes that need nothing are left out.
 */
export function upgradeNeeds(
  plan: Plan,
  facts: ReadonlyMap<string, NodeFacts>,
  cluster: ClusterVersions,
  apiservers: ReadonlyMap<string, string | undefined>,
): Map<string, NodeUpgrade> {
  const to = plan.kubernetes.version;
  const pkg = plan.kubernetes.packageVersion;
  const first = firstControlPlane(plan);
  const out = new Map<string, NodeUpgrade>();
  for (const n of plan.nodes) {
    const f = facts.get(n.name);
    if (!f || !joined(f)) continue;
    const at = (p: string) => release(f.packages.get(p)) ?? "none";
    const stale = PACKAGES.filter((p) => f.packages.get(p) !== pkg);
    const node = cluster.nodes.get(n.name);
    if (!node) {
      // kubeadm wrote the kubelet's configuration but the cluster has no such Node: the join
      // phase makes it again, with the new kubeadm.
      if (stale.length > 0) out.set(n.name, { node: n, packagesOnly: stale });
      continue;
    }
    const kubeadmPackage = f.packages.get("kubeadm") !== pkg ? at("kubeadm") : undefined;
    let kubeadmStep: NodeUpgrade["kubeadm"];
    if (n === first) {
      const cp = cluster.controlPlane ?? "unknown";
      if (cp !== to) kubeadmStep = { kind: "apply", from: cp };
    } else if (n.role === "control-plane") {
      const v = apiservers.get(n.name) ?? "unknown";
      if (v !== to || kubeadmPackage) kubeadmStep = { kind: "node", from: v };
    } else if (kubeadmPackage || f.packages.get("kubelet") !== pkg) {
      kubeadmStep = { kind: "node", from: at("kubelet") };
    }
    const packages = f.packages.get("kubelet") !== pkg || f.packages.get("kubectl") !== pkg;
    const kubelet = packages || node.kubelet !== to ? { from: node.kubelet || at("kubelet"), packages } : undefined;
    const uncordon = !kubelet && node.unschedulable && node.drainedFor !== undefined;
    if (kubeadmPackage || kubeadmStep || kubelet || uncordon)
      out.set(n.name, {
        node: n,
        ...(kubeadmPackage ? { kubeadmPackage } : {}),
        ...(kubeadmStep ? { kubeadm: kubeadmStep } : {}),
        ...(kubelet ? { kubelet } : {}),
        ...(uncordon ? { uncordon } : {}),
      });
  }
  return out;
}

/** How long the checks wait for an API server that is starting. */
const CHECK_WAIT_SECONDS = 30;

/**
 * Refuses, before anything changes, a version change kubeadm refuses: the nodes' packages
 * (facts) and, where there is a cluster whose API answers, what the cluster runs.
 */
export const upgradeCheckPhase: Phase = {
  title: "Check the Kubernetes version change",
  shouldRun: (ctx) => joined(ctx.facts.get(firstControlPlane(ctx.plan).name)),
  async run(ctx) {
    const cluster = await clusterVersions(ctx, CHECK_WAIT_SECONDS);
    if (cluster) checked.set(ctx, { cluster, changes: ctx.changes.length });
    checkUpgrade(ctx.plan, ctx.facts, cluster);
  },
};

/**
 * What the check read of the cluster in this run, and how many changes had been made then:
 * the upgrade phase reads it again only when something changed since (a second `up` on a
 * cluster at the plan's release asks once).
 */
const checked = new WeakMap<PhaseContext, { readonly cluster: ClusterVersions; readonly changes: number }>();

/** The host's view of the cluster, for drains and waits (read once, when the first is needed). */
function hostKubeConfig(ctx: PhaseContext, cp: Remote): () => Promise<KubeConfig> {
  let kc: Promise<KubeConfig> | undefined;
  return () => {
    kc ??= cp.readFile(ADMIN_CONF).then((admin) => {
      if (admin === undefined) throw new Error(`${cp.node}: ${ADMIN_CONF} is missing`);
      return kubeConfig(clusterKubeconfig(admin, ctx.plan));
    });
    return kc;
  };
}

/** kubectl on the first control plane, as the cluster's admin. */
const kubectl = (cp: Remote, args: string[]) =>
  cp.run(["kubectl", "--kubeconfig", ADMIN_CONF, "--request-timeout=30s", ...args], { timeoutMs: 60_000 });

/** waitUpgraded waits until the Node is Ready and its kubelet reports `version`. */
function waitUpgraded(kc: KubeConfig, node: string, version: string, ctx: PhaseContext): Promise<void> {
  return poll(
    `${node} Ready at ${version}`,
    async () => {
      const n = (await listNodes(kc)).find((x: V1Node) => x.metadata?.name === node);
      const kubelet = n?.status?.nodeInfo?.kubeletVersion;
      const ready = n ? nodeReady(n) : "not registered";
      return kubelet === version && ready === "True"
        ? { done: true as const, value: undefined }
        : { done: false as const, pending: `kubelet ${kubelet ?? "unknown"}, Ready ${ready}` };
    },
    { timeoutMs: ctx.upgrade?.readyTimeoutMs ?? 300_000, intervalMs: 2_000, signal: ctx.signal },
  );
}

/**
 * Upgrade Kubernetes in place, node by node, where the cluster runs an older release than
 * the plan's. Runs after kubeadm init (the cluster exists) and before kubeadm join (new
 * nodes join the upgraded control plane with the new kubeadm).
 */
export const upgradeKubernetesPhase: Phase = {
  title: "Upgrade Kubernetes (kubeadm upgrade)",
  shouldRun: (ctx) => joined(ctx.facts.get(firstControlPlane(ctx.plan).name)),
  async run(ctx) {
    const plan = ctx.plan;
    const to = plan.kubernetes.version;
    const first = firstControlPlane(plan);
    const cp = ctx.hosts.get(first.name);
    if (!cp) throw new Error(`${first.name}: no connection`);
    const seen = checked.get(ctx);
    const cluster = seen && seen.changes === ctx.changes.length ? seen.cluster : await clusterVersions(ctx, 90);
    if (!cluster) return;
    if (!cluster.controlPlane)
      throw new UserError(`${first.name}: the cluster's kubeadm-config names no kubernetesVersion`, {
        exitCode: 1,
        hint: `look at it: kubelab ssh ${first.name} -- kubectl --kubeconfig ${ADMIN_CONF} -n kube-system get configmap kubeadm-config -o yaml`,
      });
    checkUpgrade(plan, ctx.facts, cluster);
    const apiservers = new Map<string, string | undefined>();
    await eachNode(
      ctx,
      async (n, remote) => {
        apiservers.set(n.name, apiserverVersion(await remote.readFile(APISERVER_MANIFEST)));
      },
      { only: (n) => n.role === "control-plane" && n !== first },
    );
    const needs = upgradeNeeds(plan, ctx.facts, cluster, apiservers);
    if (needs.size === 0) return;
    ctx.log(`upgrade: the control plane runs ${cluster.controlPlane}, the plan ${to}`);
    const kc = hostKubeConfig(ctx, cp);
    const drainable = plan.nodes.length > 1;
    const remoteOf = (n: PlanNode) => ctx.hosts.get(n.name) as Remote;
    const factsOf = (n: PlanNode) => ctx.facts.get(n.name) as NodeFacts;

    const kubeadmPackage = (u: NodeUpgrade) =>
      u.kubeadmPackage
        ? change(
            ctx,
            u.node.name,
            `upgrade the kubeadm package ${u.kubeadmPackage} -> ${to} (held again)`,
            async () => {
              await installPackages(ctx, remoteOf(u.node), factsOf(u.node), ["kubeadm"]);
              await holdPackages(remoteOf(u.node));
            },
          )
        : Promise.resolve();
    const kubeadmNode = (u: NodeUpgrade) =>
      u.kubeadm?.kind === "node"
        ? change(ctx, u.node.name, `kubeadm upgrade node (${u.node.role}, ${u.kubeadm.from} -> ${to})`, () =>
            kubeadm(remoteOf(u.node), ["kubeadm", "upgrade", "node", ...ignoreFlag(ctx, u.node.name)]),
          )
        : Promise.resolve();

    // 1. The first control plane: kubeadm upgrade apply.
    const head = needs.get(first.name);
    if (head) {
      await kubeadmPackage(head);
      if (head.kubeadm?.kind === "apply") {
        await change(ctx, first.name, `kubeadm upgrade plan (the control plane runs ${head.kubeadm.from})`, () =>
          kubeadm(cp, ["kubeadm", "upgrade", "plan", ...ignoreFlag(ctx, first.name)]),
        );
        await change(
          ctx,
          first.name,
          `kubeadm upgrade apply -y ${to} (control plane ${head.kubeadm.from} -> ${to})`,
          () => kubeadm(cp, ["kubeadm", "upgrade", "apply", "-y", to, ...ignoreFlag(ctx, first.name)]),
        );
      }
    }
    const order = upgradeOrder(plan, ctx.upgrade?.maxUnavailable ?? 1);
    // 2. The other control planes, one at a time: kubeadm upgrade node.
    for (const n of order.controlPlanes) {
      const u = needs.get(n.name);
      if (!u) continue;
      await kubeadmPackage(u);
      await kubeadmNode(u);
    }
    // 3. Kubelets: control planes one at a time, then workers a batch at a time.
    const kubelet = async (u: NodeUpgrade) => {
      const name = u.node.name;
      if (u.node.role === "worker") {
        await kubeadmPackage(u);
        await kubeadmNode(u);
      }
      if (u.kubelet) {
        const from = u.kubelet.from;
        if (drainable)
          await change(ctx, name, `drain (kubelet ${from} -> ${to})`, async () => {
            await kubectl(cp, ["annotate", "node", name, `${DRAINED_ANNOTATION}=${to}`, "--overwrite"]);
            await drainNode(await kc(), name, {
              timeoutMs: ctx.upgrade?.drainTimeoutMs ?? 300_000,
              signal: ctx.signal,
              log: ctx.log,
            });
          });
        if (u.kubelet.packages)
          await change(
            ctx,
            name,
            `upgrade the kubelet and kubectl packages ${from} -> ${to} (held again)`,
            async () => {
              await installPackages(ctx, remoteOf(u.node), factsOf(u.node), ["kubelet", "kubectl"]);
              await holdPackages(remoteOf(u.node));
            },
          );
        await change(ctx, name, `restart kubelet and wait until the node is Ready at ${to}`, async () => {
          await remoteOf(u.node).run(["systemctl", "daemon-reload"]);
          await remoteOf(u.node).run(["systemctl", "restart", "kubelet"]);
          await waitUpgraded(await kc(), name, to, ctx);
        });
      }
      if ((u.kubelet && drainable) || u.uncordon)
        await change(ctx, name, "uncordon", async () => {
          await uncordonNode(await kc(), name, { signal: ctx.signal });
          await kubectl(cp, ["annotate", "node", name, `${DRAINED_ANNOTATION}-`]);
        });
    };
    for (const batch of order.kubelets) {
      const work = batch.filter((n) => needs.has(n.name) && !needs.get(n.name)?.packagesOnly);
      if (work.length === 0) continue;
      await eachNode(ctx, (n) => kubelet(needs.get(n.name) as NodeUpgrade), {
        only: (n) => work.includes(n),
        concurrency: work.length,
      });
    }
    // 4. Nodes whose join did not finish: the new packages, then the join phase joins them again.
    await eachNode(
      ctx,
      async (n, remote, facts) => {
        const only = needs.get(n.name)?.packagesOnly ?? [];
        await change(
          ctx,
          n.name,
          `install ${only.map((p) => `${p}=${plan.kubernetes.packageVersion}`).join(" ")} (not yet a node of the cluster)`,
          async () => {
            await installPackages(ctx, remote, facts, only);
            await holdPackages(remote);
          },
        );
      },
      { only: (n) => needs.get(n.name)?.packagesOnly !== undefined },
    );
  },
};

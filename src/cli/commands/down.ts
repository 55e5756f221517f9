import { rm } from "node:fs/promises";
import { forgetKubeconfig } from "../../cluster/kubeconfig.js";
import { resetNodes } from "../../cluster/reset.js";
import { listSnapshots, snapshotsDir } from "../../cluster/snapshot.js";
import { checkKubeconfig, contextName, userKubeconfigPath } from "../../kube/kubeconfig.js";
import { forgetAppliedNodes } from "../../plan/applied-nodes.js";
import { clusterDir, removeCredentials } from "../../plan/cluster-dir.js";
import { clusterIndexPath, forgetCluster } from "../../plan/cluster-index.js";
import type { Plan } from "../../plan/types.js";
import { providerFor } from "../../providers/index.js";
import type { MachineProvider } from "../../providers/types.js";
import type { ClusterChoice, GoneCluster } from "../cluster-option.js";
import { confirmOnTerminal } from "../confirm.js";
import { type Io, note } from "../io.js";
import { locked } from "./locked.js";
import { loadPlanOrFail } from "./validated.js";

export interface DownOptions extends ClusterChoice {
  /** Set by --name for a cluster whose file is gone: only its entry in the index can go. */
  gone?: GoneCluster;
  force?: boolean;
  /** Keep the cluster directory's SSH key and kubeconfig. */
  keepFiles?: boolean;
}

/** confirm asks on the terminal; without one, only --force may proceed. */
const confirm = (question: string) => confirmOnTerminal(question, "kubelab down removes the cluster");

/** What down reaches outside the cluster file; tests pass their own. */
export interface DownDeps {
  readonly providerFor: (plan: Plan) => Promise<MachineProvider>;
  readonly confirm: (question: string) => Promise<boolean>;
  /** The user's kubeconfig, whose context for the cluster goes too. */
  readonly kubeconfig: () => string;
  /** The cluster index, whose entry for the cluster goes too. */
  readonly index: () => string;
}

const realDeps: DownDeps = {
  providerFor,
  confirm,
  kubeconfig: () => userKubeconfigPath(),
  index: () => clusterIndexPath(),
};

/**
 * down removes the cluster: the machines kubelab made (and everything the provider made for
 * them), or, on existing hosts (ssh provider), the cluster only (kubeadm reset); then its
 * context from the user's kubeconfig, and (unless `keepFiles`) the cluster directory's SSH
 * key and kubeconfig.
 */
export async function down(opts: DownOptions, io: Io, deps: DownDeps = realDeps): Promise<void> {
  if (opts.gone) {
    const { name, clusterDir: dir, problem } = opts.gone;
    await forgetCluster(deps.index(), name, dir);
    io.out(`cluster ${name}: ${problem}, so its machines cannot be looked up; removed it from the list of clusters`);
    return;
  }
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = clusterDir(plan, opts.file, opts.cwd);
  return locked(plan, dir, "down", io, () => downIn(plan, dir, opts, io, deps));
}

/** downIn is down with the cluster locked. */
async function downIn(plan: Plan, dir: string, opts: DownOptions, io: Io, deps: DownDeps): Promise<void> {
  // The context is removed last: a kubeconfig kubelab cannot change stops down before anything goes.
  await checkKubeconfig(deps.kubeconfig());
  const provider = await deps.providerFor(plan);
  const ctx = { clusterDir: dir, log: (l: string) => io.err(`   ${l}`), signal: io.signal };
  const forget = async () => {
    await forgetCluster(deps.index(), plan.name, ctx.clusterDir);
    // The nodes kubelab applied are gone (or reset): none is left to remove later.
    await forgetAppliedNodes(ctx.clusterDir);
    const file = deps.kubeconfig();
    const context = (await forgetKubeconfig(plan, file)) ? `; context ${contextName(plan)} removed from ${file}` : "";
    // The key and the admin kubeconfig outlive nothing they were for; --keep-files keeps them.
    const removed = opts.keepFiles ? [] : await removeCredentials(ctx.clusterDir);
    return removed.length > 0 ? `${context}; removed ${removed.join(", ")}` : context;
  };
  // Answering no is a choice, not a failure: exit 0 and say what stayed.
  if (plan.provider.name === "ssh") {
    const names = plan.nodes.map((n) => n.name).join(", ");
    if (
      !opts.force &&
      !(await deps.confirm(
        `Reset Kubernetes (kubeadm reset) on the existing hosts of cluster ${plan.name} (${names})?`,
      ))
    ) {
      note(io, `cluster ${plan.name}: nothing reset`);
      return;
    }
    const reset = await resetNodes(plan, provider, ctx.clusterDir, ctx.log, io.signal);
    note(
      io,
      `cluster ${plan.name}: ${reset.length > 0 ? `kubeadm reset on ${reset.join(", ")}` : "no node had a cluster"}; the hosts stay${await forget()}`,
    );
    return;
  }
  const machines = (await provider.list(plan, ctx)).filter((m) => m.state !== "absent");
  const snapshots = await listSnapshots(ctx.clusterDir);
  if (
    machines.length > 0 &&
    !opts.force &&
    !(await deps.confirm(
      `Remove ${machines.length} machines of cluster ${plan.name} (${machines.map((m) => m.node).join(", ")})${snapshots.length > 0 ? ` and its snapshots (${snapshots.map((x) => x.name).join(", ")})` : ""}?`,
    ))
  ) {
    note(io, `cluster ${plan.name}: nothing removed`);
    return;
  }
  // Each snapshot first, by the provider that took it: a hypervisor may refuse to remove a VM
  // that still has snapshots. A failure is noted; destroy removes what is left of them.
  if (machines.length > 0)
    for (const s of snapshots)
      await provider.snapshot
        ?.delete(
          plan,
          s.name,
          s.nodes.map((n) => n.name),
          ctx,
        )
        .catch((e: unknown) => ctx.log(`snapshot ${s.name}: ${e instanceof Error ? e.message : String(e)}`));
  // destroy runs even without machines: it also removes what the provider left beside them.
  await provider.destroy(plan, ctx);
  // The provider took the nodes' copies with the machines: kubelab's part of each snapshot goes too.
  await rm(snapshotsDir(ctx.clusterDir), { recursive: true, force: true });
  const removed =
    machines.length > 0
      ? `cluster ${plan.name}: machines removed`
      : `nothing to remove: no machines of cluster ${plan.name}`;
  note(io, `${removed}${await forget()}`);
}

import { spawn } from "node:child_process";
import { sshArgs } from "../../cluster/ssh-args.js";
import { UserError } from "../../errors.js";
import { clusterDir, clusterPaths } from "../../plan/cluster-dir.js";
import { providerFor } from "../../providers/index.js";
import { checkKnownHosts } from "../../remote/known-hosts.js";
import type { ClusterChoice } from "../cluster-option.js";
import type { Io } from "../io.js";
import { loadPlanOrFail } from "./validated.js";

export interface SshOptions extends ClusterChoice {
  /** Refuse a host whose key is not in the cluster's known_hosts yet (no trust on first use). */
  strictHostKeys?: boolean;
}

/**
 * ssh opens a shell on a node (or runs a command there) with the OpenSSH client and the
 * cluster's key and known_hosts (for a jump host too); it returns the remote command's exit code.
 */
export async function ssh(node: string, command: string[], opts: SshOptions, io: Io): Promise<number> {
  const plan = await loadPlanOrFail(opts.file, io, opts.cwd);
  const dir = clusterDir(plan, opts.file, opts.cwd);
  const machines = await (await providerFor(plan)).list(plan, { clusterDir: dir, log: () => {} });
  const machine = machines.find((m) => m.node === node);
  if (!machine)
    throw new UserError(`no node ${node} in cluster ${plan.name}`, {
      hint: `nodes: ${plan.nodes.map((n) => n.name).join(", ")}`,
    });
  if (!machine.endpoint || machine.state !== "running")
    throw new UserError(`${node} is ${machine.state}`, { hint: "run kubelab up", exitCode: 1 });
  // OpenSSH would skip a corrupted file's lines and append to it: kubelab's own check refuses it first.
  await checkKnownHosts(clusterPaths(dir).knownHosts);
  const args = sshArgs(machine.endpoint, dir, command, { strictHostKeys: opts.strictHostKeys });
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("ssh", args, { stdio: "inherit" });
    child.on("error", (e) =>
      reject(new UserError(`cannot run ssh: ${e.message}`, { hint: "install the OpenSSH client", exitCode: 1 })),
    );
    child.on("close", (c) => resolve(c ?? 1));
  });
  return code;
}

/**
 * What an end-to-end scenario of the kubelab CLI on real machines sets up and always takes down.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { clusterDir } from "../../src/plan/cluster-dir.js";
import type { Plan } from "../../src/plan/types.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import { connectAll, hostKeyPolicy } from "../../src/remote/connect-all.js";
import type { Remote } from "../../src/remote/types.js";
import { kubelab } from "./cli.js";
import { stateHome } from "./tmp.js";

/** A user's kubeconfig with another cluster's context, which kubelab must keep whatever happens. */
export const OTHER_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: other, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: other, user: {token: x}}]
contexts: [{name: other, context: {cluster: other, user: other}}]
current-context: other
`;

/** The scenario's files, and the SSH connections it opens to nodes (closed for it). */
export interface CliScenario {
  readonly dir: string;
  /** Where the test writes its cluster file. */
  readonly file: string;
  /** The user kubeconfig `up` merges into: KUBECONFIG points here, never at ~/.kube/config. */
  readonly kubeconfig: string;
  readonly hosts: Map<string, Remote>;
}

/**
 * cliScenario makes a temporary directory named after `prefix` and points KUBECONFIG into it
 * (and XDG_STATE_HOME at another, for the cluster index `up` writes).
 * t.after closes the connections in `hosts`, runs `kubelab down --force` on the file (the
 * machines, their bridge and processes go even when a step failed), restores KUBECONFIG and
 * removes the directory.
 */
export async function cliScenario(t: Pick<TestContext, "after">, prefix: string): Promise<CliScenario> {
  const dir = await mkdtemp(join(tmpdir(), `kubelab-${prefix}-`));
  const file = join(dir, "kubelab.yaml");
  const kubeconfig = join(dir, "user-kubeconfig");
  const savedEnv = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  const hosts = new Map<string, Remote>();
  t.after(async () => {
    // Closed before the machines go: a connection to a machine that is gone never finishes closing.
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => {})));
    await kubelab("down", "-f", file, "--force");
    if (savedEnv === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedEnv;
    await rm(dir, { recursive: true, force: true });
  });
  // After hooks run in the order they were added: the index stays redirected for `down` above.
  await stateHome(t);
  return { dir, file, kubeconfig, hosts };
}

/**
 * connectNodes opens SSH connections to the scenario's nspawn machines (as `kubelab ssh` would,
 * with the cluster directory's key and known_hosts) into `scenario.hosts`, which cliScenario
 * closes at the end.
 */
export async function connectNodes(plan: Plan, scenario: Pick<CliScenario, "file" | "hosts">): Promise<void> {
  const dir = clusterDir(plan, scenario.file);
  const machines = await nspawnProvider.list(plan, { clusterDir: dir, log: () => {} });
  for (const [k, v] of await connectAll(plan, machines, { clusterDir: dir, policy: hostKeyPolicy(), concurrency: 3 }))
    scenario.hosts.set(k, v);
}

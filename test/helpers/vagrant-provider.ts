// What the vagrant provider tests start from: a project directory holding an empty cluster
// directory, a host check that passes, and machine states as pairs to compare.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { ProviderContext } from "../../src/providers/types.js";
import { tempDir } from "./tmp.js";

/**
 * project makes a project directory with an empty cluster directory in it (removed after the
 * test); vagrant gets a VAGRANT_HOME of its own, and the provider's log lines are kept.
 */
export async function project(t: TestContext) {
  const root = await tempDir(t, "kubelab-vagrant-provider-");
  const dir = join(root, ".kubelab", "lab");
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  const ctx: ProviderContext = { clusterDir: dir, log: (l) => lines.push(l) };
  return { root, dir, ctx, lines, env: { ...process.env, VAGRANT_HOME: join(root, "vagrant.d") } };
}

/** noHostCheck is a host check that finds no problem. */
export const noHostCheck = async () => [];

/** states is each machine as a [node, state] pair. */
export const states = (machines: readonly { node: string; state: string }[]) => machines.map((m) => [m.node, m.state]);

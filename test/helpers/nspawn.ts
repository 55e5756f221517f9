/**
 * Helpers for tests that boot real systemd-nspawn nodes (src/providers/nspawn). They need
 * root, systemd-nspawn and debootstrap (scripts/dev-tools/install-deps.sh installs them).
 */
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { TestContext } from "node:test";
import type { Plan } from "../../src/plan/types.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import type { Machine, ProviderContext } from "../../src/providers/types.js";

function onPath(name: string): boolean {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  return dirs.some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * requireNspawn returns true when real nodes can be booted here. Otherwise the test is
 * skipped with the reason, except under CI=true, where it throws: CI must never skip silently.
 */
export function requireNspawn(t: TestContext): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const tool of ["systemd-nspawn", "debootstrap", "ip", "ssh"]) if (!onPath(tool)) missing.push(tool);
  if (missing.length === 0) return true;
  const reason = `nspawn nodes need ${missing.join(", ")}: run scripts/dev-tools/install-deps.sh as root`;
  if (process.env.CI === "true") throw new Error(`${reason} (CI=true, so not skipping)`);
  t.skip(reason);
  return false;
}

export interface ClusterHandle {
  readonly plan: Plan;
  readonly ctx: ProviderContext;
  /** What create() returned. */
  readonly machines: Machine[];
  /** Provider log lines so far. */
  readonly logLines: string[];
}

/**
 * withCluster creates the plan's machines and runs fn. The machines are ALWAYS destroyed in
 * t.after (registered before create, so a half-made cluster goes too), with the temporary
 * cluster directory (keys).
 */
export async function withCluster(
  t: TestContext,
  plan: Plan,
  fn: (cluster: ClusterHandle) => Promise<void>,
): Promise<void> {
  const clusterDir = await mkdtemp(join(tmpdir(), `kubelab-${plan.name}-`));
  const logLines: string[] = [];
  const ctx: ProviderContext = { clusterDir, log: (line) => logLines.push(line) };
  t.after(async () => {
    try {
      await nspawnProvider.destroy(plan, ctx);
    } finally {
      await rm(clusterDir, { recursive: true, force: true });
    }
  });
  const machines = await nspawnProvider.create(plan, ctx);
  await fn({ plan, ctx, machines, logLines });
}

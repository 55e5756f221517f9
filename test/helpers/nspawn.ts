/**
 * Helpers for tests that boot real systemd-nspawn nodes (src/providers/nspawn). They need
 * root, systemd-nspawn and debootstrap (scripts/dev-tools/install-deps.sh installs them).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import type { Machine, ProviderContext } from "../../src/providers/types.js";
import { outsideHermetic, unavailable } from "./prereq.js";
import { findOnPath } from "./tools.js";

/**
 * requireNspawn returns true when real nodes can be booted here. Otherwise the test is
 * skipped with the reason, except under CI=true, where it throws: CI must never skip silently.
 */
export function requireNspawn(t: TestContext): boolean {
  outsideHermetic("root and systemd-nspawn nodes");
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const tool of ["systemd-nspawn", "debootstrap", "ip", "ssh"]) if (!findOnPath(tool)) missing.push(tool);
  if (missing.length === 0) return true;
  unavailable(t, `nspawn nodes need ${missing.join(", ")}`, "run scripts/dev-tools/install-deps.sh as root");
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

/**
 * The addons section for clusters whose tests need no addon: only kubeadm's images are built
 * here, and Calico comes with the addons.
 */
export const NO_ADDONS = {
  cni: { plugin: "none" },
  metallb: { enabled: false },
  ui: "none",
  linkerd: { enabled: false },
};

/**
 * freeThirdOctet picks, at random, a /24 under `<first two octets>.0.0/16` that no interface
 * of this host has an address in, so tests running side by side never share a subnet.
 */
export function freeThirdOctet(firstTwo: string): number {
  const used = execFileSync("ip", ["-o", "-4", "addr", "show"]).toString();
  const free = Array.from({ length: 256 }, (_, i) => i).filter((i) => !used.includes(` ${firstTwo}.${i}.`));
  const third = free[Math.floor(Math.random() * free.length)];
  if (third === undefined) throw new Error(`no free /24 left in ${firstTwo}.0.0/16 on this host`);
  return third;
}

/**
 * nspawnTestCluster is a cluster file (and its plan) for tests on real machines: a random
 * name, and a /24 under 10.231.0.0/16 that no interface on this host uses yet, so tests
 * running side by side never share a subnet. Only addresses on the test bridge get traffic.
 * `addons` replaces the addons section (default: every addon, MetalLB's pool on the bridge, and
 * Calico over VXLAN: kernels built without IPIP, like this project's test machines', refuse the
 * default ipip before kubeadm).
 */
export function nspawnTestCluster(
  prefix: string,
  nodes: { workers: number; controlPlanes?: number } = { workers: 2 },
  opts: { addons?: Record<string, unknown> } = {},
): { raw: Record<string, unknown>; plan: Plan } {
  const third = freeThirdOctet("10.231");
  const raw = {
    apiVersion: "kubelab.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: `${prefix}${Math.floor(Math.random() * 1e6)}` },
    provider: { name: "nspawn" },
    nodes: [
      { name: "master-{n}", role: "control-plane", count: nodes.controlPlanes ?? 1 },
      ...(nodes.workers > 0 ? [{ name: "worker-{n}", role: "worker", count: nodes.workers }] : []),
    ],
    network: { cidr: `10.231.${third}.0/24` },
    // More than one control plane needs an endpoint; the first control plane's address serves.
    ...((nodes.controlPlanes ?? 1) > 1 ? { kubernetes: { controlPlaneEndpoint: `10.231.${third}.11:6443` } } : {}),
    addons: opts.addons ?? {
      cni: { encapsulation: "vxlan" },
      metallb: { pools: [`10.231.${third}.200-10.231.${third}.210`] },
    },
  };
  const result = validateCluster(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return { raw, plan: result.plan };
}

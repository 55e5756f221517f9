/**
 * Host cgroups for nspawn nodes.
 *
 * When PID 1 of the host is systemd, nspawn registers the node with systemd-machined, which
 * puts it in its own scope (machine-<name>.scope): nothing to do here.
 *
 * When it is not (containers, CI sandboxes, WSL-like hosts), `--register=no --keep-unit`
 * makes nspawn use the cgroup it was started from as the node's cgroup. Started from ours,
 * every node would share one cgroup (and ours). So each node gets its own directory,
 * `<hierarchy>/kubelab/<machine>`, in every hierarchy of the host (each cgroup v1
 * controller, the name=systemd one, and the unified cgroup2 tree), and the launcher moves
 * itself there before exec'ing nspawn (machine.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readdir, readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { errno, readMounts, sleep } from "./host.js";

/** How the host runs cgroups. */
export type CgroupMode = "legacy" | "hybrid" | "unified";

export interface HostMode {
  /** PID 1 is systemd: register nodes with machined (`--register=yes`), no manual cgroups. */
  readonly systemdInit: boolean;
  /** legacy: v1 only; hybrid: v1 controllers + cgroup2 at /sys/fs/cgroup/unified; unified: cgroup2 only. */
  readonly cgroup: CgroupMode;
}

/** detectHost tells how this host runs init and cgroups. */
export function detectHost(): HostMode {
  let comm = "";
  try {
    comm = readFileSync("/proc/1/comm", "utf8").trim();
  } catch {}
  const mounts = readMounts();
  const root = mounts.filter((m) => m.mountPoint === "/sys/fs/cgroup").at(-1);
  const cgroup: CgroupMode =
    root?.fsType === "cgroup2"
      ? "unified"
      : mounts.some((m) => m.fsType === "cgroup2" && m.mountPoint === "/sys/fs/cgroup/unified")
        ? "hybrid"
        : "legacy";
  return { systemdInit: comm === "systemd", cgroup };
}

interface Hierarchy {
  readonly path: string;
  readonly v2: boolean;
}

function cgroupMounts(mode: HostMode): Hierarchy[] {
  const seen = new Map<string, Hierarchy>();
  for (const m of readMounts()) {
    if (m.fsType !== "cgroup" && m.fsType !== "cgroup2") continue;
    if (!m.mountPoint.startsWith("/sys/fs/cgroup")) continue;
    if (mode.cgroup === "unified" && m.fsType !== "cgroup2") continue;
    seen.set(m.mountPoint, { path: m.mountPoint, v2: m.fsType === "cgroup2" });
  }
  return [...seen.values()];
}

/** hierarchies lists the host's cgroup mount points under /sys/fs/cgroup (v1 ones and the cgroup2 one). */
export function hierarchies(mode: HostMode): string[] {
  return cgroupMounts(mode).map((h) => h.path);
}

/** The node's cgroup directory in one hierarchy. */
export function nodeCgroup(hierarchy: string, machine: string): string {
  return join(hierarchy, "kubelab", machine);
}

/** cgroup v1 cpuset: a new group has no CPUs or memory nodes and accepts no task until given its parent's. */
function inheritCpuset(dir: string, parent: string): void {
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    let mine = "";
    try {
      mine = readFileSync(join(dir, file), "utf8").trim();
    } catch {
      return; // not a cpuset hierarchy
    }
    if (mine === "") writeFileSync(join(dir, file), readFileSync(join(parent, file), "utf8").trim());
  }
}

/** cgroup2: let a group's children use every controller the group has. */
function delegateControllers(dir: string): void {
  try {
    const available = readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean);
    if (available.length > 0)
      writeFileSync(join(dir, "cgroup.subtree_control"), available.map((c) => `+${c}`).join(" "));
  } catch {
    // Best effort: a controller that cannot be delegated (e.g. a process in the group) stays off.
  }
}

/**
 * prepareNodeCgroups creates the node's cgroup in every hierarchy and returns the
 * directories the launcher must join (empty when machined does this: systemd hosts).
 */
export function prepareNodeCgroups(mode: HostMode, machine: string): string[] {
  if (mode.systemdInit) return [];
  const dirs: string[] = [];
  for (const { path: h, v2 } of cgroupMounts(mode)) {
    const parent = join(h, "kubelab");
    const dir = nodeCgroup(h, machine);
    mkdirSync(dir, { recursive: true });
    if (!v2) {
      inheritCpuset(parent, h);
      inheritCpuset(dir, parent);
    } else if (mode.cgroup === "unified") {
      // On a cgroup2-only host the node needs controllers (kind does the same); in the
      // hybrid layout the unified tree has none to give.
      delegateControllers(h);
      delegateControllers(parent);
    }
    dirs.push(dir);
  }
  return dirs;
}

/** pids returns every process in the node's cgroups (all hierarchies, all subgroups). */
export async function nodeCgroupPids(mode: HostMode, machine: string): Promise<number[]> {
  const found = new Set<number>();
  const walk = async (dir: string): Promise<void> => {
    const procs = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
    for (const p of procs.split("\n")) if (p) found.add(Number(p));
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  for (const h of hierarchies(mode)) await walk(nodeCgroup(h, machine));
  return [...found];
}

/** rmdirTree removes a cgroup directory and its subgroups, deepest first. */
async function rmdirTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err) => {
    if (errno(err) === "ENOENT") return undefined;
    throw err;
  });
  if (!entries) return;
  for (const e of entries) if (e.isDirectory()) await rmdirTree(join(dir, e.name));
  await rmdir(dir).catch((err) => {
    if (errno(err) !== "ENOENT") throw err;
  });
}

/**
 * removeNodeCgroups removes the node's cgroups in every hierarchy (and `kubelab/` when it is
 * left empty). Processes that are still exiting keep a group busy for a moment: retried.
 */
export async function removeNodeCgroups(mode: HostMode, machine: string, timeoutMs = 10_000): Promise<void> {
  if (mode.systemdInit) return;
  const deadline = Date.now() + timeoutMs;
  for (const h of hierarchies(mode)) {
    for (;;) {
      try {
        await rmdirTree(nodeCgroup(h, machine));
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`cannot remove cgroup ${nodeCgroup(h, machine)}: ${String(err)}`);
        await sleep(200);
      }
    }
    // Other clusters' nodes may still be there: then `kubelab/` stays (ENOTEMPTY/EBUSY).
    await rmdir(join(h, "kubelab")).catch(() => {});
  }
}

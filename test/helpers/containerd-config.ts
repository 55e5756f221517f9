// The containerd config tests' vocabulary: the default plan switched to each containerd line
// and cgroup driver, and where each config schema keeps the CRI settings kubelab writes.
import { loadCluster } from "../../src/plan/load-cluster.js";
import type { Plan } from "../../src/plan/types.js";
import type { NodeEnvironment } from "../../src/render/node-environment.js";

/** A container node (nspawn) on a cgroup v2 host: what turns on restrict_oom_score_adj. */
export const CONTAINER: NodeEnvironment = { container: true, cgroupV1: false };

/** defaultPlan is the plan of the cluster file kubelab finds here (the embedded default). */
export async function defaultPlan(): Promise<Plan> {
  const r = await loadCluster(undefined);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

/** Line is a containerd release line kubelab configures. */
export type Line = "2.x" | "1.7";
/** Driver is a cgroup driver shared by runc and kubelet. */
export type Driver = "systemd" | "cgroupfs";

/** variant is `plan` switched to another containerd line and cgroup driver (as buildPlan would). */
export function variant(plan: Plan, line: Line, driver: Driver, pause = plan.kubernetes.images.pause): Plan {
  return {
    ...plan,
    kubernetes: { ...plan.kubernetes, images: { ...plan.kubernetes.images, pause } },
    containerd: { ...plan.containerd, line, configVersion: line === "2.x" ? 3 : 2, cgroupDriver: driver },
  };
}

/** at walks a parsed TOML/YAML tree; undefined when any step is missing. */
export function at(tree: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined),
    tree,
  );
}

/** KEYS says where each config schema keeps the CRI settings kubelab writes. */
export const KEYS = {
  "2.x": {
    runc: ["plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "runc"],
    sandbox: ["plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"],
    oom: ["plugins", "io.containerd.cri.v1.runtime", "restrict_oom_score_adj"],
    cniBin: ["plugins", "io.containerd.cri.v1.runtime", "cni", "bin_dirs"],
    cniBinValue: ["/opt/cni/bin"] as unknown,
  },
  "1.7": {
    runc: ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc"],
    sandbox: ["plugins", "io.containerd.grpc.v1.cri", "sandbox_image"],
    oom: ["plugins", "io.containerd.grpc.v1.cri", "restrict_oom_score_adj"],
    cniBin: ["plugins", "io.containerd.grpc.v1.cri", "cni", "bin_dir"],
    cniBinValue: "/opt/cni/bin" as unknown,
  },
} as const;

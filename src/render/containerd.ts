/**
 * containerd's `/etc/containerd/config.toml`, built as a typed object from the plan and
 * serialised with smol-toml.
 *
 * It is never derived from `containerd config default` + `sed`: that output carries
 * `SystemdCgroup = false` while kubelet uses `systemd`, and a sed that misses (the table moved
 * between schema 2 and 3) leaves the control plane crash-looping after `kubeadm init`
 * (kubernetes/kubernetes#110177, containerd#4203, kubeadm#2449).
 * Only the keys kubelab cares about are written; containerd merges them over its defaults,
 * so `containerd config dump` on the node is the evidence of what is in effect.
 */
import { stringify } from "smol-toml";
import type { Plan } from "../plan/types.js";
import { type NodeEnvironment, PLAIN_NODE } from "./node-environment.js";
import type { RenderedFile } from "./types.js";

/** Where containerd reads its configuration. */
export const CONTAINERD_CONFIG_PATH = "/etc/containerd/config.toml";
/** The CRI socket kubelet and kubeadm talk to. */
export const CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock";
/**
 * Where CNI plugins (Calico's installer among them) put binaries and configs. Set
 * explicitly: Debian's containerd package ships a config.toml with `bin_dir = "/usr/lib/cni"`,
 * which stays empty, and pods then hang in ContainerCreating with
 * `failed to find plugin "loopback"`.
 */
const CNI_BIN_DIR = "/opt/cni/bin";
const CNI_CONF_DIR = "/etc/cni/net.d";

/**
 * kubeletCgroupDriver is the cgroup driver kubelet must use. It is the same plan setting
 * that sets runc's `SystemdCgroup`, so the two can never disagree: the kubeadm renderer
 * takes kubelet's `cgroupDriver` from here, not from its own default.
 */
export function kubeletCgroupDriver(plan: Plan): "systemd" | "cgroupfs" {
  return plan.containerd.cgroupDriver;
}

/** The runc runtime table, identical in both schemas apart from where it sits. */
function runcRuntime(plan: Plan): Record<string, unknown> {
  return {
    runtime_type: "io.containerd.runc.v2",
    options: { SystemdCgroup: kubeletCgroupDriver(plan) === "systemd" },
  };
}

/**
 * containerdConfig builds the config object for the plan's containerd line.
 *
 * containerd 2.x (`configVersion` 3): the CRI plugin is split into
 * `io.containerd.cri.v1.images` (the sandbox image is `pinned_images.sandbox`) and
 * `io.containerd.cri.v1.runtime` (runtimes, and CNI as the `bin_dirs` list: new in 2.1,
 * where the scalar `bin_dir` was deprecated; 2.4 removes `bin_dir`). Schema 3 is read by
 * every 2.x release; 2.3 introduced `version = 4` and migrates 3 in memory at start (with a
 * warning). 4 only moved the grpc/ttrpc server settings, which kubelab does not set.
 *
 * containerd 1.7 (`configVersion` 2): everything under `io.containerd.grpc.v1.cri`, with
 * `sandbox_image` and the scalar `bin_dir`, the only CNI directory key the 1.x line reads.
 *
 * The sandbox (pause) image is the one kubeadm pulls for the Kubernetes minor, not
 * containerd's built-in default (pause:3.6 in Debian's 1.6): otherwise kubeadm's preflight
 * warns the two are inconsistent and containerd pulls a second image at the first pod,
 * which fails offline; and only the configured sandbox image is pinned against image GC.
 *
 * On a container node `restrict_oom_score_adj` is on: runc cannot set a negative
 * oom_score_adj there, so every pod asking for one would fail to start.
 */
export function containerdConfig(plan: Plan, env: NodeEnvironment = PLAIN_NODE): Record<string, unknown> {
  const oom = env.container ? { restrict_oom_score_adj: true } : {};
  const pause = plan.kubernetes.images.pause;
  if (plan.containerd.configVersion === 3) {
    return {
      version: 3,
      plugins: {
        "io.containerd.cri.v1.images": { pinned_images: { sandbox: pause } },
        "io.containerd.cri.v1.runtime": {
          ...oom,
          containerd: { default_runtime_name: "runc", runtimes: { runc: runcRuntime(plan) } },
          cni: { bin_dirs: [CNI_BIN_DIR], conf_dir: CNI_CONF_DIR },
        },
      },
    };
  }
  return {
    version: 2,
    plugins: {
      "io.containerd.grpc.v1.cri": {
        sandbox_image: pause,
        ...oom,
        containerd: { default_runtime_name: "runc", runtimes: { runc: runcRuntime(plan) } },
        cni: { bin_dir: CNI_BIN_DIR, conf_dir: CNI_CONF_DIR },
      },
    },
  };
}

/** renderContainerdConfig renders `/etc/containerd/config.toml` for the plan, on a node of the given kind. */
export function renderContainerdConfig(plan: Plan, env: NodeEnvironment = PLAIN_NODE): RenderedFile {
  // No cluster name: the file is the same on every cluster with the same settings, so a node
  // made from a baked image (kubelab image bake) finds it right and containerd needs no restart.
  const header =
    `# Rendered by kubelab (containerd ${plan.containerd.version}). Do not edit:\n` +
    "# runc SystemdCgroup and kubelet cgroupDriver come from the same setting (containerd.cgroupDriver).\n\n";
  return { path: CONTAINERD_CONFIG_PATH, content: `${header}${stringify(containerdConfig(plan, env)).trimEnd()}\n` };
}

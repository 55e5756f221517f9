/**
 * Container images from an offline bundle: each node's containerd gets every image the
 * cluster needs, imported into the `k8s.io` namespace (the one the CRI plugin, and so
 * kubelet, uses) under the exact names kubeadm and the manifests refer to. kubeadm then
 * finds them locally and pulls nothing.
 */

import { kubeadmImages } from "../plan/kubeadm-images.js";
import type { Plan, PlanNode } from "../plan/types.js";
import { installFile } from "./deliver.js";
import { whileWriting } from "./disk-full.js";
import { change, eachNode, type Phase } from "./phase.js";

const SPOOL = "/var/cache/kubelab/images";

/**
 * The images only control planes run: the static pods (API server, controller manager,
 * scheduler, etcd). Workers skip them; everything else (kube-proxy, pause, CoreDNS, addons)
 * may run anywhere.
 */
export function controlPlaneOnly(plan: Plan): Set<string> {
  const staticPods = /\/(kube-apiserver|kube-controller-manager|kube-scheduler|etcd):/;
  return new Set(kubeadmImages(plan).filter((i) => staticPods.test(i)));
}

const wanted = (plan: Plan, node: PlanNode, name: string) =>
  node.role === "control-plane" || !controlPlaneOnly(plan).has(name);

/** Import the package source's images where a node's containerd does not have them. */
export const importImagesPhase: Phase = {
  title: "Import container images",
  shouldRun: (ctx) => (ctx.packages.images?.length ?? 0) > 0,
  run: (ctx) =>
    eachNode(ctx, async (n, remote) => {
      const images = ctx.packages.images ?? [];
      const listed = ctx.dryRun
        ? await remote.exec(["ctr", "-n", "k8s.io", "images", "ls", "-q"]).then((r) => (r.code === 0 ? r.stdout : ""))
        : await remote.run(["ctr", "-n", "k8s.io", "images", "ls", "-q"]);
      const have = new Set(listed.split("\n").map((l) => l.trim()));
      const missing = images.filter((i) => wanted(ctx.plan, n, i.name) && !have.has(i.name));
      if (missing.length === 0) return;
      await change(ctx, n.name, `import ${missing.map((i) => i.name).join(", ")}`, async () => {
        for (const image of missing) {
          const path = `${SPOOL}/${image.file.sha256}.tar`;
          await installFile(ctx, remote, image.file, path);
          // containerd unpacks into its root: that is where the room runs out.
          await whileWriting(
            remote,
            "/var/lib/containerd/",
            () => remote.run(["ctr", "-n", "k8s.io", "images", "import", path], { timeoutMs: 900_000 }),
            `importing ${image.name} into containerd (/var/lib/containerd/)`,
          );
          await remote.run(["rm", "-f", path]);
        }
      });
    }),
};

import { CONTAINERD_CONFIG_PATH } from "../render/containerd.js";
import { mergeHosts, renderNodeFiles } from "../render/node-files.js";
import { whileWriting } from "./disk-full.js";
import { nodeEnvironment } from "./facts.js";
import { change, eachNode, needsRestart, type Phase } from "./phase.js";

/** Files written by the OS phase, not here. */
const OS_FILES = new Set(["/etc/modules-load.d/kubelab.conf", "/etc/sysctl.d/99-kubelab.conf"]);

/**
 * Write node files: the /etc/hosts block (merged into the node's own file), containerd's
 * config, kubelet's node-ip and the kubeadm configuration. Only files that differ are
 * written; a changed containerd config marks containerd for a restart.
 */
export const writeFilesPhase: Phase = {
  title: "Write node files",
  run: (ctx) =>
    eachNode(ctx, async (n, remote, facts) => {
      // Decided per node from its facts, whichever provider the file names: existing hosts
      // may be containers too, and only the node knows its cgroup version.
      for (const file of renderNodeFiles(ctx.plan, n.name, nodeEnvironment(facts))) {
        if (OS_FILES.has(file.path)) continue;
        const current = facts.files.get(file.path);
        const wanted = file.path === "/etc/hosts" ? mergeHosts(current ?? "", ctx.plan) : file.content;
        if (current === wanted) continue;
        await change(ctx, n.name, `${current === undefined ? "write" : "update"} ${file.path}`, () =>
          whileWriting(remote, file.path, () => remote.writeFile(file.path, wanted, file.mode)),
        );
        if (file.path === CONTAINERD_CONFIG_PATH) needsRestart(ctx, n.name, "containerd");
      }
    }),
};

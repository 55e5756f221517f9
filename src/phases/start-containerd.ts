import { CommandError } from "../errors.js";
import { change, eachNode, type Phase } from "./phase.js";

/**
 * Start containerd: start it where it is not running, restart it where an earlier phase
 * changed its binary, unit or config, then check with containerd's own parser
 * (`containerd config dump`) that runc's SystemdCgroup matches the plan, the setting whose
 * mismatch crash-loops the control plane after kubeadm init. A dry run changed nothing, so
 * there is nothing to check.
 */
export const startContainerdPhase: Phase = {
  title: "Start containerd",
  run: (ctx) =>
    eachNode(ctx, async (n, remote, facts) => {
      const restart = ctx.restart.get(n.name)?.has("containerd") ?? false;
      if (restart || facts.units.get("containerd") !== "active") {
        await change(
          ctx,
          n.name,
          `${facts.units.get("containerd") === "active" ? "restart" : "start"} containerd`,
          () => remote.run(["systemctl", "restart", "containerd"]),
        );
      }
      if (ctx.dryRun) return;
      const dump = await remote.run(["containerd", "config", "dump"]);
      const want = `SystemdCgroup = ${ctx.plan.containerd.cgroupDriver === "systemd"}`;
      if (!dump.includes(want)) {
        throw new CommandError(
          n.name,
          ["containerd", "config", "dump"],
          0,
          `containerd does not report ${want}; its config is not the one kubelab wrote`,
        );
      }
    }),
};

import { UserError } from "../errors.js";
import { HA_PACKAGES, haEnabled, renderHaFiles } from "../render/ha.js";
import { whileInstalling, whileWriting } from "./disk-full.js";
import { labInterface } from "./facts.js";
import { change, eachNode, type Phase } from "./phase.js";

const APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];

/**
 * Start the control-plane VIP (`controlPlane.endpoint`): on every control plane, install
 * keepalived and HAProxy from the distribution's archive where they are missing, write their
 * configuration (src/render/ha.ts) where it differs, and (re)start them. It runs before
 * `kubeadm init`, which reaches the API through the VIP: keepalived puts the VIP on the first
 * control plane, and HAProxy forwards to the API servers once they answer.
 */
export const controlPlaneVipPhase: Phase = {
  title: "Start keepalived and HAProxy (control-plane VIP)",
  shouldRun: (ctx) => haEnabled(ctx.plan),
  run: (ctx) =>
    eachNode(
      ctx,
      async (n, remote, facts) => {
        const iface = labInterface(facts, n.ip);
        if (!iface)
          throw new UserError(`${n.name}: no interface has the node's lab address ${n.ip}`, {
            hint: `keepalived holds the VIP on the lab interface; check the node's network (ip -4 addr on ${n.name})`,
          });
        const restart = new Set<string>();
        const missing = HA_PACKAGES.filter((p) => !facts.packages.has(p));
        if (missing.length > 0) {
          await change(ctx, n.name, `install ${missing.join(" ")} (distribution packages)`, () =>
            whileInstalling(remote, missing.join(", "), async () => {
              const install = [...APT, "install", "-y", "--no-install-recommends", ...missing];
              // The package lists may be old or absent (a fresh image): refresh them only when needed.
              const first = await remote.exec(install, { timeoutMs: 900_000 });
              if (first.code !== 0) {
                await remote.run([...APT, "update"], { timeoutMs: 300_000 });
                await remote.run(install, { timeoutMs: 900_000 });
              }
            }),
          );
          for (const p of missing) restart.add(p);
        }
        for (const file of renderHaFiles(ctx.plan, n.name, iface)) {
          const current = facts.files.get(file.path);
          if (current === file.content) continue;
          await change(ctx, n.name, `${current === undefined ? "write" : "update"} ${file.path}`, () =>
            whileWriting(remote, file.path, () => remote.writeFile(file.path, file.content, file.mode)),
          );
          restart.add(file.path.startsWith("/etc/haproxy/") ? "haproxy" : "keepalived");
        }
        for (const unit of HA_PACKAGES) {
          const active = facts.units.get(unit) === "active";
          if (active && !restart.has(unit)) continue;
          await change(ctx, n.name, `${active ? "restart" : "start"} ${unit}`, async () => {
            await remote.run(["systemctl", "enable", unit]);
            await remote.run(["systemctl", "restart", unit]);
          });
        }
      },
      { only: (n) => n.role === "control-plane" },
    ),
};

import type { Arch } from "../versions.js";
import { installFile, unpackFile } from "./deliver.js";
import { whileInstalling, whileWriting } from "./disk-full.js";
import { change, eachNode, needsRestart, type Phase } from "./phase.js";

/** containerd's systemd unit for a release-tarball install (what upstream ships as containerd.service). */
export const CONTAINERD_UNIT = `# Installed by kubelab (containerd release tarball in /usr/local).
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`;

const UNIT_PATH = "/etc/systemd/system/containerd.service";

/**
 * Install containerd: for the 2.x line the pinned release (with runc and the CNI plugins)
 * unless `containerd --version` already reports it; for 1.7 the distribution's package.
 */
export const installContainerdPhase: Phase = {
  title: "Install containerd",
  run: (ctx) =>
    eachNode(ctx, async (n, remote, facts) => {
      const want = ctx.plan.containerd;
      if (want.line === "1.7") {
        if (!facts.packages.has("containerd") && !facts.packages.has("containerd.io")) {
          await change(ctx, n.name, "install containerd (distribution package)", () =>
            whileInstalling(remote, "containerd", () =>
              remote.run(
                [
                  "env",
                  "DEBIAN_FRONTEND=noninteractive",
                  "apt-get",
                  "install",
                  "-y",
                  "-o",
                  "Dpkg::Options::=--force-confold",
                  "containerd",
                ],
                { timeoutMs: 900_000 },
              ),
            ),
          );
          needsRestart(ctx, n.name, "containerd");
        }
        return;
      }
      const files = ctx.packages.containerdFiles(facts.arch as Arch);
      if (!facts.containerd?.includes(` ${want.version} `) && !facts.containerd?.endsWith(` ${want.version}`)) {
        await change(ctx, n.name, `install containerd ${want.version}, runc and CNI plugins`, async () => {
          await Promise.all([
            unpackFile(ctx, remote, files.containerd, "/usr/local"),
            unpackFile(ctx, remote, files.cniPlugins, "/opt/cni/bin"),
            installFile(ctx, remote, files.runc, "/usr/local/sbin/runc", 0o755),
          ]);
        });
        needsRestart(ctx, n.name, "containerd");
      }
      if (facts.files.get(UNIT_PATH) !== CONTAINERD_UNIT) {
        await change(ctx, n.name, `write ${UNIT_PATH}`, async () => {
          await whileWriting(remote, UNIT_PATH, () => remote.writeFile(UNIT_PATH, CONTAINERD_UNIT));
          await remote.run(["systemctl", "daemon-reload"]);
          await remote.run(["systemctl", "enable", "containerd"]);
        });
        needsRestart(ctx, n.name, "containerd");
      }
    }),
};

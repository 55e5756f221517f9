import type { Remote } from "../remote/types.js";
import type { Arch } from "../versions.js";
import { change, eachNode, needsRestart, type Phase, type PhaseContext } from "./phase.js";

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

async function upload(
  ctx: PhaseContext,
  remote: Remote,
  file: { url: string; sha256: string },
  dest: string,
  mode: number,
) {
  await remote.writeFile(dest, await ctx.packages.artifacts.get(file), mode);
}

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
          );
          needsRestart(ctx, n.name, "containerd");
        }
        return;
      }
      const files = ctx.packages.containerdFiles(facts.arch as Arch);
      if (!facts.containerd?.includes(` ${want.version} `) && !facts.containerd?.endsWith(` ${want.version}`)) {
        await change(ctx, n.name, `install containerd ${want.version}, runc and CNI plugins`, async () => {
          const tmp = "/var/cache/kubelab";
          await upload(ctx, remote, files.containerd, `${tmp}/containerd.tar.gz`, 0o644);
          await upload(ctx, remote, files.cniPlugins, `${tmp}/cni-plugins.tgz`, 0o644);
          await upload(ctx, remote, files.runc, "/usr/local/sbin/runc", 0o755);
          await remote.run(["tar", "-C", "/usr/local", "-xzf", `${tmp}/containerd.tar.gz`]);
          await remote.run(["mkdir", "-p", "/opt/cni/bin"]);
          await remote.run(["tar", "-C", "/opt/cni/bin", "-xzf", `${tmp}/cni-plugins.tgz`]);
          await remote.run(["rm", "-f", `${tmp}/containerd.tar.gz`, `${tmp}/cni-plugins.tgz`]);
        });
        needsRestart(ctx, n.name, "containerd");
      }
      if (facts.files.get(UNIT_PATH) !== CONTAINERD_UNIT) {
        await change(ctx, n.name, `write ${UNIT_PATH}`, async () => {
          await remote.writeFile(UNIT_PATH, CONTAINERD_UNIT);
          await remote.run(["systemctl", "daemon-reload"]);
          await remote.run(["systemctl", "enable", "containerd"]);
        });
        needsRestart(ctx, n.name, "containerd");
      }
    }),
};

import { change, eachNode, type Phase } from "./phase.js";

const KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
const SOURCES = "/etc/apt/sources.list.d/kubernetes.list";
const PACKAGES = ["kubeadm", "kubelet", "kubectl"] as const;

/** sourcesLine is the apt source for the package source's repository. */
export function sourcesLine(url: string, signed: boolean): string {
  return `# Managed by kubelab.\ndeb [${signed ? `signed-by=${KEYRING}` : "trusted=yes"}] ${url} /\n`;
}

/**
 * Install kubeadm, kubelet and kubectl at the pinned version from the package source's apt
 * repository, and hold them so an unattended upgrade cannot move the cluster's version.
 */
export const installKubernetesPhase: Phase = {
  title: "Install kubeadm, kubelet and kubectl",
  run: (ctx) =>
    eachNode(ctx, async (n, remote, facts) => {
      const version = ctx.plan.kubernetes.packageVersion;
      const missing = PACKAGES.filter((p) => facts.packages.get(p) !== version);
      const unheld = PACKAGES.filter((p) => !facts.held.includes(p));
      if (missing.length === 0 && unheld.length === 0) return;
      const repo = ctx.packages.kubernetes;
      const line = sourcesLine(repo.url, repo.keyUrl !== undefined);
      if (missing.length > 0) {
        await change(
          ctx,
          n.name,
          `install ${missing.map((p) => `${p}=${version}`).join(" ")} from ${repo.url}`,
          async () => {
            if (repo.keyUrl) {
              await remote.run(["mkdir", "-p", "-m", "755", "/etc/apt/keyrings"]);
              await remote.run(
                ["sh", "-c", 'curl -fsSL "$1" | gpg --dearmor --yes -o "$2"', "sh", repo.keyUrl, KEYRING],
                { timeoutMs: 120_000 },
              );
            }
            if (facts.files.get(SOURCES) !== line) await remote.writeFile(SOURCES, line);
            const apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
            const install = [
              ...apt,
              "install",
              "-y",
              "--allow-downgrades",
              "--no-install-recommends",
              ...PACKAGES.map((p) => `${p}=${version}`),
            ];
            // Refresh the Kubernetes repository alone first: a lab node's other sources may be
            // unreachable. Only when dependencies are missing is every source refreshed.
            await remote.run(
              [
                ...apt,
                "update",
                "-o",
                `Dir::Etc::sourcelist=${SOURCES}`,
                "-o",
                "Dir::Etc::sourceparts=-",
                "-o",
                "APT::Get::List-Cleanup=0",
              ],
              { timeoutMs: 300_000 },
            );
            await remote.run(["apt-mark", "unhold", ...PACKAGES]);
            const first = await remote.exec(install, { timeoutMs: 900_000 });
            if (first.code !== 0) {
              await remote.run([...apt, "update"], { timeoutMs: 300_000 });
              await remote.run(install, { timeoutMs: 900_000 });
            }
          },
        );
      }
      await change(ctx, n.name, `hold ${PACKAGES.join(", ")}`, () => remote.run(["apt-mark", "hold", ...PACKAGES]));
    }),
};

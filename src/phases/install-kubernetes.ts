import { pinnedKey } from "../artifacts/openpgp.js";
import type { AptRepository } from "../artifacts/package-source.js";
import { downloadError } from "../artifacts/store.js";
import type { Remote } from "../remote/types.js";
import type { PinnedFile } from "../versions.js";
import { installFile } from "./deliver.js";
import { whileInstalling, whileWriting } from "./disk-full.js";
import { change, eachNode, type Phase, type PhaseContext } from "./phase.js";

const KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
const SOURCES = "/etc/apt/sources.list.d/kubernetes.list";
const PACKAGES = ["kubeadm", "kubelet", "kubectl"] as const;

/** sourcesLine is the apt source for the package source's repository. */
export function sourcesLine(url: string, signed: boolean): string {
  return `# Managed by kubelab.\ndeb [${signed ? `signed-by=${KEYRING}` : "trusted=yes"}] ${url} /\n`;
}

const APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];

/**
 * repositoryKey downloads the repository's key on the host and returns it (binary, as apt's
 * signed-by reads it) only when its fingerprint is a pinned one: nodes get this verified
 * copy instead of fetching a key of their own from the repository it vouches for.
 */
async function repositoryKey(repo: AptRepository & { keyUrl: string }, f: typeof fetch): Promise<Buffer> {
  const res = await f(repo.keyUrl).catch((e: Error) => {
    throw downloadError(repo.keyUrl, e.message, e);
  });
  if (!res.ok) throw downloadError(repo.keyUrl, `HTTP ${res.status}`);
  return pinnedKey(Buffer.from(await res.arrayBuffer()), repo.keyFingerprints ?? [], repo.keyUrl);
}

async function installFromRepository(
  remote: Remote,
  repo: AptRepository,
  key: () => Promise<Buffer>,
  currentSources: string | undefined,
  version: string,
) {
  const line = sourcesLine(repo.url, repo.keyUrl !== undefined);
  if (repo.keyUrl) {
    const verified = await key();
    await remote.run(["mkdir", "-p", "-m", "755", "/etc/apt/keyrings"]);
    await remote.writeFile(KEYRING, verified, 0o644);
  }
  if (currentSources !== line) await whileWriting(remote, SOURCES, () => remote.writeFile(SOURCES, line));
  const install = [
    ...APT,
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
      ...APT,
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
  const first = await remote.exec(install, { timeoutMs: 900_000 });
  if (first.code !== 0) {
    await remote.run([...APT, "update"], { timeoutMs: 300_000 });
    await remote.run(install, { timeoutMs: 900_000 });
  }
}

/** installDebs puts verified .deb files on the node and lets apt install them (and any dependencies it already knows). */
async function installDebs(ctx: PhaseContext, remote: Remote, debs: readonly PinnedFile[]) {
  const dir = "/var/cache/kubelab/debs";
  const paths = debs.map((deb) => `${dir}/${deb.sha256.slice(0, 16)}.deb`);
  await Promise.all(debs.map((deb, i) => installFile(ctx, remote, deb, paths[i] as string)));
  await remote.run([...APT, "install", "-y", "--allow-downgrades", "--no-install-recommends", ...paths], {
    timeoutMs: 900_000,
  });
  await remote.run(["rm", "-f", ...paths]);
}

/**
 * Install kubeadm, kubelet and kubectl at the pinned version from the package source's apt
 * repository, and hold them so an unattended upgrade cannot move the cluster's version.
 */
export const installKubernetesPhase: Phase = {
  title: "Install kubeadm, kubelet and kubectl",
  run: (ctx) => {
    // The key is fetched and checked once per run, on the first node that needs it.
    let key: Promise<Buffer> | undefined;
    const source = ctx.packages.kubernetes;
    const keyOnce = () => {
      if ("debs" in source || !source.keyUrl) throw new Error("install-kubernetes: the repository has no key");
      key ??= repositoryKey({ ...source, keyUrl: source.keyUrl }, ctx.packages.fetch ?? fetch);
      return key;
    };
    return eachNode(ctx, async (n, remote, facts) => {
      const version = ctx.plan.kubernetes.packageVersion;
      const missing = PACKAGES.filter((p) => facts.packages.get(p) !== version);
      const unheld = PACKAGES.filter((p) => !facts.held.includes(p));
      if (missing.length === 0 && unheld.length === 0) return;
      if (missing.length > 0) {
        const from = "debs" in source ? "the bundle" : source.url;
        await change(
          ctx,
          n.name,
          `install ${missing.map((p) => `${p}=${version}`).join(" ")} from ${from}`,
          async () => {
            // A held package is not moved to another version: release the installed ones first.
            const installed = PACKAGES.filter((p) => facts.packages.has(p));
            if (installed.length > 0) await remote.run(["apt-mark", "unhold", ...installed]);
            // dpkg and apt say when the disk is full only in their output: said plainly, per node.
            await whileInstalling(remote, missing.join(", "), () =>
              "debs" in source
                ? installDebs(ctx, remote, source.debs)
                : installFromRepository(remote, source, keyOnce, facts.files.get(SOURCES), version),
            );
          },
        );
      }
      await change(ctx, n.name, `hold ${PACKAGES.join(", ")}`, () => remote.run(["apt-mark", "hold", ...PACKAGES]));
    });
  },
};

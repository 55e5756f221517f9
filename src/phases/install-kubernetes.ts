import { pinnedKey } from "../artifacts/openpgp.js";
import type { AptRepository } from "../artifacts/package-source.js";
import { downloadError } from "../artifacts/store.js";
import { compareVersions, parseVersion } from "../plan/upgrade-path.js";
import type { Remote } from "../remote/types.js";
import type { PinnedFile } from "../versions.js";
import { installFile } from "./deliver.js";
import { whileInstalling, whileWriting } from "./disk-full.js";
import type { NodeFacts } from "./facts.js";
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
async function verifiedKey(repo: AptRepository & { keyUrl: string }, f: typeof fetch): Promise<Buffer> {
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
  packages: readonly string[],
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
    ...packages.map((p) => `${p}=${version}`),
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

/**
 * debPackage is the package name of a .deb by its file name (`NAME_VERSION_ARCH.deb`, Debian's
 * naming), whatever the location names it under: a URL, or `bundle:FILE` in a bundle.
 */
export function debPackage(location: string): string {
  const file = location.slice(Math.max(location.lastIndexOf("/"), location.lastIndexOf(":")) + 1);
  return file.replace(/\.deb$/, "").split("_")[0] ?? file;
}

/** installDebs puts verified .deb files on the node and lets apt install them (and any dependencies it already knows). */
async function installDebs(ctx: PhaseContext, remote: Remote, all: readonly PinnedFile[], packages: readonly string[]) {
  // Only the packages asked for among kubeadm, kubelet and kubectl (and every dependency): a
  // held one given to apt as a file would have to move, and apt refuses that.
  const debs = all.filter((deb) => {
    const name = debPackage(deb.url);
    return !PACKAGES.some((p) => p === name && !packages.includes(p));
  });
  const dir = "/var/cache/kubelab/debs";
  const paths = debs.map((deb) => `${dir}/${deb.sha256.slice(0, 16)}.deb`);
  await Promise.all(debs.map((deb, i) => installFile(ctx, remote, deb, paths[i] as string)));
  await remote.run([...APT, "install", "-y", "--allow-downgrades", "--no-install-recommends", ...paths], {
    timeoutMs: 900_000,
  });
  await remote.run(["rm", "-f", ...paths]);
}

/** The kubelet's configuration, which kubeadm writes when it makes a node part of a cluster. */
export const KUBELET_CONFIG = "/var/lib/kubelet/config.yaml";

/**
 * leftForUpgrade tells whether a node's Kubernetes packages are moved by the upgrade phase
 * rather than here: the node is part of a cluster (kubeadm configured its kubelet) and a
 * package is at an older release than the plan's. Such a node follows kubeadm's upgrade
 * procedure, control plane first, then its kubelet drained; a node not yet in the cluster
 * just gets the plan's packages.
 */
export function leftForUpgrade(ctx: PhaseContext, facts: NodeFacts): boolean {
  if (facts.files.get(KUBELET_CONFIG) === undefined) return false;
  const target = parseVersion(ctx.plan.kubernetes.version);
  return PACKAGES.some((p) => {
    const v = parseVersion(facts.packages.get(p) ?? "");
    return v !== undefined && target !== undefined && compareVersions(v, target) < 0;
  });
}

/**
 * installPackages installs some of kubeadm, kubelet and kubectl at the plan's package version
 * from the package source, releasing the hold on those of them installed first (a held
 * package is not moved). Callers wrap it in `change()` and hold the packages again after it.
 */
export async function installPackages(
  ctx: PhaseContext,
  remote: Remote,
  facts: NodeFacts,
  packages: readonly string[],
): Promise<void> {
  const source = ctx.packages.kubernetes;
  // Only the packages to move: the others stay held, so apt cannot take them along.
  const installed = PACKAGES.filter((p) => packages.includes(p) && facts.packages.has(p));
  if (installed.length > 0) await remote.run(["apt-mark", "unhold", ...installed]);
  // dpkg and apt say when the disk is full only in their output: said plainly, per node.
  await whileInstalling(remote, packages.join(", "), () =>
    "debs" in source
      ? installDebs(ctx, remote, source.debs, packages)
      : installFromRepository(
          remote,
          source,
          () => repositoryKey(ctx, source),
          facts.files.get(SOURCES),
          packages,
          ctx.plan.kubernetes.packageVersion,
        ),
  );
}

/** holdPackages holds kubeadm, kubelet and kubectl, so an unattended upgrade cannot move the cluster's version. */
export const holdPackages = (remote: Remote) => remote.run(["apt-mark", "hold", ...PACKAGES]);

/** The repository's key, fetched and checked once per run (per context), on the first node that needs it. */
const keys = new WeakMap<PhaseContext, Promise<Buffer>>();
function repositoryKey(ctx: PhaseContext, source: AptRepository): Promise<Buffer> {
  if (!source.keyUrl) throw new Error("install-kubernetes: the repository has no key");
  let key = keys.get(ctx);
  if (!key) {
    key = verifiedKey({ ...source, keyUrl: source.keyUrl }, ctx.packages.fetch ?? fetch);
    keys.set(ctx, key);
  }
  return key;
}

/**
 * Install kubeadm, kubelet and kubectl at the pinned version from the package source's apt
 * repository, and hold them so an unattended upgrade cannot move the cluster's version.
 * Nodes of a cluster at an older release are left to the upgrade phase (leftForUpgrade).
 */
export const installKubernetesPhase: Phase = {
  title: "Install kubeadm, kubelet and kubectl",
  run: (ctx) => {
    const source = ctx.packages.kubernetes;
    return eachNode(ctx, async (n, remote, facts) => {
      if (leftForUpgrade(ctx, facts)) return;
      const version = ctx.plan.kubernetes.packageVersion;
      const missing = PACKAGES.filter((p) => facts.packages.get(p) !== version);
      const unheld = PACKAGES.filter((p) => !facts.held.includes(p));
      if (missing.length === 0 && unheld.length === 0) return;
      if (missing.length > 0) {
        const from = "debs" in source ? "the bundle" : source.url;
        await change(ctx, n.name, `install ${missing.map((p) => `${p}=${version}`).join(" ")} from ${from}`, () =>
          installPackages(ctx, remote, facts, missing),
        );
      }
      await change(ctx, n.name, `hold ${PACKAGES.join(", ")}`, () => holdPackages(remote));
    });
  },
};

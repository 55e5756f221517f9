/**
 * An offline bundle made the way users make one, by `createBundle` (kubelab bundle create),
 * from mirrors on loopback instead of the internet:
 * - pkgs.k8s.io -> the signed test apt repository (real kubeadm, kubelet, kubectl built here);
 *   its key is never mirrored, so the test key is named directly, with its fingerprint pinned
 *   in place of pkgs.k8s.io's;
 * - registry.k8s.io, quay.io, ghcr.io and registry.kubelab.test -> a real OCI registry (crane)
 *   holding the images built here (the control plane's, MetalLB's controller and speaker,
 *   Calico's node, cni and kube-controllers when the plan's CNI is Calico, Headlamp's when its
 *   UI is Headlamp, and on request the tests' toolbox);
 * - raw.githubusercontent.com -> the addon manifests of the fixtures;
 * - with Linkerd: cr.l5d.io -> the same registry (Linkerd's images built here), Linkerd's Helm
 *   repository -> the fixtures' charts packaged as a repository, and helm's release file -> the
 *   helm built here;
 * - the containerd, runc and CNI release files -> the test package source's files (built
 *   here, so with their own sha256 instead of the upstream releases' pins).
 * `up --bundle` checks a bundle against the pins, which these files cannot match: the test's
 * own anchors (the test key's fingerprint, these files' sums) are put in a trust file that
 * KUBELAB_TEST_TRUST names for the rest of the test.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { type BundleTrust, useTrustAnchors } from "../../src/artifacts/bundle-trust.js";
import { sha256 } from "../../src/artifacts/local.js";
import type { BundleManifest } from "../../src/artifacts/offline-bundle.js";
import { primaryFingerprints } from "../../src/artifacts/openpgp.js";
import { createBundle, pinnedSources } from "../../src/bundle/create.js";
import type { Plan } from "../../src/plan/types.js";
import { type Arch, PINNED } from "../../src/versions.js";
import { helmTarball, linkerdChartRepository } from "./charts.js";
import { fixturesDir } from "./fixtures.js";
import { buildTestPackages, builtImages, serveDirectory } from "./packages.js";
import { startRegistry } from "./registry.js";
import { TOOLBOX_REGISTRY, toolboxImages } from "./toolbox.js";
import { KUBERNETES_VERSION, requireTool } from "./tools.js";

/** Builds Calico's image set (npm run test:lab runs it first). */
const CALICO_IMAGES_BUILDER = "bash scripts/dev-tools/calico-images.sh (npm run test:lab runs it first)";
/** Builds Linkerd's images (npm run test:lab runs it first). */
const LINKERD_IMAGES_BUILDER = "bash scripts/dev-tools/linkerd-images.sh (npm run test:lab runs it first)";
/** Builds Headlamp's image (npm run test:lab runs it first). */
const HEADLAMP_IMAGES_BUILDER = "bash scripts/dev-tools/headlamp-images.sh (npm run test:lab runs it first)";

/**
 * createTestBundle writes a bundle for `plan` into `out`; undefined when a tool is missing
 * (the test is then skipped, or fails under CI=true). The plan's addons must need no images
 * beyond kubeadm's, MetalLB's, Calico's, Headlamp's and Linkerd's (only those are built here); `toolbox` adds the
 * tests' toolbox image (test/helpers/toolbox.ts) to the bundle's images.
 */
export async function createTestBundle(
  t: Pick<TestContext, "after" | "skip">,
  plan: Plan,
  out: string,
  opts: { toolbox?: boolean } = {},
): Promise<BundleManifest | undefined> {
  const crane = requireTool(t, "crane");
  if (!crane) return undefined;
  const arch = execFileSync("dpkg", ["--print-architecture"]).toString().trim() as Arch;
  const pkgs = await buildTestPackages(plan);
  const registry = await startRegistry(t, crane);
  const linkerd = plan.addons.linkerd.enabled;
  const helm = linkerd ? helmTarball(t) : undefined;
  if (linkerd && !helm) return undefined;
  const registries = ["registry.k8s.io", "quay.io", "ghcr.io", "cr.l5d.io", TOOLBOX_REGISTRY];
  const calico =
    plan.addons.cni.plugin === "calico"
      ? await builtImages(`calico-${PINNED.calico.version}`, CALICO_IMAGES_BUILDER)
      : [];
  const headlamp =
    plan.addons.ui.kind === "headlamp"
      ? await builtImages(`headlamp-${PINNED.headlamp.version}`, HEADLAMP_IMAGES_BUILDER)
      : [];
  const linkerdImages = linkerd ? await builtImages(`linkerd-${PINNED.linkerd.version}`, LINKERD_IMAGES_BUILDER) : [];
  const toolbox = opts.toolbox ? await toolboxImages() : [];
  // kubeadm's images of the plan's release: the pinned one (install-deps.sh builds it), or
  // another pinned release the upgrade tests start from.
  const kubeadm =
    plan.kubernetes.version === KUBERNETES_VERSION
      ? await builtImages()
      : await builtImages(
          plan.kubernetes.version,
          `bash scripts/dev-tools/k8s-images.sh ${plan.kubernetes.version} (npm run test:upgrade runs it first)`,
        );
  for (const image of [
    ...kubeadm,
    ...(await builtImages(`metallb-${PINNED.metallb.version}`)),
    ...calico,
    ...headlamp,
    ...linkerdImages,
    ...toolbox,
  ]) {
    const host = registries.find((r) => image.name.startsWith(`${r}/`));
    if (!host) throw new Error(`createTestBundle: ${image.name} is from no mirrored registry`);
    await registry.push(image.path, image.name.slice(host.length + 1));
  }
  const fixtures = await serveDirectory(fixturesDir(), "127.0.0.1");
  const apt = await serveDirectory(pkgs.aptDir, "127.0.0.1");
  const artifacts = await serveDirectory(join(pkgs.dir, "artifacts"), "127.0.0.1");
  const helmDir = helm ? await serveDirectory(dirname(helm), "127.0.0.1") : undefined;
  const charts = linkerd ? await linkerdChartRepository(t) : undefined;
  const cache = await mkdtemp(join(tmpdir(), "kubelab-downloads-"));
  const keyFingerprints = primaryFingerprints(await readFile(join(pkgs.aptDir, "Release.key")));
  const helmSum = helm ? sha256(await readFile(helm)) : undefined;
  await trustTestFiles(t, {
    aptKeyFingerprints: keyFingerprints,
    containerd: {
      containerd: pkgs.files.containerd.sha256,
      runc: pkgs.files.runc.sha256,
      cniPlugins: pkgs.files.cniPlugins.sha256,
    },
    helm: helmSum ? [helmSum] : [],
  });
  try {
    const fake = "https://releases.kubelab.invalid/";
    const fakeHelm = "https://helm-releases.kubelab.invalid/";
    const pinned = pinnedSources(plan, arch);
    const asRelease = (f: { sha256: string }) => ({ url: `${fake}${f.sha256}`, sha256: f.sha256 });
    return await createBundle(
      plan,
      {
        ...pinned,
        kubernetes: {
          url: pinned.kubernetes.url,
          keyUrl: `${apt.url}Release.key`,
          keyFingerprints,
        },
        extraImages: toolbox.map((i) => i.name),
        // helm built here: its own file and sha256, instead of the upstream release's.
        ...(helm && helmSum ? { helm: { url: `${fakeHelm}${basename(helm)}`, sha256: helmSum } } : {}),
        containerd: {
          containerd: asRelease(pkgs.files.containerd),
          runc: asRelease(pkgs.files.runc),
          cniPlugins: asRelease(pkgs.files.cniPlugins),
        },
      },
      out,
      {
        arch,
        cacheDir: cache,
        mirrors: [
          `${PINNED.kubernetes.aptRepository(plan.kubernetes.minor)}=${apt.url}`,
          `${fake}=${artifacts.url}`,
          ...(helmDir ? [`${fakeHelm}=${helmDir.url}`] : []),
          ...(charts ? [`${PINNED.linkerd.helmRepository.replace(/\/?$/, "/")}=${charts}`] : []),
          ...registries.map((r) => `${r}=http://${registry.host}`),
          // Fixtures are laid out <project>/<tag>/<path>; every pinned manifest's owner is its project.
          ...["projectcalico", "metallb", "kubernetes-sigs", "kubernetes"].map(
            (owner) => `https://raw.githubusercontent.com/${owner}/=${fixtures.url}`,
          ),
        ],
        log: () => {},
      },
    );
  } finally {
    await apt.close();
    await artifacts.close();
    await fixtures.close();
    await helmDir?.close();
    await rm(cache, { recursive: true, force: true });
  }
}

/** TRUST_ENV names, for a kubelab process a test starts (kubelab-bin.ts), a file of the test's anchors. */
export const TRUST_ENV = "KUBELAB_TEST_TRUST";

/** The test's anchors, as trustTestFiles writes them to a file. */
interface TrustFile {
  readonly aptKeyFingerprints: readonly string[];
  readonly containerd: { readonly containerd: string; readonly runc: string; readonly cniPlugins: string };
  readonly helm: readonly string[];
}

/** bundleTrust turns a trust file's content into the anchors kubelab checks bundles against. */
export function bundleTrust(t: TrustFile): BundleTrust {
  const file = (sha256: string) => ({ url: `test:${sha256}`, sha256 });
  return {
    aptKeyFingerprints: t.aptKeyFingerprints,
    containerdFiles: () => ({
      containerd: file(t.containerd.containerd),
      runc: file(t.containerd.runc),
      cniPlugins: file(t.containerd.cniPlugins),
    }),
    helm: t.helm,
  };
}

/**
 * trustTestFiles makes the test's anchors kubelab's until the test ends: in this process (for
 * the in-process CLI) and, through a file named in KUBELAB_TEST_TRUST, for kubelab processes
 * the test starts with test/helpers/kubelab-bin.ts, which reads it. kubelab itself never does.
 */
async function trustTestFiles(t: Pick<TestContext, "after">, trust: TrustFile): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-trust-"));
  await writeFile(join(dir, "trust.json"), JSON.stringify(trust));
  const saved = process.env[TRUST_ENV];
  process.env[TRUST_ENV] = join(dir, "trust.json");
  useTrustAnchors(bundleTrust(trust));
  t.after(async () => {
    useTrustAnchors(undefined);
    if (saved === undefined) delete process.env[TRUST_ENV];
    else process.env[TRUST_ENV] = saved;
    await rm(dir, { recursive: true, force: true });
  });
}

/**
 * `kubelab bundle create`: on a machine with internet access, collect everything `up
 * --bundle` installs, verified, into a bundle directory: kubeadm, kubelet and kubectl (and
 * what they depend on from the same repository) from the signed apt repository, containerd
 * with runc and the CNI plugins (pinned sha256), the pinned addon manifests, the addons'
 * charts and helm itself, and every image kubeadm and the addons need as OCI archives. The
 * addons' images are found the way `up` makes the addons: they are rendered (with the pinned
 * helm for the charts) from the files just downloaded, and every pod template's images taken.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hostArch, unpackHelm } from "../addons/helm-binary.js";
import { addonCharts, addonManifests, renderAddons } from "../addons/index.js";
import type { AddonSources } from "../addons/sources.js";
import { type ChartRef, fetchChart } from "../artifacts/chart-repository.js";
import { sha256 } from "../artifacts/local.js";
import { BUNDLE_MANIFEST, type BundleManifest, bundleSchema } from "../artifacts/offline-bundle.js";
import { type AptRepository, type ContainerdFiles, pinnedContainerdFiles } from "../artifacts/package-source.js";
import { cachingStore } from "../artifacts/store.js";
import { UserError } from "../errors.js";
import { writeImageArchive } from "../oci/layout.js";
import { canonicalName, pulledArchive, pullImage } from "../oci/registry.js";
import { kubeadmImages } from "../plan/kubeadm-images.js";
import type { Plan } from "../plan/types.js";
import { HA_PACKAGES, haEnabled } from "../render/ha.js";
import { type Arch, PINNED, type PinnedFile } from "../versions.js";
import { readRepository, selectPackages } from "./apt.js";
import { imagesOf } from "./images.js";
import { parseMirrors } from "./mirrors.js";

/** Where a bundle's contents come from. */
export interface BundleSources {
  readonly kubernetes: AptRepository;
  readonly containerd: ContainerdFiles;
  /** Pinned addon manifests (applied by `up`; the addons are rendered from them for their images). */
  readonly upstream: readonly PinnedFile[];
  /** Helm charts of chart-installed addons (Linkerd). */
  readonly charts: readonly ChartRef[];
  /** helm's release tarball for this host, to render the charts (their images) and for `up`. */
  readonly helm?: PinnedFile;
  /** Images beyond kubeadm's and the addons' (none by default). */
  readonly extraImages?: readonly string[];
  /** Pinned image digests by canonical name. @default PINNED.imageDigests */
  readonly imageDigests?: Readonly<Partial<Record<string, string>>>;
}

/**
 * pinnedSources are the upstream sources of the version table for a plan and architecture:
 * the addons' manifests and charts are the ones the plan's addons say they use.
 */
export function pinnedSources(plan: Plan, arch: Arch): BundleSources {
  const charts = addonCharts(plan);
  return {
    kubernetes: {
      url: PINNED.kubernetes.aptRepository(plan.kubernetes.minor),
      keyUrl: PINNED.kubernetes.aptKey(plan.kubernetes.minor),
      keyFingerprints: PINNED.kubernetes.aptKeyFingerprints,
    },
    containerd: pinnedContainerdFiles(arch),
    upstream: addonManifests(plan),
    charts,
    helm: charts.length > 0 ? PINNED.helm.files[hostArch()] : undefined,
  };
}

const fileKey = (f: PinnedFile) => `${f.url} ${f.sha256}`;
const chartKey = (c: { name: string; version: string }) => `${c.name} ${c.version}`;

/**
 * downloadedSources serve the addons what a bundle has just downloaded (each file verified
 * as it was fetched). An input the addons ask for that is not among them is an error: the
 * bundle would lack it.
 */
function downloadedSources(
  manifests: ReadonlyMap<string, string>,
  charts: ReadonlyMap<string, Buffer>,
  helm: Buffer | undefined,
): AddonSources {
  const missing = (what: string) => new Error(`the addons use ${what}, which the bundle's sources do not list`);
  return {
    async manifest(file) {
      const text = manifests.get(fileKey(file));
      if (text === undefined) throw missing(file.url);
      return text;
    },
    async chart(ref) {
      const data = charts.get(chartKey(ref));
      if (!data) throw missing(`chart ${ref.name} ${ref.version}`);
      return data;
    },
    async helm() {
      if (!helm) throw missing("helm");
      return unpackHelm(helm);
    },
  };
}

/**
 * imagesOfAddons renders the plan's addons from `sources`, as `up` does but without a cluster
 * (Linkerd gets a fresh identity: images do not depend on it), and lists the images of every
 * pod template in what they apply.
 */
export async function imagesOfAddons(
  plan: Plan,
  sources: AddonSources,
  warn: (line: string) => void,
): Promise<string[]> {
  const rendered = await renderAddons({ plan, sources, now: new Date(), warn });
  return imagesOf(rendered.flatMap((a) => a.steps.flatMap((s) => s.objects)));
}

/** Options of {@link createBundle}. */
export interface CreateOptions {
  readonly arch: Arch;
  readonly mirrors?: readonly string[];
  /** Download cache (content-addressed). @default the user's kubelab download cache */
  readonly cacheDir?: string;
  readonly fetch?: typeof fetch;
  readonly log: (line: string) => void;
}

/**
 * createBundle writes a bundle for `plan` into `out` (a directory that must not exist yet;
 * it is built aside and renamed into place, so a failed run leaves nothing half made).
 */
export async function createBundle(
  plan: Plan,
  sources: BundleSources,
  out: string,
  opts: CreateOptions,
): Promise<BundleManifest> {
  const { urls, registries } = parseMirrors(opts.mirrors ?? []);
  const base = opts.fetch ?? fetch;
  const mirrored: typeof fetch = (input, init) => {
    let url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    for (const [from, to] of urls) if (url.startsWith(from)) url = to + url.slice(from.length);
    return base(url, init);
  };
  const tmp = `${out}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, "files"), { recursive: true });
  const put = async (name: string, data: Buffer) => {
    const sum = sha256(data);
    await writeFile(join(tmp, "files", sum), data);
    return { name, sha256: sum };
  };
  try {
    // Kubernetes packages, from the signed repository.
    const repo = await readRepository(sources.kubernetes, { fetch: mirrored, keyFetch: base });
    const debArch = opts.arch;
    const { selected, fromDistribution } = selectPackages(
      repo.packages,
      ["kubeadm", "kubelet", "kubectl"],
      plan.kubernetes.packageVersion,
      debArch,
    );
    const { release, signature, packages, key } = repo.index;
    if (!signature || !key)
      throw new UserError(`${sources.kubernetes.url} has no signing key: a bundle carries signed packages only`);
    const apt = {
      release: await put("Release", release),
      signature: await put("Release.gpg", signature),
      packages: await put("Packages", packages),
      key: await put("Release.key.gpg", key),
    };
    const debs = [];
    for (const p of selected) {
      opts.log(`package ${p.name}=${p.version}`);
      debs.push(await put(`${p.name}_${p.version}_${p.architecture}.deb`, await repo.download(p)));
    }
    // Release files and addon manifests: pinned sha256, through the download cache.
    const store = cachingStore(opts.cacheDir, mirrored);
    const fetched = async (f: PinnedFile) => {
      opts.log(`file ${f.url}`);
      return store.get(f);
    };
    const file = async (name: string, f: PinnedFile) => put(name, await fetched(f));
    const manifests = new Map<string, string>();
    const upstream = [];
    for (const f of sources.upstream) {
      const data = await fetched(f);
      manifests.set(fileKey(f), data.toString("utf8"));
      upstream.push({ url: f.url, ...(await put(f.url.split("/").pop() ?? f.sha256, data)) });
    }
    const helmTarball = sources.helm && (await fetched(sources.helm));
    const helm = helmTarball && (await put("helm.tar.gz", helmTarball));
    const chartData = new Map<string, Buffer>();
    const charts = [];
    for (const c of sources.charts) {
      opts.log(`chart ${c.name} ${c.version}`);
      const { data, url } = await fetchChart(c, mirrored);
      chartData.set(chartKey(c), data);
      charts.push({ name: c.name, version: c.version, url, file: await put(`${c.name}-${c.version}.tgz`, data) });
    }
    // The addons' images: the addons rendered from exactly these files, as `up` renders them.
    const addonImages = await imagesOfAddons(plan, downloadedSources(manifests, chartData, helmTarball), opts.log);
    const containerd = {
      version: plan.containerd.version,
      containerd: await file("containerd.tar.gz", sources.containerd.containerd),
      runc: await file("runc", sources.containerd.runc),
      cniPlugins: await file("cni-plugins.tgz", sources.containerd.cniPlugins),
    };
    // Images, each as an OCI archive under its own name.
    const names = [...new Set([...kubeadmImages(plan), ...addonImages, ...(sources.extraImages ?? [])])];
    const images = [];
    for (const name of names) {
      opts.log(`image ${name}`);
      const pinned = (sources.imageDigests ?? PINNED.imageDigests)[canonicalName(name)];
      const pulled = await pullImage(name, { arch: opts.arch, mirrors: registries, fetch: base, digest: pinned });
      const archive = pulledArchive(pulled, opts.arch);
      const staged = join(tmp, "image.tar");
      const digest = await writeImageArchive(staged, archive);
      const hex = digest.slice("sha256:".length);
      await rename(staged, join(tmp, "files", hex));
      // Under the canonical name (docker.io/... for short names), the one the CRI looks up.
      images.push({ name: pulled.name, file: { name: `${name.replaceAll(/[/:@]/g, "_")}.tar`, sha256: hex } });
    }
    const manifest = bundleSchema.parse({
      format: "kubelab.dev/bundle/v1",
      arch: opts.arch,
      kubernetes: {
        version: plan.kubernetes.version,
        debs,
        // keepalived and HAProxy (the control-plane VIP) come from the nodes' distribution too.
        requires: [...new Set([...fromDistribution, ...(haEnabled(plan) ? HA_PACKAGES : [])])].sort(),
        apt,
      },
      containerd,
      images,
      upstream,
      charts,
      ...(helm ? { helm } : {}),
    });
    await writeFile(join(tmp, BUNDLE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, out);
    return manifest;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * `kubelab bundle create`: on a machine with internet access, collect everything `up
 * --bundle` installs, verified, into a bundle directory: kubeadm, kubelet and kubectl (and
 * what they depend on from the same repository) from the signed apt repository, containerd
 * with runc and the CNI plugins (pinned sha256), every image kubeadm and the addons need as
 * OCI archives (Linkerd's found by rendering its charts with the pinned helm), the pinned
 * addon manifests, the Linkerd charts and helm itself.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { helmTemplate, hostArch, unpackHelm } from "../addons/helm.js";
import { sha256 } from "../artifacts/local.js";
import { cachingStore } from "../artifacts/store.js";
import { writeImageArchive } from "../oci/layout.js";
import { pulledArchive, pullImage } from "../oci/registry.js";
import { type AptRepository, type ContainerdFiles, pinnedContainerdFiles } from "../phases/packages.js";
import type { Plan } from "../plan/types.js";
import { linkerdValues, upstreamManifests } from "../render/cluster.js";
import { generateLinkerdIdentity } from "../render/linkerd-identity.js";
import { type Arch, PINNED, type PinnedFile } from "../versions.js";
import { readRepository, selectPackages } from "./apt.js";
import { BUNDLE_MANIFEST, type BundleManifest, bundleSchema } from "./bundle.js";
import { type ChartRef, fetchChart, linkerdCharts } from "./helm.js";
import { addonImages, imagesIn, kubeadmImages } from "./images.js";

/** Where a bundle's contents come from. */
export interface BundleSources {
  readonly kubernetes: AptRepository;
  readonly containerd: ContainerdFiles;
  /** Pinned addon manifests (applied by `up`, and read here for their images). */
  readonly upstream: readonly PinnedFile[];
  /** Helm charts of chart-installed addons (Linkerd). */
  readonly charts: readonly ChartRef[];
  /** helm's release tarball for this host, to render the charts (their images) and for `up`. */
  readonly helm?: PinnedFile;
  /** Images beyond kubeadm's and the addon manifests' (none by default). */
  readonly extraImages?: readonly string[];
}

/** pinnedSources are the upstream sources of the version table for a plan and architecture. */
export function pinnedSources(plan: Plan, arch: Arch): BundleSources {
  return {
    kubernetes: {
      url: PINNED.kubernetes.aptRepository(plan.kubernetes.minor),
      keyUrl: PINNED.kubernetes.aptKey(plan.kubernetes.minor),
    },
    containerd: pinnedContainerdFiles(arch),
    upstream: upstreamManifests(plan),
    charts: plan.addons.linkerd.enabled
      ? linkerdCharts(PINNED.linkerd.helmRepository, PINNED.linkerd.chartVersion, plan.addons.linkerd.viz)
      : [],
    helm: plan.addons.linkerd.enabled ? PINNED.helm.files[hostArch()] : undefined,
  };
}

/**
 * Mirrors: `FROM=TO` pairs. A FROM with a scheme is a URL prefix (downloads from it go to TO
 * instead); a bare host is an image registry (its images are pulled from the registry at TO,
 * and keep their names).
 */
export function parseMirrors(pairs: readonly string[]): { urls: [string, string][]; registries: Map<string, string> } {
  const urls: [string, string][] = [];
  const registries = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--mirror ${pair}: want FROM=TO`);
    const [from, to] = [pair.slice(0, eq), pair.slice(eq + 1)];
    if (from.includes("://")) urls.push([from, to]);
    else registries.set(from, to);
  }
  return { urls, registries };
}

/**
 * imagesOfChart renders a chart with the pinned helm and lists its images. Linkerd's control
 * plane needs an identity to render: a throwaway one serves (images do not depend on it).
 */
export async function imagesOfChart(helm: string, chart: Buffer, name: string, kubeVersion: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-chart-"));
  try {
    const path = join(dir, `${name}.tgz`);
    await writeFile(path, chart);
    const values = name === "linkerd-control-plane" ? linkerdValues(await generateLinkerdIdentity()) : undefined;
    return imagesIn(await helmTemplate(helm, path, { release: name, namespace: "linkerd", kubeVersion, values }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
    const repo = await readRepository(sources.kubernetes, { fetch: mirrored });
    const debArch = opts.arch;
    const { selected, fromDistribution } = selectPackages(
      repo.packages,
      ["kubeadm", "kubelet", "kubectl"],
      plan.kubernetes.packageVersion,
      debArch,
    );
    const debs = [];
    for (const p of selected) {
      opts.log(`package ${p.name}=${p.version}`);
      debs.push(await put(`${p.name}_${p.version}_${p.architecture}.deb`, await repo.download(p)));
    }
    // Release files and addon manifests: pinned sha256, through the download cache.
    const store = cachingStore(opts.cacheDir, mirrored);
    const file = async (name: string, f: PinnedFile) => {
      opts.log(`file ${f.url}`);
      return put(name, await store.get(f));
    };
    const upstreamText = new Map<PinnedFile, string>();
    const upstream = [];
    for (const f of sources.upstream) {
      const entry = await file(f.url.split("/").pop() ?? f.sha256, f);
      upstreamText.set(f, (await store.get(f)).toString("utf8"));
      upstream.push({ url: f.url, ...entry });
    }
    const charts = [];
    const chartImages: string[] = [];
    const helm = sources.helm && (await file("helm.tar.gz", sources.helm));
    // One helm for every chart: it renders them to find their images.
    const helmBin =
      sources.helm && sources.charts.length > 0 ? await unpackHelm(await store.get(sources.helm)) : undefined;
    try {
      for (const c of sources.charts) {
        opts.log(`chart ${c.name} ${c.version}`);
        const { data, url } = await fetchChart(c, mirrored);
        charts.push({ name: c.name, version: c.version, url, file: await put(`${c.name}-${c.version}.tgz`, data) });
        if (helmBin) chartImages.push(...(await imagesOfChart(helmBin.path, data, c.name, plan.kubernetes.version)));
      }
    } finally {
      await helmBin?.remove();
    }
    const containerd = {
      version: plan.containerd.version,
      containerd: await file("containerd.tar.gz", sources.containerd.containerd),
      runc: await file("runc", sources.containerd.runc),
      cniPlugins: await file("cni-plugins.tgz", sources.containerd.cniPlugins),
    };
    // Images, each as an OCI archive under its own name.
    const names = [
      ...new Set([
        ...kubeadmImages(plan),
        ...addonImages(plan, (f) => upstreamText.get(f)),
        ...chartImages,
        ...(sources.extraImages ?? []),
      ]),
    ];
    const images = [];
    for (const name of names) {
      opts.log(`image ${name}`);
      const archive = pulledArchive(
        await pullImage(name, { arch: opts.arch, mirrors: registries, fetch: base }),
        opts.arch,
      );
      const staged = join(tmp, "image.tar");
      const digest = await writeImageArchive(staged, archive);
      const hex = digest.slice("sha256:".length);
      await rename(staged, join(tmp, "files", hex));
      images.push({ name, file: { name: `${name.replaceAll(/[/:]/g, "_")}.tar`, sha256: hex } });
    }
    const manifest = bundleSchema.parse({
      format: "kubelab.dev/bundle/v1",
      arch: opts.arch,
      kubernetes: { version: plan.kubernetes.version, debs, requires: fromDistribution },
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

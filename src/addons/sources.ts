/**
 * Where addon inputs come from: the pinned upstream manifests (URL + sha256), Helm charts
 * (checked against their repository index digest) and the pinned helm binary that renders
 * them. Online, everything goes through the content-addressed download cache and is verified
 * on every use; with an offline bundle, the same files come from the bundle.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ChartRef, checkPinnedChart, fetchChart } from "../artifacts/chart-repository.js";
import { sha256 } from "../artifacts/local.js";
import type { BundleManifest } from "../artifacts/offline-bundle.js";
import { type ArtifactStore, cachingStore, defaultCacheDir, directoryStore } from "../artifacts/store.js";
import { UserError } from "../errors.js";
import { PINNED, type PinnedFile } from "../versions.js";
import { hostArch, unpackHelm } from "./helm-binary.js";

/** The inputs addons are made from. */
export interface AddonSources {
  /** The text of a pinned manifest, verified against its sha256. */
  manifest(file: PinnedFile): Promise<string>;
  /** A chart archive (.tgz), verified against the digest its repository published. */
  chart(ref: ChartRef): Promise<Buffer>;
  /** A helm binary to render charts with; `remove` deletes the unpacked copy. */
  helm(): Promise<{ path: string; remove: () => Promise<void> }>;
}

const text = async (store: ArtifactStore, file: PinnedFile) => (await store.get(file)).toString("utf8");

/**
 * onlineSources download into the cache (`dir`, content-addressed): manifests and helm by
 * their pinned sha256; a chart by the digest its repository index gives on first download,
 * remembered in `dir/charts/<name>-<version>` so later runs need no network and still
 * verify the archive.
 */
export function onlineSources(dir = defaultCacheDir(), fetchImpl: typeof fetch = fetch): AddonSources {
  const store = cachingStore(dir, fetchImpl);
  return {
    manifest: (file) => text(store, file),
    async chart(ref) {
      const pointer = join(dir, "charts", `${ref.name}-${ref.version}`);
      const known = await readFile(pointer, "utf8").catch(() => undefined);
      if (known) {
        const digest = known.trim();
        const cached = await readFile(join(dir, digest)).catch(() => undefined);
        if (cached && sha256(cached) === digest && (ref.sha256 === undefined || ref.sha256 === digest)) return cached;
      }
      const { data } = await fetchChart(ref, fetchImpl);
      const digest = sha256(data);
      await mkdir(join(dir, "charts"), { recursive: true });
      // Temp + rename, as the download cache does: an interrupted write leaves no half file.
      const tmp = join(dir, `${digest}.partial-${process.pid}`);
      await writeFile(tmp, data);
      await rename(tmp, join(dir, digest));
      await writeFile(pointer, `${digest}\n`);
      return data;
    },
    helm: async () => unpackHelm(await store.get(PINNED.helm.files[hostArch()])),
  };
}

const REMAKE = "make the bundle again with kubelab bundle create";

/** bundleSources take every addon input from an offline bundle directory. */
export function bundleSources(bundleDir: string, b: BundleManifest): AddonSources {
  const store = directoryStore(join(bundleDir, "files"));
  const missing = (what: string) =>
    new UserError(`the bundle has no ${what}`, { hint: "make the bundle with this cluster file (bundle create)" });
  return {
    async manifest(file) {
      const entry = b.upstream.find((u) => u.url === file.url && u.sha256 === file.sha256);
      if (!entry) throw missing(file.url);
      return text(store, file);
    },
    async chart(ref) {
      const entry = b.charts.find((c) => c.name === ref.name && c.version === ref.version);
      if (!entry) throw missing(`chart ${ref.name} ${ref.version}`);
      checkPinnedChart(ref, entry.file.sha256, `the bundle's ${entry.file.name}`, REMAKE);
      return store.get({ url: entry.url, sha256: entry.file.sha256 });
    },
    async helm() {
      if (!b.helm) throw missing("helm");
      return unpackHelm(await store.get({ url: "bundle:helm.tar.gz", sha256: b.helm.sha256 }));
    },
  };
}

/** withChartFile writes a chart archive to a temp path for helm and removes it afterwards. */
export async function withChartFile<T>(dir: string, name: string, data: Buffer, f: (path: string) => Promise<T>) {
  const path = join(dir, `${name}-${sha256(data).slice(0, 12)}.tgz`);
  await writeFile(path, data);
  try {
    return await f(path);
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * Shared by the dev-tools image builders (images.ts: the control plane images;
 * metallb-images.ts: MetalLB's; calico-images.ts: Calico's): recipes of locally built
 * binaries on a minimal base, written as OCI image archives `ctr -n k8s.io images import`
 * registers under the recipe's name, plus an images.json index (format
 * kubelab.dev/dev-images/v1: name -> file -> sha256).
 *
 * Idempotent: an archive is rebuilt only when its inputs (binaries, recipe, the calling
 * script, this file and the layout code) change, so a warm run takes seconds. Builds for the
 * host's architecture.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildImage,
  buildLayer,
  directoryEntries,
  type ImageConfig,
  type Layer,
  type LayerEntry,
  layerFromDirectory,
  writeImageArchive,
} from "../../src/oci/layout.js";
import type { Arch } from "../../src/versions.js";

/** A path in ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev. */
export const cache = (...parts: string[]) =>
  join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kubelab-dev", ...parts);

/** A dev-tools build script's binary: <cache>/<component>/<version>/bin/<name>. */
export const bin = (component: string, version: string, name: string) => cache(component, version, "bin", name);

export const ARCH: Arch = process.arch === "arm64" ? "arm64" : "amd64";
export const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The users and groups of the distroless static base (root, nobody, nonroot).
const PASSWD = [
  "root:x:0:0:root:/root:/sbin/nologin",
  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin",
  "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin",
  "",
].join("\n");
const GROUP = ["root:x:0:", "nobody:x:65534:", "nonroot:x:65532:", ""].join("\n");
/** The "base" layer: an empty base for static binaries (/etc/passwd and /etc/group, /tmp). */
const BASE_ENTRIES: LayerEntry[] = [
  { path: "etc/passwd", content: PASSWD },
  { path: "etc/group", content: GROUP },
  { path: "tmp", directory: true, mode: 0o1777 },
];

/** A system account an image adds to the base's (as `adduser --system` in a Dockerfile). */
export interface ImageUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * usersLayer is the base's /etc/passwd and /etc/group with `users` (and a group of the same
 * name each) added, plus their home directories, owned by them: a layer on top of "base".
 */
export function usersLayer(users: readonly ImageUser[]): LayerSource {
  const passwd = users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:/sbin/nologin`);
  const group = users.map((u) => `${u.name}:x:${u.gid}:`);
  return {
    kind: "entries",
    entries: [
      { path: "etc/passwd", content: `${PASSWD}${passwd.join("\n")}\n` },
      { path: "etc/group", content: `${GROUP}${group.join("\n")}\n` },
      ...users.map((u) => ({ path: u.home, directory: true as const, uid: u.uid, gid: u.gid })),
    ],
  };
}

export type LayerSource =
  | { kind: "base" }
  /** A host directory tree (e.g. a Debian root); `key` names its content for the fingerprint. */
  | { kind: "root"; key: string; dir: () => Promise<string> }
  /** Host files (binaries: mode 0755, root's) at `path` in the image. */
  | { kind: "files"; files: { path: string; from: string; xattrs?: Record<string, Buffer> }[] }
  /**
   * A host directory laid out as in the image below `at` (default: the root), modes kept, owned by
   * root; fingerprinted by content.
   */
  | { kind: "tree"; dir: string; at?: string }
  /** Small entries given in full (license files, symlinks, files owned by a user...). */
  | { kind: "entries"; entries: LayerEntry[] };

export interface Recipe {
  /** Full reference the archive imports as, e.g. registry.k8s.io/pause:3.10.2. */
  name: string;
  file: string;
  layers: LayerSource[];
  config: ImageConfig;
}

/** A tree layer's entries: the directory as directoryEntries reads it, every entry root's. */
const treeEntries = async (dir: string, at?: string): Promise<LayerEntry[]> =>
  (await directoryEntries(dir, { prefix: at })).map((e) => ({ ...e, uid: 0, gid: 0 }));

/** What an entry list holds, for a fingerprint: contents by sha256. */
const entriesKey = (entries: LayerEntry[]) =>
  entries.map((e) => ("content" in e ? { ...e, content: createHash("sha256").update(e.content).digest("hex") } : e));

export async function fileSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

interface IndexEntry {
  name: string;
  file: string;
  /** sha256 of the archive file (hex, as bundle manifests record files). */
  sha256: string;
  size: number;
  /** What `ctr images ls` shows as DIGEST. */
  manifestDigest: string;
  /** Fingerprint of every input: the archive is rebuilt when it changes. */
  inputs: string;
}

/** images.json: format, what the images are built for (e.g. kubernetes: v1.37.2), arch, images. */
interface Index {
  format: "kubelab.dev/dev-images/v1";
  arch: Arch;
  images: IndexEntry[];
  [version: string]: unknown;
}

export interface Assembly {
  /** The archives and images.json go here. */
  outDir: string;
  /** Recorded in images.json after `format` (e.g. { kubernetes: "v1.37.2" }). */
  versions: Record<string, string>;
  recipes: Recipe[];
  /** The calling script (import.meta.url): its code is an input of every image. */
  script: string;
  /** What builds the binaries, named when one is missing. */
  buildsBinaries: string;
  log: (msg: string) => void;
}

/**
 * assembleImages writes every recipe's archive to outDir (keeping those whose inputs did not
 * change), then images.json, and removes archives no recipe names any more.
 */
export async function assembleImages(a: Assembly): Promise<void> {
  const { outDir, log } = a;
  const indexPath = join(outDir, "images.json");
  await mkdir(outDir, { recursive: true });
  const previousText = await readFile(indexPath, "utf8").catch(() => "");
  const previous: Partial<Index> | undefined = previousText ? JSON.parse(previousText) : undefined;
  const old = new Map((previous?.arch === ARCH ? (previous.images ?? []) : []).map((e) => [e.name, e]));

  const here = dirname(fileURLToPath(import.meta.url));
  const code = await Promise.all(
    [fileURLToPath(a.script), join(here, "images-lib.ts"), join(here, "../../src/oci/layout.ts")].map((f) =>
      fileSha256(f),
    ),
  );
  const missing = [
    ...new Set(
      a.recipes.flatMap((r) =>
        r.layers.flatMap((l) => (l.kind === "files" ? l.files.map((f) => f.from) : l.kind === "tree" ? [l.dir] : [])),
      ),
    ),
  ].filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`missing binaries (run ${a.buildsBinaries}):\n  ${missing.join("\n  ")}`);

  const hashes = new Map<string, string>();
  const hashOf = async (f: string) => {
    const h = hashes.get(f) ?? (await fileSha256(f));
    hashes.set(f, h);
    return h;
  };
  // What a layer is made of, for the fingerprint: file contents by sha256.
  const layerKey = async (l: LayerSource): Promise<unknown> => {
    switch (l.kind) {
      case "base":
        return "base";
      case "root":
        return l.key;
      case "files":
        return await Promise.all(l.files.map(async (f) => [f.path, await hashOf(f.from), Object.keys(f.xattrs ?? {})]));
      case "tree":
        return entriesKey(await treeEntries(l.dir, l.at));
      case "entries":
        return entriesKey(l.entries);
    }
  };
  let baseLayer: Layer | undefined;
  const started = Date.now();
  const entries: IndexEntry[] = [];
  for (const r of a.recipes) {
    const fingerprint = createHash("sha256")
      .update(
        JSON.stringify({
          arch: ARCH,
          code,
          name: r.name,
          config: r.config,
          layers: await Promise.all(r.layers.map(layerKey)),
        }),
      )
      .digest("hex");
    const file = join(outDir, r.file);
    const prev = old.get(r.name);
    if (
      prev &&
      prev.inputs === fingerprint &&
      prev.file === r.file &&
      (await stat(file).catch(() => undefined))?.size === prev.size
    ) {
      entries.push(prev);
      continue;
    }
    const t0 = Date.now();
    const layers: Layer[] = [];
    for (const l of r.layers) {
      if (l.kind === "base") {
        baseLayer ??= await buildLayer(BASE_ENTRIES);
        layers.push(baseLayer);
      } else if (l.kind === "root") layers.push(await layerFromDirectory(await l.dir()));
      else if (l.kind === "tree") layers.push(await buildLayer(await treeEntries(l.dir, l.at)));
      else if (l.kind === "entries") layers.push(await buildLayer(l.entries));
      else {
        const files = await Promise.all(
          l.files.map(async (f) => ({ path: f.path, mode: 0o755, content: await readFile(f.from), xattrs: f.xattrs })),
        );
        layers.push(await buildLayer(files));
      }
    }
    const image = buildImage({ name: r.name, arch: ARCH, layers, config: r.config });
    const digest = await writeImageArchive(file, image);
    entries.push({
      name: r.name,
      file: r.file,
      sha256: digest.replace(/^sha256:/, ""),
      size: image.size,
      manifestDigest: image.manifestDigest,
      inputs: fingerprint,
    });
    log(`${r.name}: ${r.file} ${(image.size / 2 ** 20).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  const index: Index = { format: "kubelab.dev/dev-images/v1", ...a.versions, arch: ARCH, images: entries };
  const text = `${JSON.stringify(index, null, 2)}\n`;
  if (text !== previousText) {
    await writeFile(`${indexPath}.tmp`, text);
    await rename(`${indexPath}.tmp`, indexPath);
  }
  // Archives of images no longer built (e.g. after a rename) are removed.
  const keep = new Set([...entries.map((e) => e.file), "images.json"]);
  for (const f of await readdir(outDir)) if (f.endsWith(".tar") && !keep.has(f)) await rm(join(outDir, f));
  log(`${entries.length} images in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  process.stdout.write(`${outDir}\n`);
}

/** runScript runs a builder's main and ends the process with its error, logged, if it fails. */
export async function runScript(log: (msg: string) => void, main: () => Promise<void>): Promise<void> {
  await main().catch((err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}

/**
 * Reading a flat apt repository (pkgs.k8s.io's layout: `deb URL /`) from the host, for
 * offline bundles: the signed Release file checked with gpgv against the repository's key,
 * the Packages index checked against the sum in Release, each .deb against the sum in
 * Packages. Only then does a package go into a bundle.
 */
import { createHash } from "node:crypto";
import { type AptPackage, parsePackages, releaseSums } from "../artifacts/apt-index.js";
import { pinnedKey, verifySignature } from "../artifacts/openpgp.js";
import type { AptRepository } from "../artifacts/package-source.js";
import { downloadError } from "../artifacts/store.js";
import { UserError } from "../errors.js";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Options of {@link readRepository}. */
export interface RepositoryOptions {
  readonly fetch?: typeof fetch;
  /** How the key is downloaded: never through a mirror, which must not choose its own anchor. @default fetch */
  readonly keyFetch?: typeof fetch;
}

/** What a bundle's download failures suggest: the bundle is made where the network is. */
const MIRROR_HINT =
  "check the network (a bundle is made on a machine that can reach the URLs), or download from a mirror: --mirror https://pkgs.k8s.io=https://mirror.example/k8s";

async function get(f: typeof fetch, url: string): Promise<Buffer> {
  const res = await f(url).catch((e: Error) => {
    throw downloadError(url, e.message, e, MIRROR_HINT);
  });
  if (!res.ok) throw downloadError(url, `HTTP ${res.status}`, undefined, MIRROR_HINT);
  return Buffer.from(await res.arrayBuffer());
}

/** An opened repository: its verified package index and a verified download. */
export interface Repository {
  readonly packages: readonly AptPackage[];
  /** The files the index was verified from, as downloaded: a bundle carries them so `up` checks them again. */
  readonly index: { release: Buffer; signature?: Buffer; packages: Buffer; key?: Buffer };
  download(p: AptPackage): Promise<Buffer>;
}

/**
 * readRepository opens a flat repository: with a key, the key must have a pinned fingerprint
 * and Release must carry a good signature (Release.gpg) by it; the Packages index must match
 * Release's sum either way.
 */
export async function readRepository(repo: AptRepository, opts: RepositoryOptions = {}): Promise<Repository> {
  const f = opts.fetch ?? fetch;
  const base = repo.url.endsWith("/") ? repo.url : `${repo.url}/`;
  const release = await get(f, `${base}Release`);
  let signed: { key: Buffer; signature: Buffer } | undefined;
  if (repo.keyUrl) {
    const pinned = repo.keyFingerprints ?? [];
    const key = pinnedKey(await get(opts.keyFetch ?? fetch, repo.keyUrl), pinned, repo.keyUrl);
    const signature = await get(f, `${base}Release.gpg`);
    await verifySignature(release, signature, key, pinned, `${base}Release`);
    signed = { key, signature };
  }
  const sum = releaseSums(release.toString("utf8")).get("Packages");
  if (!sum) throw new UserError(`${base}Release lists no sha256 for Packages`, { exitCode: 1 });
  const index = await get(f, `${base}Packages`);
  if (sha256(index) !== sum.sha256)
    throw new UserError(`${base}Packages does not match the sum in Release`, {
      details: `expected ${sum.sha256}\ngot      ${sha256(index)}`,
      exitCode: 1,
    });
  return {
    packages: parsePackages(index.toString("utf8")),
    index: { release, packages: index, ...signed },
    async download(p) {
      const data = await get(f, new URL(p.filename, base).href);
      if (sha256(data) !== p.sha256)
        throw new UserError(`${p.filename} does not match the sum in Packages`, {
          details: `expected ${p.sha256}\ngot      ${sha256(data)}`,
          exitCode: 1,
        });
      return data;
    },
  };
}

/** Debian version comparison (dpkg's algorithm: epoch, upstream, revision; `~` sorts first). */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(":");
    const epoch = colon === -1 ? 0 : Number(v.slice(0, colon));
    const rest = colon === -1 ? v : v.slice(colon + 1);
    const dash = rest.lastIndexOf("-");
    return [epoch, dash === -1 ? rest : rest.slice(0, dash), dash === -1 ? "0" : rest.slice(dash + 1)] as const;
  };
  const order = (c: string) => (c === "~" ? -1 : /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c ? c.charCodeAt(0) + 256 : 0);
  const part = (x: string, y: string): number => {
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      let diff = 0;
      while ((i < x.length && !/\d/.test(x[i] as string)) || (j < y.length && !/\d/.test(y[j] as string))) {
        const ca = i < x.length && !/\d/.test(x[i] as string) ? order(x[i] as string) : 0;
        const cb = j < y.length && !/\d/.test(y[j] as string) ? order(y[j] as string) : 0;
        if (ca !== cb) return ca - cb;
        i++;
        j++;
      }
      while (x[i] === "0") i++;
      while (y[j] === "0") j++;
      while (i < x.length && /\d/.test(x[i] as string) && j < y.length && /\d/.test(y[j] as string)) {
        if (!diff) diff = (x.charCodeAt(i) as number) - (y.charCodeAt(j) as number);
        i++;
        j++;
      }
      if (i < x.length && /\d/.test(x[i] as string)) return 1;
      if (j < y.length && /\d/.test(y[j] as string)) return -1;
      if (diff) return diff;
    }
    return 0;
  };
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  return ea !== eb ? ea - eb : part(ua, ub) || part(ra, rb);
}

/**
 * selectPackages picks `names` at exactly `version`, plus every package they depend on that
 * the same repository carries (its newest version: cri-tools, kubernetes-cni on
 * pkgs.k8s.io). Dependencies the repository does not carry come from the node's
 * distribution and are returned apart.
 */
export function selectPackages(
  packages: readonly AptPackage[],
  names: readonly string[],
  version: string,
  arch: string,
): { selected: AptPackage[]; fromDistribution: string[] } {
  const forArch = packages.filter((p) => p.architecture === arch || p.architecture === "all");
  const selected = new Map<string, AptPackage>();
  const fromDistribution = new Set<string>();
  const add = (name: string, exact?: string) => {
    if (selected.has(name)) return;
    const candidates = forArch.filter((p) => p.name === name && (exact === undefined || p.version === exact));
    if (candidates.length === 0) {
      if (exact !== undefined)
        throw new UserError(`the repository has no ${name}=${exact} for ${arch}`, {
          hint: "check the pinned Kubernetes version and the repository URL",
        });
      fromDistribution.add(name);
      return;
    }
    const best = candidates.reduce((a, b) => (compareDebianVersions(a.version, b.version) >= 0 ? a : b));
    selected.set(name, best);
    for (const d of best.depends) add(d);
  };
  for (const n of names) add(n, version);
  return { selected: [...selected.values()], fromDistribution: [...fromDistribution].sort() };
}

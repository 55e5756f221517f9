/**
 * Helm charts fetched from their repository the way `helm pull` does (for the download
 * cache and for offline bundles): the repository's index.yaml names each chart version's
 * archive URL and sha256 digest; the archive must match that digest, and the sha256 kubelab
 * pins for it when there is one (an index from the same server vouches for nothing).
 */
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { UserError } from "../errors.js";
import { downloadError } from "./store.js";

/** A chart at a version in a repository. */
export interface ChartRef {
  /** Repository URL (the directory of index.yaml). */
  readonly repository: string;
  readonly name: string;
  readonly version: string;
  /** The archive's pinned sha256 (versions.ts); when set, the archive must have it, whatever the index says. */
  readonly sha256?: string;
}

interface IndexEntry {
  version?: string;
  urls?: string[];
  digest?: string;
}

async function get(f: typeof fetch, url: string): Promise<Buffer> {
  const res = await f(url).catch((e: Error) => {
    throw downloadError(url, e.message, e);
  });
  if (!res.ok) throw downloadError(url, `HTTP ${res.status}`);
  return Buffer.from(
    await res.arrayBuffer().catch((e: Error) => {
      throw downloadError(url, `the connection broke off (${e.message})`, e);
    }),
  );
}

/** fetchChart downloads a chart archive (.tgz) and checks it against the repository index. */
export async function fetchChart(ref: ChartRef, f: typeof fetch = fetch): Promise<{ data: Buffer; url: string }> {
  const base = ref.repository.endsWith("/") ? ref.repository : `${ref.repository}/`;
  const index = parse((await get(f, `${base}index.yaml`)).toString("utf8")) as {
    entries?: Record<string, IndexEntry[]>;
  };
  const entry = index.entries?.[ref.name]?.find((e) => e.version === ref.version);
  if (!entry?.urls?.[0] || !entry.digest)
    throw new UserError(`${base}index.yaml has no ${ref.name} ${ref.version} (with a URL and digest)`, { exitCode: 1 });
  const url = new URL(entry.urls[0], base).href;
  const data = await get(f, url);
  const got = createHash("sha256").update(data).digest("hex");
  if (got !== entry.digest)
    throw new UserError(`${url} does not match the digest in ${base}index.yaml`, {
      details: `expected ${entry.digest}\ngot      ${got}`,
      exitCode: 1,
    });
  checkPinnedChart(ref, got, url);
  return { data, url };
}

/** checkPinnedChart throws when `ref` pins a sha256 and the archive (from `where`) has another. */
export function checkPinnedChart(ref: ChartRef, got: string, where: string, hint?: string): void {
  if (ref.sha256 !== undefined && got !== ref.sha256)
    throw new UserError(`${where} is not the pinned chart ${ref.name} ${ref.version}`, {
      details: `pinned sha256 ${ref.sha256}\ngot           ${got}`,
      ...(hint ? { hint } : {}),
      exitCode: 1,
    });
}

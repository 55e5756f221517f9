/**
 * The upstream files the tests read, fetched the way kubelab fetches what it downloads: by URL
 * through its content-addressed download cache (src/artifacts/store.ts), every file checked
 * against its pinned sha256.
 *
 *   npx tsx scripts/dev-tools/upstream.ts fixtures       pinned manifests and charts
 *   npx tsx scripts/dev-tools/upstream.ts source NAME    one source archive (e.g. calico-3.32.1)
 *
 * `fixtures` reads upstream-files.tsv beside this file (dir, repo, tag, path, sha256), fetches
 * https://raw.githubusercontent.com/<repo>/<tag>/<path> into the download cache and lays the
 * files out as <dev cache>/upstream/<dir>/<tag>/<path> (the layout `kubelab render --upstream`
 * reads); prints that directory. `source` reads sources.tsv (sha256, file, repository, tag,
 * commit) and prints the path of the verified archive (<dev cache>/sources/<file>).
 *
 * Offline, a mirror directory seeds the cache instead of the network, with the same checks:
 * KUBELAB_UPSTREAM_MIRROR (laid out <dir>/<tag>/<path>) and KUBELAB_SOURCES_MIRROR (archives by
 * file name). Unset, each defaults to a mirror kept beside the checkout if there is one. Online,
 * a source archive is made from a shallow clone of its tag whose commit must be the pinned one
 * (git's own content address), since the forge's archives are not byte-stable.
 * Warm runs read and verify the cache only (about a second).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cachingStore } from "../../src/artifacts/store.js";
import type { PinnedFile } from "../../src/versions.js";
import { cache } from "./images-lib.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..");
const log = (msg: string) => process.stderr.write(`upstream: ${msg}\n`);

/** One row of a tab-separated table with a header line; `#` lines are comments. */
function readTable(file: string): Record<string, string>[] {
  const lines = readFileSync(join(here, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const [header = "", ...rows] = lines;
  const names = header.split("\t");
  return rows.map((row) => Object.fromEntries(row.split("\t").map((v, i) => [names[i] ?? `${i}`, v])));
}

/** A mirror directory: the variable's value, else `fallback` when it exists, else none. */
function mirror(variable: string, fallback: string): string | undefined {
  const set = process.env[variable];
  if (set) {
    if (!existsSync(set)) throw new Error(`${variable}=${set}: no such directory`);
    return set;
  }
  return existsSync(fallback) ? fallback : undefined;
}

/**
 * mirrorFetch answers the URLs in `files` from the mirror when the file is there, and sends
 * everything else to the network: the cache checks the sha256 either way.
 */
function mirrorFetch(files: ReadonlyMap<string, string>): typeof fetch {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const local = files.get(url);
    if (local && existsSync(local)) return new Response(await readFile(local));
    return fetch(input, init);
  };
}

/** The sha256 of the fixtures table: the stamp that says a laid-out tree is complete and current. */
export function fixturesStamp(): string {
  return createHash("sha256")
    .update(readFileSync(join(here, "upstream-files.tsv")))
    .digest("hex");
}

/** fixtures fetches every pinned upstream file the tests read and lays them out; returns the tree. */
export async function fixtures(): Promise<string> {
  const tree = cache("upstream");
  const stampFile = join(tree, ".complete");
  const stamp = fixturesStamp();
  const rows = readTable("upstream-files.tsv");
  const seed = mirror("KUBELAB_UPSTREAM_MIRROR", join(repoRoot, "..", "shared", "fixtures", "upstream"));
  const files = rows.map((r) => ({
    pinned: { url: `https://raw.githubusercontent.com/${r.repo}/${r.tag}/${r.path}`, sha256: r.sha256 } as PinnedFile,
    rel: join(r.dir ?? "", r.tag ?? "", r.path ?? ""),
  }));
  const store = cachingStore(
    cache("downloads"),
    mirrorFetch(new Map(seed ? files.map((f) => [f.pinned.url, join(seed, f.rel)]) : [])),
  );
  const fresh = (await readFile(stampFile, "utf8").catch(() => "")).trim() !== stamp;
  if (fresh) log(`fetching ${files.length} files${seed ? ` (mirror ${seed})` : ""}`);
  for (const f of files) {
    // store.get verifies the cached copy on every run, so a damaged cache heals here.
    const data = await store.get(f.pinned);
    const out = join(tree, f.rel);
    const current = await readFile(out).catch(() => undefined);
    if (current?.equals(data)) continue;
    await mkdir(dirname(out), { recursive: true });
    await writeFile(`${out}.partial`, data);
    await rename(`${out}.partial`, out);
  }
  if (fresh) await writeFile(stampFile, `${stamp}\n`);
  return tree;
}

const sha256File = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

/** source returns the path of a verified source archive named `name` (file name without .tar.gz). */
export async function source(name: string): Promise<string> {
  const row = readTable("sources.tsv").find((r) => r.file === `${name}.tar.gz`);
  if (!row) throw new Error(`no source ${name} in scripts/dev-tools/sources.tsv`);
  const { sha256 = "", file = "", repository = "", tag = "", commit = "" } = row;
  const out = cache("sources", file);
  if (existsSync(out) && (await sha256File(out)) === sha256) return out;
  if (existsSync(`${out}.commit`) && existsSync(out) && (await readFile(`${out}.commit`, "utf8")).trim() === commit)
    return out;
  await mkdir(dirname(out), { recursive: true });
  const seed = mirror("KUBELAB_SOURCES_MIRROR", join(repoRoot, "..", "shared", "sources"));
  if (seed && existsSync(join(seed, file))) {
    const got = await sha256File(join(seed, file));
    if (got !== sha256) throw new Error(`${join(seed, file)}: sha256 ${got}, pinned ${sha256}`);
    await copyFile(join(seed, file), `${out}.partial`);
    await rename(`${out}.partial`, out);
    log(`${file} from the mirror, sha256 checked`);
    return out;
  }
  // Online: a shallow clone of the tag, accepted only at the pinned commit.
  const tmp = await mkdtemp(join(dirname(out), ".clone-"));
  try {
    log(`cloning ${repository} ${tag}`);
    execFileSync("git", ["clone", "-q", "--depth", "1", "--branch", tag, repository, join(tmp, "src")], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const head = execFileSync("git", ["-C", join(tmp, "src"), "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    if (head !== commit) throw new Error(`${repository} ${tag} is at ${head}, pinned ${commit}: refusing it`);
    const archive = execFileSync("git", ["-C", join(tmp, "src"), "archive", `--prefix=${name}/`, "HEAD"], {
      maxBuffer: 1 << 30,
    });
    const gz = execFileSync("gzip", ["-n"], { input: archive, maxBuffer: 1 << 30 });
    await writeFile(`${out}.partial`, gz);
    await rename(`${out}.partial`, out);
    await writeFile(`${out}.commit`, `${commit}\n`);
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [what, name] = process.argv.slice(2);
  const run = what === "fixtures" ? fixtures() : what === "source" && name ? source(name) : undefined;
  if (!run) {
    process.stderr.write("usage: upstream.ts fixtures | upstream.ts source NAME\n");
    process.exit(2);
  }
  run.then(
    (path) => process.stdout.write(`${path}\n`),
    (e: Error) => {
      process.stderr.write(`upstream: ${e.message}\n`);
      process.exit(1);
    },
  );
}

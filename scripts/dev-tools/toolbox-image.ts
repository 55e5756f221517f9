/**
 * The tests' toolbox image, registry.kubelab.test/toolbox:1: one static busybox (Debian's
 * busybox-static package) with its applets linked into /bin, on images-lib's empty base. Pods
 * in the lab tests use it as an HTTP server (`httpd`) and as a client (`wget`, `nc`,
 * `nslookup`), so checking the pod network needs no image from the internet.
 *   usage: npx tsx scripts/dev-tools/toolbox-image.ts     (npm run test:lab runs it first)
 * Downloads the package once with `apt-get download` (apt checks it against the host's signed
 * indexes) and keeps its busybox under ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/toolbox/; writes
 * ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/toolbox-1/toolbox.tar plus images.json (format
 * kubelab.dev/dev-images/v1, with "busybox": the package version). Prints that directory as the
 * last stdout line; progress goes to stderr. Idempotent: a warm run reads nothing from the
 * network and takes about a second.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LayerEntry } from "../../src/oci/layout.js";
import { assembleImages, cache, PATH_ENV, runScript } from "./images-lib.js";

const log = (msg: string) => process.stderr.write(`toolbox-image: ${msg}\n`);

/** The image's name (tests read it from images.json); bump the tag when what they need changes. */
const TOOLBOX_IMAGE = "registry.kubelab.test/toolbox:1";
const PACKAGE = "busybox-static";

/** busybox from the package, fetched and unpacked once: its path and the package version. */
async function busybox(): Promise<{ path: string; version: string }> {
  const dir = cache("toolbox", PACKAGE);
  const path = join(dir, "busybox");
  const versionFile = join(dir, "version");
  if (existsSync(path) && existsSync(versionFile))
    return { path, version: (await readFile(versionFile, "utf8")).trim() };
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dir, "download-"));
  try {
    log(`apt-get download ${PACKAGE} (once)`);
    // As root into a private directory: apt's unprivileged download user could not write there.
    execFileSync("apt-get", ["-o", "APT::Sandbox::User=root", "download", PACKAGE], {
      cwd: work,
      stdio: ["ignore", 2, 2],
    });
    const deb = (await readdir(work)).find((f) => f.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${PACKAGE} left no .deb in ${work}`);
    const version = execFileSync("dpkg-deb", ["-f", join(work, deb), "Version"])
      .toString()
      .trim();
    execFileSync("dpkg-deb", ["-x", join(work, deb), join(work, "root")]);
    await rename(join(work, "root", "bin", "busybox"), path);
    await writeFile(versionFile, `${version}\n`);
    return { path, version };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await runScript(log, async () => {
  const { path, version } = await busybox();
  // Every applet this busybox has, as a link next to it (/bin/sh, /bin/httpd, /bin/wget...).
  const applets = execFileSync(path, ["--list"]).toString().split("\n").filter(Boolean);
  const links: LayerEntry[] = applets
    .filter((a) => a !== "busybox")
    .map((a) => ({ path: `bin/${a}`, symlink: "busybox" }));
  await assembleImages({
    outDir: cache("images", "toolbox-1"),
    versions: { busybox: version },
    recipes: [
      {
        name: TOOLBOX_IMAGE,
        file: "toolbox.tar",
        layers: [
          { kind: "base" },
          { kind: "files", files: [{ path: "bin/busybox", from: path }] },
          { kind: "entries", entries: links },
        ],
        config: { cmd: ["/bin/sh"], env: [PATH_ENV] },
      },
    ],
    script: import.meta.url,
    buildsBinaries: "scripts/dev-tools/toolbox-image.ts",
    log,
  });
});

/**
 * Debian roots for the dev-tools images whose programs need a userland (kube-proxy's iptables,
 * calico-node's iptables, ipset, runit..., the Linkerd proxy's glibc and iptables): a minimal
 * debootstrap of a Debian release with a few packages, stripped of docs and caches, built once
 * (as root) and cached by recipe under
 * ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/base/<key>/rootfs. images.ts,
 * calico-images.ts and linkerd-images.ts use it through debianRootLayer.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { hostEnv } from "../../src/providers/host.js";
import { unmountUnder } from "../../src/providers/nspawn/host.js";
import { ARCH, cache, type LayerSource } from "./images-lib.js";

/** What goes into one cached root. */
export interface DebianRootRecipe {
  /** Names the root in its cache key, e.g. "kube-proxy". */
  name: string;
  /** Bump to rebuild the root (a new cache directory; old ones are left). */
  revision: number;
  /** Debian release, e.g. "bookworm". */
  release: string;
  /** Installed on top of the minbase variant (their dependencies too, not their recommends). */
  packages: string[];
  /** A path (relative to the root) that only a finished root has, e.g. "usr/sbin/conntrack". */
  marker: string;
  /** Paths (relative to the root) removed once the packages are in, e.g. a package's boot wiring. */
  prune?: string[];
}

/** Left out of a root: docs, man pages, locales, apt's downloaded lists and caches, logs. */
const STRIP = [
  "usr/share/doc",
  "usr/share/man",
  "usr/share/info",
  "usr/share/locale",
  "usr/share/lintian",
  "var/cache/apt",
  "var/lib/apt/lists",
  "var/log",
  "dev",
  "run",
  "tmp",
  "var/tmp",
];

/** debianRootKey names a recipe's cached root (and is its fingerprint in an image's inputs). */
export const debianRootKey = (r: DebianRootRecipe) => `debian-${r.release}-${r.name}-v${r.revision}-${ARCH}`;

/** debianRootLayer is the image layer of a recipe's root, built on first use. */
export function debianRootLayer(r: DebianRootRecipe, log: (msg: string) => void): LayerSource {
  return { kind: "root", key: debianRootKey(r), dir: () => debianRoot(r, log) };
}

/** The Debian mirror the host's apt uses (deb822 .sources or one-line sources.list), else deb.debian.org. */
async function hostDebianMirror(release: string): Promise<string> {
  if (process.env.KUBELAB_DEBIAN_MIRROR) return process.env.KUBELAB_DEBIAN_MIRROR;
  const files = ["/etc/apt/sources.list"];
  const d = "/etc/apt/sources.list.d";
  if (existsSync(d))
    files.push(...(await readdir(d)).filter((f) => /\.(list|sources)$/.test(f)).map((f) => join(d, f)));
  for (const f of files) {
    const text = await readFile(f, "utf8").catch(() => "");
    if (f.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "mi").exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (field("Types").includes("deb") && field("Suites").includes(release)) {
          const uri = field("URIs")[0];
          if (uri) return uri;
        }
      }
    } else {
      for (const line of text.split("\n")) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m?.[1] && m[2] === release) return m[1];
      }
    }
  }
  return "http://deb.debian.org/debian";
}

function runLogged(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // debootstrap's progress goes to our stderr: stdout carries only the result.
    const child = spawn(cmd, args, { stdio: ["ignore", 2, 2], env: hostEnv() });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

/** debianRoot returns a recipe's cached root, building it once with debootstrap. */
export async function debianRoot(r: DebianRootRecipe, log: (msg: string) => void): Promise<string> {
  const dir = cache("images", "base", debianRootKey(r));
  const root = join(dir, "rootfs");
  if (existsSync(join(root, r.marker))) return root;
  if (process.getuid?.() !== 0) throw new Error(`building ${root} runs debootstrap, which needs root`);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `rootfs.tmp-${process.pid}`);
  const mirror = await hostDebianMirror(r.release);
  const started = Date.now();
  log(`building the ${r.name} base root: debootstrap ${r.release} from ${mirror} (once, about a minute)`);
  try {
    await runLogged("debootstrap", [
      "--variant=minbase",
      `--arch=${ARCH}`,
      `--include=${r.packages.join(",")}`,
      r.release,
      tmp,
      mirror,
    ]);
    // debootstrap copies the host's name and resolver config; the runtime mounts its own.
    await rm(join(tmp, "etc/hostname"), { force: true });
    await rm(join(tmp, "etc/resolv.conf"), { force: true });
    for (const p of r.prune ?? []) await rm(join(tmp, p), { recursive: true, force: true });
    for (const p of STRIP) {
      const full = join(tmp, p);
      // Contents only: the directories stay (dpkg and the runtime expect /dev, /tmp, ...).
      for (const e of existsSync(full) ? await readdir(full) : []) await rm(join(full, e), { recursive: true });
    }
    await rename(tmp, root);
  } catch (err) {
    // A failed debootstrap can leave /proc and /sys mounted in its target.
    await unmountUnder(tmp);
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(join(root, r.marker))) return root; // another run won the race
    throw err;
  }
  log(`built the ${r.name} base root in ${Math.round((Date.now() - started) / 1000)}s`);
  return root;
}

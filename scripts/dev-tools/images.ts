/**
 * Assemble the control plane images kubeadm expects (kube-apiserver, kube-controller-manager,
 * kube-scheduler, kube-proxy, etcd, coredns, pause) from locally built binaries, as OCI image
 * archives `ctr -n k8s.io images import` registers under exactly kubeadm's names: the test
 * substrate for an offline kubeadm cluster.
 *   usage: npx tsx scripts/dev-tools/images.ts     (run scripts/dev-tools/k8s-images.sh,
 *          which builds the binaries first)
 * Reads the binaries from ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/{kubernetes,etcd,coredns,pause}/
 * and writes ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/<kubernetes version>/<name>.tar plus
 * images.json (name -> file -> sha256). Prints that directory as the last stdout line;
 * progress goes to stderr.
 *
 * Static binaries go on an empty base (/etc/passwd and /etc/group, /tmp), where kubeadm's
 * manifests look for them: the static pods run `kube-apiserver ...`, `etcd ...` through PATH
 * (/usr/local/bin), kube-proxy's DaemonSet runs /usr/local/bin/kube-proxy, CoreDNS's
 * Deployment the image entrypoint /coredns, the sandbox /pause. kube-proxy needs iptables,
 * nft, conntrack (and ipset for IPVS mode), so its base is a small Debian root made with
 * debootstrap (as root), cached by release.
 *
 * Idempotent: an archive is rebuilt only when its inputs (binaries, recipe, this script,
 * images-lib.ts and the layout code) change, so a warm run takes seconds. Builds for the
 * host's architecture. The assembly is shared with metallb-images.ts (images-lib.ts).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { hostEnv } from "../../src/providers/host.js";
import { unmountUnder } from "../../src/providers/nspawn/host.js";
import { KUBERNETES_MINORS, PINNED } from "../../src/versions.js";
import { ARCH, assembleImages, bin, cache, PATH_ENV, type Recipe, runScript } from "./images-lib.js";

const log = (msg: string) => process.stderr.write(`images: ${msg}\n`);

const K8S = PINNED.kubernetes.version;
const MINOR = K8S.replace(/^v(\d+\.\d+)\..*$/, "$1") as keyof typeof KUBERNETES_MINORS;
const TAGS = KUBERNETES_MINORS[MINOR];
// The etcd image tag is "<etcd version>-<image revision>" (3.7.0-0 holds etcd v3.7.0).
const ETCD = `v${TAGS.etcd.replace(/-\d+$/, "")}`;

/** Bump to rebuild the kube-proxy base root (a new cache directory; old ones are left). */
const ROOT_RECIPE = 1;
const ROOT_RELEASE = "bookworm";
/** ipset: kube-proxy's IPVS mode runs it; kubelab supports that mode. */
const ROOT_PACKAGES = ["iptables", "nftables", "conntrack", "ipset"];
/** Left out of the root: docs, man pages, locales, apt's downloaded lists and caches, logs. */
const ROOT_STRIP = [
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

// vfs_cap_data revision 2 with the effective bit, permitted = CAP_NET_BIND_SERVICE: what the
// upstream CoreDNS image's `setcap cap_net_bind_service=+ep /coredns` writes, so CoreDNS can
// bind :53 as its non-root user.
const NET_BIND_SERVICE_CAP = Buffer.from("0100000200040000000000000000000000000000", "hex");

const k8sBin = (name: string) => bin("kubernetes", K8S, name);

function recipes(): Recipe[] {
  const control = (name: string): Recipe => ({
    name: `registry.k8s.io/${name}:${K8S}`,
    file: `${name}.tar`,
    layers: [{ kind: "base" }, { kind: "files", files: [{ path: `usr/local/bin/${name}`, from: k8sBin(name) }] }],
    config: { entrypoint: [`/usr/local/bin/${name}`], env: [PATH_ENV] },
  });
  return [
    control("kube-apiserver"),
    control("kube-controller-manager"),
    control("kube-scheduler"),
    {
      name: `registry.k8s.io/kube-proxy:${K8S}`,
      file: "kube-proxy.tar",
      layers: [
        { kind: "root", key: rootKey(), dir: debianRoot },
        { kind: "files", files: [{ path: "usr/local/bin/kube-proxy", from: k8sBin("kube-proxy") }] },
      ],
      config: { entrypoint: ["/usr/local/bin/kube-proxy"], env: [PATH_ENV] },
    },
    {
      name: `registry.k8s.io/coredns/coredns:${TAGS.coredns}`,
      file: "coredns.tar",
      layers: [
        { kind: "base" },
        {
          kind: "files",
          files: [
            {
              path: "coredns",
              from: bin("coredns", TAGS.coredns, "coredns"),
              xattrs: { "security.capability": NET_BIND_SERVICE_CAP },
            },
          ],
        },
      ],
      // As upstream: the distroless "nonroot" user, working directory /.
      config: { entrypoint: ["/coredns"], user: "65532:65532", workingDir: "/", env: [PATH_ENV] },
    },
    {
      name: `registry.k8s.io/pause:${TAGS.pause}`,
      file: "pause.tar",
      // As upstream: /pause alone (FROM scratch), run as 65535:65535.
      layers: [{ kind: "files", files: [{ path: "pause", from: bin("pause", TAGS.pause, "pause") }] }],
      config: { entrypoint: ["/pause"], user: "65535:65535" },
    },
    {
      name: `registry.k8s.io/etcd:${TAGS.etcd}`,
      file: "etcd.tar",
      layers: [
        { kind: "base" },
        {
          kind: "files",
          files: ["etcd", "etcdctl"].map((n) => ({ path: `usr/local/bin/${n}`, from: bin("etcd", ETCD, n) })),
        },
      ],
      config: { entrypoint: ["/usr/local/bin/etcd"], env: [PATH_ENV] },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// kube-proxy's Debian root

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

const rootKey = () => `debian-${ROOT_RELEASE}-kube-proxy-v${ROOT_RECIPE}-${ARCH}`;

/** debianRoot returns the cached kube-proxy base root, building it once with debootstrap. */
async function debianRoot(): Promise<string> {
  const dir = cache("images", "base", rootKey());
  const root = join(dir, "rootfs");
  if (existsSync(join(root, "usr/sbin/conntrack"))) return root;
  if (process.getuid?.() !== 0) throw new Error(`building ${root} runs debootstrap, which needs root`);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `rootfs.tmp-${process.pid}`);
  const mirror = await hostDebianMirror(ROOT_RELEASE);
  const started = Date.now();
  log(`building the kube-proxy base root: debootstrap ${ROOT_RELEASE} from ${mirror} (once, about a minute)`);
  try {
    await runLogged("debootstrap", [
      "--variant=minbase",
      `--arch=${ARCH}`,
      `--include=${ROOT_PACKAGES.join(",")}`,
      ROOT_RELEASE,
      tmp,
      mirror,
    ]);
    // debootstrap copies the host's name and resolver config; the runtime mounts its own.
    await rm(join(tmp, "etc/hostname"), { force: true });
    await rm(join(tmp, "etc/resolv.conf"), { force: true });
    for (const p of ROOT_STRIP) {
      const full = join(tmp, p);
      // Contents only: the directories stay (dpkg and the runtime expect /dev, /tmp, ...).
      for (const e of existsSync(full) ? await readdir(full) : []) await rm(join(full, e), { recursive: true });
    }
    await rename(tmp, root);
  } catch (err) {
    // A failed debootstrap can leave /proc and /sys mounted in its target.
    await unmountUnder(tmp);
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(join(root, "usr/sbin/conntrack"))) return root; // another run won the race
    throw err;
  }
  log(`built the kube-proxy base root in ${Math.round((Date.now() - started) / 1000)}s`);
  return root;
}

// ---------------------------------------------------------------------------------------------

await runScript(log, () =>
  assembleImages({
    outDir: cache("images", K8S),
    versions: { kubernetes: K8S },
    recipes: recipes(),
    script: import.meta.url,
    buildsBinaries: "scripts/dev-tools/k8s-images.sh",
    log,
  }),
);

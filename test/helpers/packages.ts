/**
 * A package source for tests, built here without the internet:
 * - containerd 2 release files: the binaries built with Go from containerd's module
 *   (scripts/dev-tools/containerd2.sh), packed in the upstream tarball layout; runc and the
 *   CNI plugins from Debian's packages;
 * - a flat apt repository (dpkg-deb + apt-ftparchive) with kubeadm, kubelet and kubectl
 *   packages at the plan's version (the pinned one, or v1.36.3 for the upgrade tests), holding the real binaries built with Go from
 *   k8s.io/kubernetes (scripts/dev-tools/kubernetes.sh) and the systemd units the official
 *   packages install (kubelet.service, and kubeadm's 10-kubeadm.conf drop-in).
 * The repository is signed as pkgs.k8s.io's is (Release.gpg, the key as Release.key) with a
 * TEST KEY made here, and served over HTTP on the test bridge's gateway address only.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import type { PackageSource } from "../../src/artifacts/package-source.js";
import type { ArtifactStore } from "../../src/artifacts/store.js";
import { PREPARE_PHASES } from "../../src/cluster/up.js";
import type { Plan } from "../../src/plan/types.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import type { PinnedFile } from "../../src/versions.js";
import { CONTAINERD2_VERSION, CRICTL_VERSION, cacheDir, isExecutable, KUBERNETES_VERSION } from "./tools.js";

const RECIPE = "v4";
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });

/** What the test package source is made of, on this host. */
export interface TestPackages {
  readonly dir: string;
  readonly files: { containerd: PinnedFile; runc: PinnedFile; cniPlugins: PinnedFile };
  readonly aptDir: string;
  readonly packageVersion: string;
}

async function artifact(dir: string, name: string, data: Buffer): Promise<PinnedFile> {
  const sum = sha256(data);
  await writeFile(join(dir, "artifacts", sum), data);
  return { url: `test://${name}`, sha256: sum };
}

/** kubelet.service as the official kubelet package installs it. */
const KUBELET_SERVICE = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

/** The drop-in the official kubeadm package installs: kubelet runs with what kubeadm wrote. */
const KUBEADM_DROPIN = `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# kubeadm init and join write this file, setting KUBELET_KUBEADM_ARGS.
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# The user's overrides (kubelab writes --node-ip here), KUBELET_EXTRA_ARGS.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

/** Package contents besides /usr/bin/<name>, and dependencies (those the nspawn node image has). */
const PACKAGES: Record<
  string,
  {
    files: Record<string, string>;
    depends: string;
    postinst?: string;
    /** A package of another binary than /usr/bin/<name> of Kubernetes: its name and where it was built. */
    other?: { binary: string; version: string; path: () => string };
  }
> = {
  kubelet: {
    files: { "usr/lib/systemd/system/kubelet.service": KUBELET_SERVICE },
    depends: "iptables, iproute2, mount",
    // As the official package: enabled, started by kubeadm once its configuration exists.
    postinst:
      '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then systemctl enable kubelet.service >/dev/null 2>&1 || true; fi\n',
  },
  kubeadm: {
    files: { "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf": KUBEADM_DROPIN },
    // As on pkgs.k8s.io: crictl comes with kubeadm (kubelab runs etcdctl through it).
    depends: "kubelet, kubectl, cri-tools",
  },
  kubectl: { files: {}, depends: "" },
  "cri-tools": {
    files: {},
    depends: "",
    other: { binary: "crictl", version: CRICTL_VERSION, path: () => crictlBinary() },
  },
};

/** cri-tools' package version, as pkgs.k8s.io numbers it. */
const CRI_TOOLS_VERSION = `${CRICTL_VERSION.slice(1)}-1.1`;

async function deb(
  work: string,
  out: string,
  name: string,
  release: string,
  version: string,
  arch: string,
): Promise<void> {
  const spec = PACKAGES[name];
  if (!spec) throw new Error(`no test package spec for ${name}`);
  const binary = spec.other?.binary ?? name;
  const root = join(work, name);
  await mkdir(join(root, "DEBIAN"), { recursive: true });
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await writeFile(
    join(root, "DEBIAN/control"),
    `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: kubelab tests <tests@kubelab.invalid>\n${spec.depends ? `Depends: ${spec.depends}\n` : ""}Description: ${spec.other ? `${binary} ${spec.other.version}` : `Kubernetes ${name} ${release}`} built from source by kubelab's test suite\n`,
  );
  if (spec.postinst) {
    await writeFile(join(root, "DEBIAN/postinst"), spec.postinst);
    await chmod(join(root, "DEBIAN/postinst"), 0o755);
  }
  await cp(spec.other?.path() ?? kubernetesBinary(name, release), join(root, "usr/bin", binary));
  for (const [path, content] of Object.entries(spec.files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  // gzip, fast: the nodes unpack these on every first run.
  sh("dpkg-deb", ["-Zgzip", "-z1", "--root-owner-group", "--build", root, join(out, `${name}_${version}_${arch}.deb`)]);
}

/** crictl as scripts/dev-tools/crictl.sh built it; the test packages need it. */
export function crictlBinary(): string {
  const path = cacheDir("crictl", CRICTL_VERSION, "bin", "crictl");
  if (!isExecutable(path)) throw new Error(`${path} is missing: run scripts/dev-tools/crictl.sh ${CRICTL_VERSION}`);
  return path;
}

/**
 * The binaries scripts/dev-tools/kubernetes.sh built; the test packages need them. `release`
 * is the pinned one unless a test names another pinned release (the upgrade tests' v1.36.3).
 */
export function kubernetesBinary(name: string, release: string = KUBERNETES_VERSION): string {
  const path = cacheDir("kubernetes", release, "bin", name);
  if (!isExecutable(path))
    throw new Error(`${path} is missing: run scripts/dev-tools/kubernetes.sh ${release} kubeadm kubelet kubectl`);
  return path;
}

/**
 * signRepository signs Release (detached, armored: Release.gpg) with a throwaway key made
 * for the test repository, and writes that key as Release.key. The key never leaves `work`.
 */
function signRepository(apt: string, work: string): void {
  const home = join(work, "gnupg");
  execFileSync("mkdir", ["-m", "700", home]);
  const gpg = (args: string[]) =>
    execFileSync("gpg", ["--batch", "--homedir", home, "--passphrase", "", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
  gpg(["--quick-gen-key", "kubelab test repository (TEST KEY) <tests@kubelab.invalid>", "ed25519", "sign", "never"]);
  execFileSync("sh", [
    "-c",
    'gpg --batch --homedir "$1" --armor --export > "$2"',
    "sh",
    home,
    join(apt, "Release.key"),
  ]);
  gpg(["--armor", "--detach-sign", "-o", join(apt, "Release.gpg"), join(apt, "Release")]);
  execFileSync("gpgconf", ["--homedir", home, "--kill", "all"]);
  execFileSync("rm", ["-rf", home]);
}

/**
 * buildTestPackages builds (once, cached by recipe and versions) the test package source's
 * files, with kubeadm, kubelet and kubectl of the plan's Kubernetes release (built for that
 * release by scripts/dev-tools/kubernetes.sh).
 */
export async function buildTestPackages(plan: Plan): Promise<TestPackages> {
  const arch = sh("dpkg", ["--print-architecture"]).toString().trim();
  const version = plan.kubernetes.packageVersion;
  const dir = cacheDir("packages", `${RECIPE}-${CONTAINERD2_VERSION}-${version}-${arch}`);
  const index = join(dir, "index.json");
  if (existsSync(index)) return JSON.parse(await readFile(index, "utf8")) as TestPackages;
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.build-`);
  try {
    await mkdir(join(tmp, "artifacts"), { recursive: true });
    // containerd: the upstream tarball layout, bin/{containerd,containerd-shim-runc-v2,ctr}.
    const built = cacheDir("containerd", CONTAINERD2_VERSION, "bin");
    const stage = join(tmp, "stage");
    await mkdir(join(stage, "bin"), { recursive: true });
    for (const b of ["containerd", "containerd-shim-runc-v2", "ctr"]) await cp(join(built, b), join(stage, "bin", b));
    sh("tar", ["-C", stage, "-czf", join(tmp, "containerd.tar.gz"), "bin"]);
    const containerd = await artifact(tmp, "containerd.tar.gz", await readFile(join(tmp, "containerd.tar.gz")));
    const runc = await artifact(tmp, "runc", await readFile("/usr/sbin/runc"));
    const plugins = await readdir("/usr/lib/cni");
    sh("tar", ["-C", "/usr/lib/cni", "-czf", join(tmp, "cni-plugins.tgz"), ...plugins]);
    const cniPlugins = await artifact(tmp, "cni-plugins.tgz", await readFile(join(tmp, "cni-plugins.tgz")));
    // The apt repository.
    const apt = join(tmp, "apt");
    await mkdir(apt);
    for (const p of ["kubeadm", "kubelet", "kubectl"])
      await deb(join(tmp, "debs"), apt, p, plan.kubernetes.version, version, arch);
    await deb(join(tmp, "debs"), apt, "cri-tools", plan.kubernetes.version, CRI_TOOLS_VERSION, arch);
    await writeFile(join(apt, "Packages"), sh("apt-ftparchive", ["packages", "."], apt));
    await writeFile(join(apt, "Release"), sh("apt-ftparchive", ["release", "."], apt));
    signRepository(apt, tmp);
    await rm(join(tmp, "debs"), { recursive: true });
    await rm(stage, { recursive: true });
    const result: TestPackages = {
      dir,
      files: { containerd, runc, cniPlugins },
      aptDir: join(dir, "apt"),
      packageVersion: version,
    };
    await writeFile(join(tmp, "index.json"), JSON.stringify(result));
    await rename(tmp, dir);
    return result;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * serveDirectory serves a directory's files over HTTP on one address (the test bridge's
 * gateway). `close` also drops open keep-alive connections: once the nodes are gone their
 * sockets never close by themselves, and a plain server.close() would wait for them forever.
 */
export async function serveDirectory(
  dir: string,
  host: string,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path.includes("..")) return void res.writeHead(400).end();
    try {
      const data = await readFile(join(dir, path));
      res.writeHead(200, { "content-length": data.length }).end(data);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url: `http://${host}:${port}/`, server, close };
}

/** testPackageSource is a PackageSource over the test files and a served apt repository. */
export function testPackageSource(pkgs: TestPackages, aptUrl: string): PackageSource {
  const artifacts: ArtifactStore = {
    async get(file) {
      const data = await readFile(join(pkgs.dir, "artifacts", file.sha256));
      if (sha256(data) !== file.sha256) throw new Error(`test artifact ${file.url} changed on disk`);
      return data;
    },
  };
  return { kubernetes: { url: aptUrl }, artifacts, containerdFiles: () => pkgs.files };
}

/**
 * builtImages are images built from source here, as OCI archives named exactly as their
 * manifests use them: by default kubeadm's control plane (scripts/dev-tools/k8s-images.sh);
 * `set` names another image set, e.g. `metallb-v0.16.1` (scripts/dev-tools/metallb-images.sh).
 * `builder` is what makes the set, named when it is missing.
 */
export async function builtImages(
  set: string = KUBERNETES_VERSION,
  builder = "scripts/dev-tools/install-deps.sh",
): Promise<{ name: string; path: string; sha256: string }[]> {
  const dir = cacheDir("images", set);
  const index = await readFile(join(dir, "images.json"), "utf8").catch(() => {
    throw new Error(`${dir}/images.json is missing: run ${builder}`);
  });
  const parsed = JSON.parse(index) as { images: { name: string; file: string; sha256: string }[] };
  return parsed.images.map((i) => ({ name: i.name, path: join(dir, i.file), sha256: i.sha256 }));
}

/**
 * preparationOptions are the `up()` options tests and benchmarks use on nspawn machines:
 * node preparation only (no kubeadm), the test package source, no progress output, log
 * lines collected in `lines`.
 */
export function preparationOptions(pkgs: TestPackages, aptUrl: string, clusterDir: string) {
  const lines: string[] = [];
  return {
    phases: PREPARE_PHASES,
    kubeconfig: false as const,
    provider: nspawnProvider,
    packages: testPackageSource(pkgs, aptUrl),
    clusterDir,
    log: (l: string) => lines.push(l),
    status: { start() {}, end() {} },
    lines,
  };
}

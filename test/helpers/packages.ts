/**
 * A package source for tests, built here without the internet:
 * - containerd 2 release files: the binaries built with Go from containerd's module
 *   (scripts/dev-tools/containerd2.sh), packed in the upstream tarball layout; runc and the
 *   CNI plugins from Debian's packages;
 * - a flat apt repository (dpkg-deb + apt-ftparchive) with kubeadm, kubelet and kubectl
 *   packages at the pinned version. Their binaries are TEST PACKAGES: small scripts that say
 *   so, standing in for the real ones until those are built from source.
 * The repository is served over HTTP on the test bridge's gateway address only.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import type { ArtifactStore } from "../../src/artifacts/store.js";
import type { PackageSource } from "../../src/phases/packages.js";
import type { Plan } from "../../src/plan/types.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import type { PinnedFile } from "../../src/versions.js";
import { CONTAINERD2_VERSION, cacheDir } from "./tools.js";

const RECIPE = "v1";
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });

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

async function deb(work: string, out: string, name: string, version: string, arch: string): Promise<void> {
  const root = join(work, name);
  await mkdir(join(root, "DEBIAN"), { recursive: true });
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await writeFile(
    join(root, "DEBIAN/control"),
    `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: kubelab tests <tests@kubelab.invalid>\nDescription: TEST PACKAGE built by kubelab's test suite, not Kubernetes' ${name}\n`,
  );
  const bin = join(root, "usr/bin", name);
  await writeFile(bin, `#!/bin/sh\necho "${name} ${version}: TEST PACKAGE built by kubelab's test suite"\n`);
  await chmod(bin, 0o755);
  sh("dpkg-deb", ["--root-owner-group", "--build", root, join(out, `${name}_${version}_${arch}.deb`)]);
}

/** buildTestPackages builds (once, cached by recipe and versions) the test package source's files. */
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
    for (const p of ["kubeadm", "kubelet", "kubectl"]) await deb(join(tmp, "debs"), apt, p, version, arch);
    await writeFile(join(apt, "Packages"), sh("apt-ftparchive", ["packages", "."], apt));
    await writeFile(join(apt, "Release"), sh("apt-ftparchive", ["release", "."], apt));
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

/** writeTestBundle lays the test packages out as an offline bundle directory (the format `up --bundle` reads). */
export async function writeTestBundle(pkgs: TestPackages, plan: Plan, dir: string): Promise<void> {
  const arch = sh("dpkg", ["--print-architecture"]).toString().trim();
  await mkdir(join(dir, "files"), { recursive: true });
  const add = async (name: string, data: Buffer) => {
    const sum = sha256(data);
    await writeFile(join(dir, "files", sum), data);
    return { name, sha256: sum };
  };
  const fromArtifacts = async (name: string, f: PinnedFile) =>
    add(name, await readFile(join(pkgs.dir, "artifacts", f.sha256)));
  const debs = (await readdir(pkgs.aptDir)).filter((f) => f.endsWith(".deb"));
  const manifest = {
    format: "kubelab.dev/bundle/v1",
    arch,
    kubernetes: {
      version: plan.kubernetes.version,
      debs: await Promise.all(debs.map(async (d) => add(d, await readFile(join(pkgs.aptDir, d))))),
    },
    containerd: {
      version: plan.containerd.version,
      containerd: await fromArtifacts("containerd.tar.gz", pkgs.files.containerd),
      runc: await fromArtifacts("runc", pkgs.files.runc),
      cniPlugins: await fromArtifacts("cni-plugins.tgz", pkgs.files.cniPlugins),
    },
  };
  await writeFile(join(dir, "bundle.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * preparationOptions are the `up()` options tests and benchmarks use on nspawn machines:
 * the test package source, no progress output, log lines collected in `lines`.
 */
export function preparationOptions(pkgs: TestPackages, aptUrl: string, clusterDir: string) {
  const lines: string[] = [];
  return {
    provider: nspawnProvider,
    packages: testPackageSource(pkgs, aptUrl),
    clusterDir,
    log: (l: string) => lines.push(l),
    status: { start() {}, end() {} },
    lines,
  };
}

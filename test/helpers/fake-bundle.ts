/**
 * A tiny bundle written by hand, for tests of what `up --bundle` checks: made-up .deb bytes
 * listed in a Packages index, a Release naming its sum, and bundle.json naming them all.
 * Signing is left to the caller (`sign`): the hermetic tier has no gpg.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BundleManifest } from "../../src/artifacts/offline-bundle.js";
import type { Plan } from "../../src/plan/types.js";
import { PINNED } from "../../src/versions.js";

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** What a fake bundle's signature and key are made of. */
export interface Signed {
  readonly signature: Buffer;
  readonly key: Buffer;
}

/** writeFile into files/<sha256>; returns the manifest entry. */
export async function carry(dir: string, name: string, data: Buffer | string) {
  const sum = sha256(data);
  await mkdir(join(dir, "files"), { recursive: true });
  await writeFile(join(dir, "files", sum), data);
  return { name, sha256: sum };
}

/** The Packages paragraph of a made-up .deb. */
const paragraph = (name: string, version: string, deb: Buffer) =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nFilename: ./${name}_${version}_amd64.deb\nSize: ${deb.length}\nSHA256: ${sha256(deb)}\n`;

/**
 * writeFakeBundle writes a bundle for `plan` (amd64) into `dir`: containerd's files with the
 * pinned sums named (their bytes are not there: nothing reads them before upload), three
 * made-up .debs, and the index signed by `sign(release)`. Returns the manifest as written.
 */
export async function writeFakeBundle(
  dir: string,
  plan: Plan,
  sign: (release: Buffer) => Promise<Signed> | Signed,
  change: (m: BundleManifest) => BundleManifest = (m) => m,
): Promise<BundleManifest> {
  const version = plan.kubernetes.packageVersion;
  const names = ["kubeadm", "kubelet", "kubectl"];
  const debs = names.map((n) => Buffer.from(`!<arch>\nmade-up ${n} ${version}\n`));
  const packages = Buffer.from(names.map((n, i) => paragraph(n, version, debs[i] as Buffer)).join("\n"));
  const release = Buffer.from(
    `Origin: kubelab tests\nDate: Mon, 07 Dec 2026 00:00:00 UTC\nSHA256:\n ${sha256(packages)} ${packages.length} Packages\n`,
  );
  const { signature, key } = await sign(release);
  const pinned = PINNED.containerd["2.x"].release.files.amd64;
  const manifest: BundleManifest = {
    format: "kubelab.dev/bundle/v1",
    arch: "amd64",
    kubernetes: {
      version: plan.kubernetes.version,
      debs: await Promise.all(names.map((n, i) => carry(dir, `${n}_${version}_amd64.deb`, debs[i] as Buffer))),
      requires: [],
      apt: {
        release: await carry(dir, "Release", release),
        signature: await carry(dir, "Release.gpg", signature),
        packages: await carry(dir, "Packages", packages),
        key: await carry(dir, "Release.key.gpg", key),
      },
    },
    containerd: {
      version: plan.containerd.version,
      containerd: { name: "containerd.tar.gz", sha256: pinned.sha256 },
      runc: { name: "runc", sha256: PINNED.runc.files.amd64.sha256 },
      cniPlugins: { name: "cni-plugins.tgz", sha256: PINNED.cniPlugins.files.amd64.sha256 },
    },
    images: [],
    upstream: [],
    charts: [],
  };
  const written = change(manifest);
  await writeFile(join(dir, "bundle.json"), `${JSON.stringify(written, null, 2)}\n`);
  return written;
}

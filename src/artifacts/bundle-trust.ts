/**
 * What `up --bundle` checks before it believes a bundle: bundle.json only says what the bundle
 * carries, so its word is checked against kubelab's own pins. Release files must have the
 * pinned sha256; the apt index must be signed by the pinned key (gpgv), Packages must match
 * Release, and every .deb on disk must be a package Packages lists, with the same sha256.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { type Arch, PINNED } from "../versions.js";
import { type AptPackage, parsePackages, releaseSums } from "./apt-index.js";
import { pinnedKey, verifySignature } from "./openpgp.js";
import { type ContainerdFiles, pinnedContainerdFiles } from "./package-source.js";

/** The anchors a bundle is checked against. */
export interface BundleTrust {
  /** Fingerprints of the key the bundled apt Release must be signed by. */
  readonly aptKeyFingerprints: readonly string[];
  /** The containerd release files (their sha256) for an architecture. */
  containerdFiles(arch: Arch): ContainerdFiles;
  /** sha256 of the helm release tarballs a bundle may carry (any architecture). */
  readonly helm: readonly string[];
}

/** A file a bundle carries, as bundle.json names it. */
interface Carried {
  readonly name: string;
  readonly sha256: string;
}

/** What of bundle.json is checked (the manifest's own shape, which offline-bundle.ts defines). */
export interface CheckedManifest {
  readonly arch: Arch;
  readonly kubernetes: {
    readonly debs: readonly Carried[];
    readonly apt?: { release: Carried; signature: Carried; packages: Carried; key: Carried };
  };
  readonly containerd: { containerd: Carried; runc: Carried; cniPlugins: Carried };
  readonly helm?: Carried;
}

/** PINNED_TRUST is the version table's anchors. */
export const PINNED_TRUST: BundleTrust = {
  aptKeyFingerprints: PINNED.kubernetes.aptKeyFingerprints,
  containerdFiles: pinnedContainerdFiles,
  helm: Object.values(PINNED.helm.files).map((f) => f.sha256),
};

let replaced: BundleTrust | undefined;

/**
 * useTrustAnchors replaces PINNED_TRUST in this process (undefined: back to the pins). Only
 * code can call it: kubelab's own test suite, whose packages and release files are built here
 * and signed with a throwaway key, so its bundles can match no upstream pin. No environment
 * variable, file or flag of the CLI reaches it, so nothing a user sets can loosen the checks.
 */
export function useTrustAnchors(trust: BundleTrust | undefined): void {
  replaced = trust;
}

/** currentTrust is the anchors bundles are checked against: the pins, unless code replaced them. */
export function currentTrust(): BundleTrust {
  return replaced ?? PINNED_TRUST;
}

const REMAKE = "make the bundle again with kubelab bundle create";
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** releaseFileProblems lists each release file whose sha256 in bundle.json is not the pinned one. */
function releaseFileProblems(b: CheckedManifest, trust: BundleTrust): string[] {
  const pinned = trust.containerdFiles(b.arch);
  const problems: string[] = [];
  for (const role of ["containerd", "runc", "cniPlugins"] as const) {
    const got = b.containerd[role].sha256;
    const want = pinned[role].sha256;
    if (got !== want)
      problems.push(`${b.containerd[role].name}: bundle.json names sha256 ${got}, kubelab pins ${want}`);
  }
  if (b.helm && !trust.helm.includes(b.helm.sha256))
    problems.push(`${b.helm.name}: bundle.json names sha256 ${b.helm.sha256}, kubelab pins ${trust.helm.join(" or ")}`);
  return problems;
}

/**
 * verifyBundle checks a parsed bundle in `dir` for `plan` against `trust`; throws a UserError
 * naming what differs. It reads the .deb files (hashing them), and runs gpgv.
 */
export async function verifyBundle(dir: string, b: CheckedManifest, plan: Plan, trust: BundleTrust): Promise<void> {
  const problems = releaseFileProblems(b, trust);
  if (problems.length > 0)
    throw new UserError(`bundle ${dir} carries release files other than the pinned ones`, {
      details: problems.join("\n"),
      hint: REMAKE,
    });
  const apt = b.kubernetes.apt;
  if (!apt)
    throw new UserError(`bundle ${dir} carries no signed package index to check its .deb files against`, {
      hint: `it was made by an older kubelab: ${REMAKE}`,
    });
  const read = (f: Carried) =>
    readFile(join(dir, "files", f.sha256)).catch((e: Error) => {
      throw new UserError(`bundle ${dir} lacks ${f.name}: ${e.message}`, { hint: REMAKE });
    });
  const [release, signature, packages, key] = await Promise.all([
    read(apt.release),
    read(apt.signature),
    read(apt.packages),
    read(apt.key),
  ]);
  const what = `bundle ${dir}: the Kubernetes package index (Release)`;
  // A key or signature problem means the bundle, not the repository, is wrong: say how to mend it.
  const checked = (async () => {
    const verified = pinnedKey(key, trust.aptKeyFingerprints, `bundle ${dir}`);
    await verifySignature(release, signature, verified, trust.aptKeyFingerprints, what);
  })();
  await checked.catch((e: unknown) => {
    if (!(e instanceof UserError) || e.message.startsWith("gpgv is needed")) throw e;
    throw new UserError(e.message, { details: e.details, hint: REMAKE, exitCode: e.exitCode });
  });
  const listed = releaseSums(release.toString("utf8")).get("Packages");
  if (!listed || sha256(packages) !== listed.sha256)
    throw new UserError(`bundle ${dir}: its Packages index does not match the signed Release`, { hint: REMAKE });
  const index = parsePackages(packages.toString("utf8"));
  const found: AptPackage[] = [];
  for (const deb of b.kubernetes.debs) {
    const got = sha256(await read(deb));
    const entry = index.find((p) => p.sha256 === deb.sha256);
    if (!entry || got !== deb.sha256)
      throw new UserError(`bundle ${dir}: ${deb.name} is not a package of the signed index`, {
        details: `sha256 ${got}${got === deb.sha256 ? "" : ` (bundle.json names ${deb.sha256})`}`,
        hint: REMAKE,
      });
    found.push(entry);
  }
  const version = plan.kubernetes.packageVersion;
  const absent = ["kubeadm", "kubelet", "kubectl"].filter(
    (name) => !found.some((p) => p.name === name && p.version === version),
  );
  if (absent.length > 0)
    throw new UserError(`bundle ${dir} has no ${absent.map((n) => `${n}=${version}`).join(", ")}`, { hint: REMAKE });
}

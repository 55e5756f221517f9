/**
 * Offline bundles: a directory with everything node preparation installs, so `kubelab up
 * --bundle DIR` needs no network at all. Layout:
 *   bundle.json          what is inside, with the sha256 of every file
 *   files/<sha256>       the files themselves (content-addressed, like the download cache)
 * kubeadm, kubelet and kubectl come as .deb packages that are uploaded to each node and
 * installed from there; containerd, runc and the CNI plugins as their release files; every
 * image kubeadm needs as an OCI archive, imported into each node's containerd. The .debs come
 * with the repository's signed index, so `up` checks them against the pinned key, not against
 * bundle.json's own word.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { type BundleTrust, currentTrust, verifyBundle } from "./bundle-trust.js";
import type { PackageSource } from "./package-source.js";
import { directoryStore } from "./store.js";

const file = z.strictObject({ name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** The bundle manifest. */
export const bundleSchema = z.strictObject({
  format: z.literal("kubelab.dev/bundle/v1"),
  arch: z.enum(["amd64", "arm64"]),
  kubernetes: z.strictObject({
    version: z.string(),
    debs: z.array(file).min(1),
    /** Dependencies of the packages that come from the node's distribution, not the bundle. */
    requires: z.array(z.string()).default([]),
    /**
     * The repository's index as it was verified when the bundle was made: Release, its detached
     * signature, Packages and the signing key. `up` checks them again against the pinned key.
     */
    apt: z.strictObject({ release: file, signature: file, packages: file, key: file }).optional(),
  }),
  containerd: z.strictObject({ version: z.string(), containerd: file, runc: file, cniPlugins: file }),
  /** OCI image archives, each imported under its full reference. */
  images: z.array(z.strictObject({ name: z.string().min(1), file })).default([]),
  /** Pinned addon manifests, by their upstream URL. */
  upstream: z
    .array(z.strictObject({ url: z.string().min(1), name: z.string().min(1), sha256: file.shape.sha256 }))
    .default([]),
  /** Helm chart archives (checked against their repository's index digest, and the pinned sha256 if any). */
  charts: z
    .array(z.strictObject({ name: z.string().min(1), version: z.string().min(1), url: z.string().min(1), file }))
    .default([]),
  /** helm's release tarball (linux, the bundle maker's architecture), for rendering the charts. */
  helm: file.optional(),
});

/** A bundle manifest. */
export type BundleManifest = z.infer<typeof bundleSchema>;

/** BUNDLE_MANIFEST is the manifest's file name inside a bundle directory. */
export const BUNDLE_MANIFEST = "bundle.json";

const pinned = (f: z.infer<typeof file>) => ({ url: `bundle:${f.name}`, sha256: f.sha256 });

/**
 * readBundle reads a bundle's manifest, checks it against the plan it is used for, and checks
 * the bundle against `trust` (the pinned sums and key, see {@link verifyBundle}): bundle.json
 * alone vouches for nothing.
 */
export async function readBundle(dir: string, plan: Plan, trust?: BundleTrust): Promise<BundleManifest> {
  const text = await readFile(join(dir, BUNDLE_MANIFEST), "utf8").catch((e: Error) => {
    throw new UserError(`${dir} is not a kubelab bundle: ${e.message}`);
  });
  const remake = { hint: "the bundle is damaged or not made by kubelab: make it again with kubelab bundle create" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${join(dir, BUNDLE_MANIFEST)} is not JSON: ${(e as Error).message}`, remake);
  }
  const parsed = bundleSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${join(dir, BUNDLE_MANIFEST)} is not a valid bundle manifest`, {
      details: z.prettifyError(parsed.error).split("\n").slice(0, 20).join("\n"),
      ...remake,
    });
  const b = parsed.data;
  const problems = [
    b.kubernetes.version !== plan.kubernetes.version &&
      `it holds Kubernetes ${b.kubernetes.version}, the plan pins ${plan.kubernetes.version}`,
    plan.containerd.line === "2.x" &&
      b.containerd.version !== plan.containerd.version &&
      `it holds containerd ${b.containerd.version}, the plan pins ${plan.containerd.version}`,
  ].filter((p): p is string => typeof p === "string");
  if (problems.length > 0)
    throw new UserError(`bundle ${dir} does not fit cluster ${plan.name}`, {
      details: problems.join("\n"),
      hint: "make a bundle for these versions",
    });
  await verifyBundle(dir, b, plan, trust ?? currentTrust());
  return b;
}

/** bundleSource installs from a bundle only: files are verified by sha256 and uploaded to the nodes. */
export function bundleSource(dir: string, b: BundleManifest): PackageSource {
  return {
    kubernetes: { debs: b.kubernetes.debs.map(pinned) },
    artifacts: directoryStore(join(dir, "files")),
    images: b.images.map((i) => ({ name: i.name, file: pinned(i.file) })),
    containerdFiles: (arch) => {
      if (arch !== b.arch) throw new UserError(`the bundle is for ${b.arch}, the node is ${arch}`);
      return {
        containerd: pinned(b.containerd.containerd),
        runc: pinned(b.containerd.runc),
        cniPlugins: pinned(b.containerd.cniPlugins),
      };
    },
  };
}

/**
 * Where node software comes from. Kubernetes' packages come from an apt repository
 * (pkgs.k8s.io for the pinned minor, or a mirror, or a local repository of an offline
 * bundle); containerd 2.x, runc and the CNI plugins are release files fetched once on the
 * host (verified by sha256) and uploaded to the nodes, so nodes need no internet of their own.
 */

import type { Plan } from "../plan/types.js";
import { type Arch, PINNED, type PinnedFile } from "../versions.js";
import type { ArtifactStore } from "./store.js";

/** An apt repository holding kubeadm, kubelet and kubectl. */
export interface AptRepository {
  /** Base URL of a flat repository (`deb URL /`). */
  readonly url: string;
  /** Armored signing key URL; when absent the repository is trusted as is (local repositories only). */
  readonly keyUrl?: string;
  /** Fingerprints the key at keyUrl must have (every primary key in it); a key is never trusted without them. */
  readonly keyFingerprints?: readonly string[];
}

/** The release files containerd 2.x needs on a node. */
export interface ContainerdFiles {
  /** Upstream release tarball layout: bin/containerd, bin/containerd-shim-runc-v2, bin/ctr. */
  readonly containerd: PinnedFile;
  readonly runc: PinnedFile;
  /** CNI plugins tarball (bridge, host-local, loopback, portmap, ...). */
  readonly cniPlugins: PinnedFile;
}

/** kubeadm, kubelet and kubectl as .deb files, uploaded to each node and installed from there. */
export interface DebFiles {
  readonly debs: readonly PinnedFile[];
}

/** A container image as an OCI archive (`ctr images import` input), and the name it is imported as. */
export interface ImageArchive {
  /** Full reference, e.g. `registry.k8s.io/kube-apiserver:v1.37.2`. */
  readonly name: string;
  readonly file: PinnedFile;
}

/** Everything node preparation installs from. */
export interface PackageSource {
  readonly kubernetes: AptRepository | DebFiles;
  readonly artifacts: ArtifactStore;
  /** Images imported into every node's containerd (offline bundles); without them, nodes pull. */
  readonly images?: readonly ImageArchive[];
  /** The containerd release files for an architecture. */
  containerdFiles(arch: Arch): ContainerdFiles;
  /** How the host downloads what has no pinned sha256 (the apt repository's key). @default fetch */
  readonly fetch?: typeof fetch;
}

/** pinnedContainerdFiles are the upstream releases from the version table. */
export function pinnedContainerdFiles(arch: Arch): ContainerdFiles {
  return {
    containerd: PINNED.containerd["2.x"].release.files[arch],
    runc: PINNED.runc.files[arch],
    cniPlugins: PINNED.cniPlugins.files[arch],
  };
}

/** upstreamSource installs from pkgs.k8s.io and the pinned upstream releases. */
export function upstreamSource(plan: Plan, artifacts: ArtifactStore): PackageSource {
  return {
    kubernetes: {
      url: PINNED.kubernetes.aptRepository(plan.kubernetes.minor),
      keyUrl: PINNED.kubernetes.aptKey(plan.kubernetes.minor),
      keyFingerprints: PINNED.kubernetes.aptKeyFingerprints,
    },
    artifacts,
    containerdFiles: pinnedContainerdFiles,
  };
}

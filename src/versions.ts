/**
 * Every version kubelab pins, and every file it downloads with its sha256: one table, so an
 * upgrade is one reviewed change and nothing floats to "latest".
 *
 * Kubernetes' own packages come from pkgs.k8s.io, whose apt repositories are signed; the
 * checksums of release binaries and tarballs below are the values kubespray's checksum table
 * carries for the same versions, and every download is verified against them before use.
 */

/** A file fetched at run time, verified by sha256 before use. */
export interface PinnedFile {
  readonly url: string;
  readonly sha256: string;
}

const raw = (repo: string, tag: string, path: string, sha256: string): PinnedFile => ({
  url: `https://raw.githubusercontent.com/${repo}/${tag}/${path}`,
  sha256,
});

/** CPU architectures kubelab downloads binaries for. */
export type Arch = "amd64" | "arm64";

/** A release published per architecture. */
export interface PinnedRelease {
  readonly version: string;
  readonly files: Readonly<Record<Arch, PinnedFile>>;
}

const release = (version: string, url: (arch: Arch) => string, amd64: string, arm64: string): PinnedRelease => ({
  version,
  files: { amd64: { url: url("amd64"), sha256: amd64 }, arm64: { url: url("arm64"), sha256: arm64 } },
});

/**
 * Kubernetes minors kubelab knows: the one release it pins of each, with the images that
 * release's kubeadm expects. A cluster is upgraded one minor at a time, so each minor a
 * cluster passes through is pinned here.
 */
export const KUBERNETES_MINORS = {
  // From k8s.io/kubernetes@v1.36.3 cmd/kubeadm/app/constants/constants.go (PauseVersion,
  // DefaultEtcdVersion, CoreDNSVersion).
  "1.36": { version: "v1.36.3", pause: "3.10.2", etcd: "3.6.8-0", coredns: "v1.14.2" },
  // From k8s.io/kubernetes@v1.37.2, the same constants.
  "1.37": { version: "v1.37.2", pause: "3.10.2", etcd: "3.7.0-0", coredns: "v1.14.6" },
} as const;

/** Every Kubernetes release kubelab pins, oldest first. */
export const KUBERNETES_VERSIONS: readonly string[] = Object.values(KUBERNETES_MINORS).map((m) => m.version);

/** The pinned table. */
export const PINNED = {
  /**
   * Digests of the images kubelab pulls itself (`bundle create`, `image bake`), by canonical
   * name (`registry.k8s.io/pause:3.10.2` -> `sha256:...`, the digest of what the tag points at,
   * an index for multi-platform images). A pinned image is pulled by its digest, so neither a
   * registry nor a `--mirror` can serve another. None is recorded yet: the pinned manifests and
   * charts name their images by tag only, and no upstream digest of these releases was at hand.
   */
  imageDigests: {} as Readonly<Partial<Record<string, string>>>,
  kubernetes: {
    version: "v1.37.2",
    /** pkgs.k8s.io serves one apt repository per minor, signed by the key below. */
    aptRepository: (minor: string) => `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/`,
    aptKey: (minor: string) => `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/Release.key`,
    /**
     * The fingerprint of that key ("isv:kubernetes OBS Project", rsa2048 of 2022-08-25, the
     * same key for every minor; its expiry is extended in place). The key file is fetched from
     * the repository it vouches for, so only this pin makes it a trust anchor.
     */
    aptKeyFingerprints: ["DE15B14486CD377B9E876E1A234654DA9A296436"] as readonly string[],
    /** Debian package revision pkgs.k8s.io uses for a release. */
    debRevision: "1.1",
  },
  containerd: {
    "2.x": {
      version: "v2.3.4",
      configVersion: 3,
      release: release(
        "v2.3.4",
        (a) => `https://github.com/containerd/containerd/releases/download/v2.3.4/containerd-2.3.4-linux-${a}.tar.gz`,
        "9d68969855fbf676cdb8ed758e420fb048d61f984f61de3e53eddfebe484d168",
        "a985fbb7e18fc0362d31a055338f5d7b0e087a3e27f14c70d1c5965399a29f95",
      ),
    },
    /** The 1.7 line comes from the distribution's package (Ubuntu ships 1.7). */
    "1.7": { version: "v1.7.34", configVersion: 2 },
  },
  /**
   * The vagrant provider's default base boxes, an Ubuntu LTS each, per hypervisor: Bento's
   * box for VirtualBox, and a box published for libvirt (Bento's carry no libvirt build).
   */
  vagrantBox: {
    /** diskController: the box's disk controller (its OVF), whose host I/O cache is turned off. */
    virtualbox: { name: "bento/ubuntu-24.04", version: "202510.26.0", diskController: "SATA Controller" },
    libvirt: { name: "cloud-image/ubuntu-24.04", version: "20250805.0.0", diskController: undefined },
  },
  /** The oldest Vagrant kubelab drives (`--machine-readable` status, `ssh-config --host`). */
  vagrant: { minimum: "2.3.0" },
  /** runc for containerd release tarballs, which do not include it. */
  runc: release(
    "v1.4.3",
    (a) => `https://github.com/opencontainers/runc/releases/download/v1.4.3/runc.${a}`,
    "f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60",
    "633301e2e32f8a5ad54031aab4901eb00308bec677dd15faa2751e8f9dab5ca4",
  ),
  cniPlugins: release(
    "v1.9.1",
    (a) => `https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-${a}-v1.9.1.tgz`,
    "b98f74a0f8522f0a83867178729c1aa70f2158f90c45a2ca8fa791db1c76b303",
    "56171987d3947707c3563db2f4001bccaf50fd63468611b9f3cbecb1375ee7ec",
  ),
  crictl: release(
    "v1.37.0",
    (a) => `https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.37.0/crictl-v1.37.0-linux-${a}.tar.gz`,
    "67c983ee8a6bbce73d39a186e633c5fe4f8a70e62171ac3bd92a9c1b2c601670",
    "c9dfdf9ebc353a0027c88622206a5e90ee6f0e78cfabf1a9ef4dc575298fd555",
  ),
  /** helm renders the charts kubelab applies (`helm template`); it never talks to the cluster. */
  helm: release(
    "v3.22.0",
    (a) => `https://get.helm.sh/helm-v3.22.0-linux-${a}.tar.gz`,
    "1e4ab49e429626cf6c6958d914248b78c9730803c2751b87627e171dc800e7bb",
    "f14e804dfee240f55525b667488fe9adca349e63e00c9af634c0beb1421ac310",
  ),
  calico: {
    version: "v3.32.1",
    manifest: raw(
      "projectcalico/calico",
      "v3.32.1",
      "manifests/calico.yaml",
      "a1df919d9721cf667accdc3e72848911b0cb25cfab7d2478ad0c996302c95744",
    ),
  },
  metallb: {
    version: "v0.16.1",
    manifest: raw(
      "metallb/metallb",
      "v0.16.1",
      "config/manifests/metallb-native.yaml",
      "bf25feebb7582ca7df845efd52ffbc2960d6cbf4cfc972f47fded9f788b67f0b",
    ),
  },
  headlamp: {
    version: "v0.45.0",
    image: "ghcr.io/headlamp-k8s/headlamp:v0.45.0",
    manifest: raw(
      "kubernetes-sigs/headlamp",
      "v0.45.0",
      "kubernetes-headlamp.yaml",
      "9a893b6ce1f14660f76c5d79848e64979944125406e762f76278143cd2b863a2",
    ),
  },
  dashboard: {
    version: "v2.7.0",
    /** The Kubernetes Dashboard repository was archived upstream in January 2026. */
    archived: true,
    manifest: raw(
      "kubernetes/dashboard",
      "v2.7.0",
      "aio/deploy/recommended.yaml",
      "943ae40251f1ba64ef012c53271bf6766d1883dd024093e854567b56443764b8",
    ),
  },
  linkerd: {
    version: "edge-26.8.3",
    /** Helm chart version for edge-YY.M.N is 20YY.M.N. */
    chartVersion: "2026.8.3",
    helmRepository: "https://helm.linkerd.io/edge",
    /**
     * sha256 of each chart archive (by chart name), checked whatever the repository's index
     * says: the index comes from the same place as the archive, so it vouches for nothing on
     * its own. No archive of this release has been recorded from upstream yet; a chart with no
     * entry here is checked against the index digest only.
     */
    chartSha256: {} as Readonly<Partial<Record<string, string>>>,
  },
  gatewayApi: {
    version: "v1.5.1",
    crds: (
      [
        ["backendtlspolicies", "9b8818172153d72f9c84032db0be0a4a657277d13f5bbc22226ad9481ff57971"],
        ["gatewayclasses", "234ad4b2757ee1b3596a4187bb98df071c5bbdd9e1806f692f2dbf8387e6bef4"],
        ["gateways", "7416e8300eb4d8c0a71a23445609075bbacbe8bc80104584b019cfe1ebe77c31"],
        ["grpcroutes", "979f4125d44d3df24659ba00d1d04ff8e76c45423193e8aae82dd5810d7827df"],
        ["httproutes", "682203b109baecb18d38073a578f7bc2c17d22fe9b0c27bf030850abe014c370"],
        ["listenersets", "9221468d19fdfbb0026113b1ef64abac64f27607975aff2410361b8b38f0e0bb"],
        ["referencegrants", "a8902c486eed0b7339f5bb8a476ccaba0918eb038048402bdc01cbb69b0fbb51"],
        ["tlsroutes", "818e4827c469a40e2527a2851591e656782c50fea8dd44812c900d219da09345"],
        ["vap_safeupgrades", "981a4da92706cb567c051e006ff229429947f054b90cd0719c297abe14f958a1"],
      ] as const
    ).map(([name, sha]) =>
      raw("kubernetes-sigs/gateway-api", "v1.5.1", `config/crd/standard/gateway.networking.k8s.io_${name}.yaml`, sha),
    ),
  },
} as const;

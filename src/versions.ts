/**
 * Every version kubelab pins, and every file it downloads with its sha256: one table, so an
 * upgrade is one reviewed change and nothing floats to "latest".
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

/** Kubernetes minors kubelab knows, with the images their kubeadm expects. */
export const KUBERNETES_MINORS = {
  // From k8s.io/kubernetes@v1.37.2 cmd/kubeadm/app/constants/constants.go (PauseVersion,
  // DefaultEtcdVersion, CoreDNSVersion).
  "1.37": { pause: "3.10.2", etcd: "3.7.0-0", coredns: "v1.14.6" },
} as const;

/** The pinned table. */
export const PINNED = {
  kubernetes: {
    version: "v1.37.2",
    /** pkgs.k8s.io serves one apt repository per minor, signed by the key below. */
    aptRepository: (minor: string) => `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/`,
    aptKey: (minor: string) => `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/Release.key`,
    /** Debian package revision pkgs.k8s.io uses for a release. */
    debRevision: "1.1",
  },
  containerd: {
    "2.x": { version: "v2.3.4", configVersion: 3 },
    "1.7": { version: "v1.7.34", configVersion: 2 },
  },
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

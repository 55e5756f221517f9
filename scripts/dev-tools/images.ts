/**
 * Assemble the control plane images kubeadm expects (kube-apiserver, kube-controller-manager,
 * kube-scheduler, kube-proxy, etcd, coredns, pause) from locally built binaries, as OCI image
 * archives `ctr -n k8s.io images import` registers under exactly kubeadm's names: the test
 * substrate for an offline kubeadm cluster.
 *   usage: npx tsx scripts/dev-tools/images.ts     (run scripts/dev-tools/k8s-images.sh [version],
 *          which builds the binaries first; KUBELAB_IMAGES_KUBERNETES names a release other
 *          than the pinned one)
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
 * debootstrap (as root), cached by recipe (debian-root.ts).
 *
 * Idempotent: an archive is rebuilt only when its inputs (binaries, recipe, this script,
 * images-lib.ts and the layout code) change, so a warm run takes seconds. Builds for the
 * host's architecture. The assembly is shared with metallb-images.ts (images-lib.ts).
 */
import { KUBERNETES_MINORS, KUBERNETES_VERSIONS, PINNED } from "../../src/versions.js";
import { type DebianRootRecipe, debianRootLayer } from "./debian-root.js";
import { assembleImages, bin, cache, PATH_ENV, type Recipe, runScript } from "./images-lib.js";

const log = (msg: string) => process.stderr.write(`images: ${msg}\n`);

// The release whose images to assemble: the pinned one, or another pinned release named by
// KUBELAB_IMAGES_KUBERNETES (k8s-images.sh v1.36.3, for the upgrade tests).
const K8S = process.env.KUBELAB_IMAGES_KUBERNETES || PINNED.kubernetes.version;
const MINOR = K8S.replace(/^v(\d+\.\d+)\..*$/, "$1") as keyof typeof KUBERNETES_MINORS;
const TAGS = KUBERNETES_MINORS[MINOR];
if (TAGS?.version !== K8S) {
  log(`${K8S} is not a Kubernetes release kubelab pins (${KUBERNETES_VERSIONS.join(", ")})`);
  process.exit(1);
}
// The etcd image tag is "<etcd version>-<image revision>" (3.7.0-0 holds etcd v3.7.0).
const ETCD = `v${TAGS.etcd.replace(/-\d+$/, "")}`;

/** kube-proxy's base: iptables, nft, conntrack, and ipset for IPVS mode, which kubelab supports. */
const KUBE_PROXY_ROOT: DebianRootRecipe = {
  name: "kube-proxy",
  revision: 1,
  release: "bookworm",
  packages: ["iptables", "nftables", "conntrack", "ipset"],
  marker: "usr/sbin/conntrack",
};

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
        debianRootLayer(KUBE_PROXY_ROOT, log),
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
          // As upstream's image: the server, etcdctl, and etcdutl (snapshot status and restore).
          files: ["etcd", "etcdctl", "etcdutl"].map((n) => ({
            path: `usr/local/bin/${n}`,
            from: bin("etcd", ETCD, n),
          })),
        },
      ],
      config: { entrypoint: ["/usr/local/bin/etcd"], env: [PATH_ENV] },
    },
  ];
}

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

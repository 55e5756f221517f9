/**
 * Assemble Calico's images (node, cni, kube-controllers) from locally built binaries, as OCI
 * image archives `ctr -n k8s.io images import` registers under exactly the names the pinned
 * calico.yaml uses (quay.io/calico/{node,cni,kube-controllers}:<version>): the test substrate
 * for the Calico addon on an offline cluster, with VXLAN networking.
 *   usage: npx tsx scripts/dev-tools/calico-images.ts     (run scripts/dev-tools/calico-images.sh,
 *          which builds the binaries first)
 * Reads ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/calico/<version>/ (bin/, node-fs/, LICENSE, as
 * calico.sh lays them out) and writes ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/calico-<version>/
 * <name>.tar plus images.json (format kubelab.dev/dev-images/v1, with "calico": <version>).
 * Prints that directory as the last stdout line; progress goes to stderr. Idempotent
 * (images-lib.ts): a warm run takes seconds. Run as root: calico-node's base is a Debian root
 * made with debootstrap (debian-root.ts), once.
 *
 * As upstream's Dockerfiles lay the images out, each with /licenses/LICENSE:
 * - node (node/Dockerfile): a distribution userland with the tools Felix and the start-up
 *   scripts run, node/filesystem (/etc/rc.local, /etc/service/available/*, /usr/sbin/start_runit,
 *   felix.cfg), confd's templates, /bin/calico-node and /bin/mountns; CMD start_runit, run as
 *   root, SVDIR=/etc/service/enabled. Upstream's userland is UBI 9 with AlmaLinux packages and
 *   runit built from source; here it is Debian 12 with the same tools from Debian's packages:
 *   iptables (both the legacy and the nft variants: Felix picks the host's), nftables, ipset,
 *   iproute2 (ip, tc), conntrack, kmod, procps, iputils-ping, net-tools, runit (runsvdir, sv,
 *   svlogd), and calico-node's shared libraries (libelf, libpcap; zlib and glibc are in the
 *   base). start_runit runs /etc/rc.local (calico-node -startup, the tunnel address
 *   allocation), which enables the node-services and felix runit services, and BIRD and confd
 *   only for the "bird" backend.
 *   Left out: BIRD (bird, bird6, birdcl), which upstream builds from its own fork (a separate
 *   repository, calico/bird) and which only the BGP ("bird") backend runs: with
 *   CALICO_NETWORKING_BACKEND=vxlan (or none) rc.local skips the bird, bird6 and confd services,
 *   so nothing starts it. The manifest's -bird-live and -bird-ready probe flags do ask BIRD
 *   (`sv status` and /bin/birdcl): a VXLAN install drops them from the probes, as Calico's own
 *   VXLAN instructions say, with or without BIRD in the image. Also left out: bpftool and the
 *   BPF programs (/usr/lib/calico/bpf), i.e. the BPF dataplane and XDP acceleration, which
 *   Felix then turns off with a warning.
 * - cni (cni-plugin/Dockerfile, on calico/base): /opt/cni/bin/{calico, calico-ipam -> ./calico,
 *   install} and the reference plugins install also copies to the host (host-local, loopback,
 *   portmap, tuning; upstream's flannel is left out: only the canal manifests use it);
 *   CMD /opt/cni/bin/install, working directory /opt/cni/bin, /opt/cni/bin first in PATH. The
 *   manifest runs install (install-cni) and `calico-ipam -upgrade` (upgrade-ipam), privileged.
 * - kube-controllers (kube-controllers/Dockerfile, on calico/base): /usr/bin/{kube-controllers,
 *   check-status, wrapper}, /status/status.json and /profiles/{cpu,mem}.pprof owned by 999;
 *   ENTRYPOINT wrapper kube-controllers, USER 999 (the manifest asks runAsNonRoot, and its
 *   probes run /usr/bin/check-status -l / -r).
 * calico/base (a minimal UBI derivative) stands here as images-lib's empty base: the CNI and
 * controller binaries are static.
 */
import { readFile } from "node:fs/promises";
import type { LayerEntry } from "../../src/oci/layout.js";
import { PINNED } from "../../src/versions.js";
import { type DebianRootRecipe, debianRootLayer } from "./debian-root.js";
import { assembleImages, bin, cache, PATH_ENV, type Recipe, runScript } from "./images-lib.js";

const log = (msg: string) => process.stderr.write(`calico-images: ${msg}\n`);

const VERSION = PINNED.calico.version;
const calicoBin = (name: string) => bin("calico", VERSION, name);

/** calico-node's userland: what upstream's UBI image installs, from Debian 12's packages. */
const NODE_ROOT: DebianRootRecipe = {
  name: "calico-node",
  revision: 2,
  release: "bookworm",
  packages: [
    "iptables",
    "nftables",
    "ipset",
    "iproute2",
    "conntrack",
    "kmod",
    "procps",
    "iputils-ping",
    "net-tools",
    "runit",
    "libelf1",
    "libpcap0.8",
  ],
  marker: "usr/bin/runsvdir",
  // Debian's runit makes /etc/service a link into its own boot directories; calico-node's
  // /etc/service is a plain directory (node/filesystem) whose enabled/ rc.local fills.
  prune: ["etc/service", "etc/runit"],
};

/** The uid kube-controllers runs as (its Dockerfile's USER), who owns its status and profiles. */
const CONTROLLERS_UID = 999;

async function recipes(): Promise<Recipe[]> {
  const licenseFile = cache("calico", VERSION, "LICENSE");
  const content = await readFile(licenseFile).catch(() => {
    throw new Error(`missing ${licenseFile} (run scripts/dev-tools/calico-images.sh)`);
  });
  const license: LayerEntry = { path: "licenses/LICENSE", content };
  const owned = (path: string): LayerEntry => ({ path, content: "", uid: CONTROLLERS_UID });
  return [
    {
      name: `quay.io/calico/node:${VERSION}`,
      file: "node.tar",
      layers: [
        debianRootLayer(NODE_ROOT, log),
        { kind: "tree", dir: cache("calico", VERSION, "node-fs") },
        {
          kind: "files",
          // Upstream copies them to /bin; in a merged-/usr root /bin is a link to usr/bin, so
          // the layer names the real directory.
          files: ["calico-node", "mountns"].map((n) => ({ path: `usr/bin/${n}`, from: calicoBin(n) })),
        },
        { kind: "entries", entries: [license] },
      ],
      config: { cmd: ["start_runit"], env: [PATH_ENV, "SVDIR=/etc/service/enabled"] },
    },
    {
      name: `quay.io/calico/cni:${VERSION}`,
      file: "cni.tar",
      layers: [
        { kind: "base" },
        {
          kind: "files",
          files: ["calico", "install", "host-local", "loopback", "portmap", "tuning"].map((n) => ({
            path: `opt/cni/bin/${n}`,
            from: calicoBin(n),
          })),
        },
        { kind: "entries", entries: [{ path: "opt/cni/bin/calico-ipam", symlink: "./calico" }, license] },
      ],
      config: {
        cmd: ["/opt/cni/bin/install"],
        workingDir: "/opt/cni/bin",
        env: [PATH_ENV.replace("PATH=", "PATH=/opt/cni/bin:")],
      },
    },
    {
      name: `quay.io/calico/kube-controllers:${VERSION}`,
      file: "kube-controllers.tar",
      layers: [
        { kind: "base" },
        {
          kind: "files",
          files: ["kube-controllers", "check-status", "wrapper"].map((n) => ({
            path: `usr/bin/${n}`,
            from: calicoBin(n),
          })),
        },
        {
          kind: "entries",
          entries: [owned("status/status.json"), owned("profiles/cpu.pprof"), owned("profiles/mem.pprof"), license],
        },
      ],
      config: {
        entrypoint: ["/usr/bin/wrapper", "/usr/bin/kube-controllers"],
        user: String(CONTROLLERS_UID),
        env: [PATH_ENV],
      },
    },
  ];
}

await runScript(log, async () =>
  assembleImages({
    outDir: cache("images", `calico-${VERSION}`),
    versions: { calico: VERSION },
    recipes: await recipes(),
    script: import.meta.url,
    buildsBinaries: "scripts/dev-tools/calico-images.sh",
    log,
  }),
);

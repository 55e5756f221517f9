/**
 * Assemble Linkerd's images (controller, proxy) from locally built binaries, as OCI image
 * archives `ctr -n k8s.io images import` registers under exactly the names the pinned
 * linkerd-control-plane chart renders (cr.l5d.io/linkerd/{controller,proxy}:<version>, the
 * release tag the packaged chart sets as linkerdVersion): the test substrate for the Linkerd
 * addon on an offline cluster. The proxy image is also what the injector puts into meshed pods.
 *   usage: npx tsx scripts/dev-tools/linkerd-images.ts     (run scripts/dev-tools/linkerd-images.sh,
 *          which builds the binaries first)
 * Reads ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/linkerd/<version>/ (bin/, licenses/, proxy-version,
 * as linkerd.sh lays them out) and writes ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/linkerd-<version>/
 * <name>.tar plus images.json (format kubelab.dev/dev-images/v1, with "linkerd": <version>).
 * Prints that directory as the last stdout line; progress goes to stderr. Idempotent
 * (images-lib.ts): a warm run takes seconds. Run as root: the proxy's base is a Debian root made
 * with debootstrap (debian-root.ts), once.
 *
 * As upstream's Dockerfiles lay them out:
 * - controller (Dockerfile.controller, FROM scratch): /controller (the Go control plane: the
 *   chart runs its destination, identity, proxy-injector and sp-validator subcommands),
 *   /linkerd-policy-controller (the chart's `policy` container runs it by path),
 *   /linkerd/LICENSE and /etc/ssl/certs/ca-certificates.crt; ENTRYPOINT /controller, run as
 *   root (the chart asks uid 2103), LINKERD_CONTAINER_VERSION_OVERRIDE=<version>, which the
 *   controller reports as its version. Here on images-lib's empty base (static binaries), with
 *   the CA bundle from the proxy's Debian root.
 * - proxy (Dockerfile.proxy, on cr.l5d.io/linkerd/proxy-runtime, a Wolfi glibc userland with
 *   iptables, ip6tables, nftables, libcap and CA certificates): /usr/lib/linkerd/ holding
 *   linkerd2-proxy-identity (the ENTRYPOINT: it writes the pod's key and CSR, then execs the
 *   proxy), linkerd2-proxy, linkerd2-proxy-init (the chart's linkerd-init container runs it by
 *   path), linkerd-await (the injector's postStart hook), linkerd2-network-validator (CNI mode),
 *   LICENSE (the proxy's) and linkerd2-proxy-version.txt; USER 65534; the LINKERD2_PROXY_LOG
 *   and _FORMAT defaults and the version override. proxy-init runs as 65534 with NET_ADMIN and
 *   NET_RAW only in its bounding set, so, as upstream's setcap does, linkerd2-proxy-init and
 *   the iptables multi-binaries (xtables-nft-multi, which the chart's iptables-nft names, and
 *   xtables-legacy-multi) carry those two capabilities as file capabilities (+eip). Here the
 *   userland is Debian 12 with the same packages: glibc for the proxy (a glibc build, as
 *   upstream releases it), iptables (nft and legacy), nftables, libcap2-bin, ca-certificates.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LayerEntry } from "../../src/oci/layout.js";
import { PINNED } from "../../src/versions.js";
import { type DebianRootRecipe, debianRoot, debianRootLayer } from "./debian-root.js";
import { assembleImages, bin, cache, PATH_ENV, type Recipe, runScript } from "./images-lib.js";

const log = (msg: string) => process.stderr.write(`linkerd-images: ${msg}\n`);

const VERSION = PINNED.linkerd.version;
const linkerdBin = (name: string) => bin("linkerd", VERSION, name);
const REPOSITORY = "cr.l5d.io/linkerd";

/** The proxy's userland: what upstream's proxy-runtime image installs, from Debian 12's packages. */
const PROXY_ROOT: DebianRootRecipe = {
  name: "linkerd-proxy",
  revision: 1,
  release: "bookworm",
  packages: ["iptables", "nftables", "libcap2-bin", "ca-certificates"],
  // Written by ca-certificates' configuration, the last step of the install.
  marker: "etc/ssl/certs/ca-certificates.crt",
};

// vfs_cap_data revision 2 with the effective bit, permitted and inheritable = CAP_NET_ADMIN
// (12) and CAP_NET_RAW (13): what `setcap cap_net_raw,cap_net_admin+eip` writes.
const NET_ADMIN_RAW_CAP = Buffer.from("0100000200300000003000000000000000000000", "hex");
const withCaps = { "security.capability": NET_ADMIN_RAW_CAP };

/** The version override both Dockerfiles set: the Go binaries report it as their version. */
const VERSION_ENV = `LINKERD_CONTAINER_VERSION_OVERRIDE=${VERSION}`;

async function recipes(): Promise<Recipe[]> {
  const dir = cache("linkerd", VERSION);
  const read = (name: string) =>
    readFile(join(dir, name)).catch(() => {
      throw new Error(`missing ${join(dir, name)} (run scripts/dev-tools/linkerd-images.sh)`);
    });
  // The root is built first: the controller's CA bundle and the capable iptables come from it.
  const root = await debianRoot(PROXY_ROOT, log);
  const lib = (path: string, from: string, caps = false) => ({
    path: `usr/lib/linkerd/${path}`,
    from: linkerdBin(from),
    ...(caps ? { xattrs: withCaps } : {}),
  });
  const proxyEntries: LayerEntry[] = [
    { path: "usr/lib/linkerd/LICENSE", content: await read("licenses/linkerd2-proxy") },
    { path: "usr/lib/linkerd/linkerd2-proxy-version.txt", content: await read("proxy-version") },
  ];
  const controllerEntries: LayerEntry[] = [
    { path: "linkerd/LICENSE", content: await read("licenses/linkerd2") },
    { path: "etc/ssl/certs/ca-certificates.crt", content: await readFile(join(root, PROXY_ROOT.marker)) },
  ];
  return [
    {
      name: `${REPOSITORY}/controller:${VERSION}`,
      file: "controller.tar",
      layers: [
        { kind: "base" },
        {
          kind: "files",
          files: ["controller", "linkerd-policy-controller"].map((n) => ({ path: n, from: linkerdBin(n) })),
        },
        { kind: "entries", entries: controllerEntries },
      ],
      config: { entrypoint: ["/controller"], env: [PATH_ENV, VERSION_ENV] },
    },
    {
      name: `${REPOSITORY}/proxy:${VERSION}`,
      file: "proxy.tar",
      layers: [
        debianRootLayer(PROXY_ROOT, log),
        {
          kind: "files",
          files: [
            // The root's own binaries again, now with their file capabilities.
            ...["xtables-nft-multi", "xtables-legacy-multi"].map((n) => ({
              path: `usr/sbin/${n}`,
              from: join(root, "usr/sbin", n),
              xattrs: withCaps,
            })),
            lib("linkerd2-proxy-init", "linkerd2-proxy-init", true),
            lib("linkerd2-proxy", "linkerd2-proxy"),
            lib("linkerd2-proxy-identity", "proxy-identity"),
            lib("linkerd-await", "linkerd-await"),
            lib("linkerd2-network-validator", "linkerd-network-validator"),
          ],
        },
        { kind: "entries", entries: proxyEntries },
      ],
      config: {
        entrypoint: ["/usr/lib/linkerd/linkerd2-proxy-identity"],
        user: "65534",
        env: [PATH_ENV, VERSION_ENV, "LINKERD2_PROXY_LOG=warn,linkerd=info", "LINKERD2_PROXY_LOG_FORMAT=plain"],
      },
    },
  ];
}

await runScript(log, async () =>
  assembleImages({
    outDir: cache("images", `linkerd-${VERSION}`),
    versions: { linkerd: VERSION },
    recipes: await recipes(),
    script: import.meta.url,
    buildsBinaries: "scripts/dev-tools/linkerd-images.sh",
    log,
  }),
);

/**
 * Assemble MetalLB's images (controller, speaker) from locally built binaries, as OCI image
 * archives `ctr -n k8s.io images import` registers under exactly the names the pinned
 * metallb-native.yaml uses (quay.io/metallb/{controller,speaker}:<version>): the test
 * substrate for the MetalLB addon on an offline cluster.
 *   usage: npx tsx scripts/dev-tools/metallb-images.ts     (run scripts/dev-tools/metallb-images.sh,
 *          which builds the binaries first)
 * Reads the binaries from ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/metallb/<version>/bin/ and
 * writes ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/metallb-<version>/<name>.tar plus
 * images.json (format kubelab.dev/dev-images/v1, as images.ts writes it, with "metallb":
 * <version> where that has "kubernetes"). Prints that directory as the last stdout line;
 * progress goes to stderr. Idempotent (images-lib.ts): a warm run takes seconds.
 *
 * As upstream's controller/Dockerfile and speaker/Dockerfile (FROM gcr.io/distroless/static,
 * i.e. User 0 and WorkingDir /): the static binary at /controller or /speaker, which is the
 * entrypoint (the manifest gives only args), on the empty base (/etc/passwd with root, nobody
 * and nonroot; /etc/group; /tmp). The manifest runs the controller as 65534 (nobody) and the
 * speaker as the image's user, root, with only NET_RAW (ARP and NDP answers on raw sockets),
 * hostNetwork and a read-only root. Native (non-FRR) mode only: the speaker image leaves out
 * the FRR helpers upstream ships beside it (/frr-metrics, /cp-tool, /frr-reloader.sh), which
 * only the FRR manifests run; the speaker itself execs nothing and reads only its mounted
 * config (/etc/metallb, /etc/ml_secret_key), the service account and /sys/class/net.
 */
import { PINNED } from "../../src/versions.js";
import { assembleImages, bin, cache, PATH_ENV, type Recipe, runScript } from "./images-lib.js";

const log = (msg: string) => process.stderr.write(`metallb-images: ${msg}\n`);

const VERSION = PINNED.metallb.version;

const image = (name: "controller" | "speaker"): Recipe => ({
  name: `quay.io/metallb/${name}:${VERSION}`,
  file: `${name}.tar`,
  layers: [{ kind: "base" }, { kind: "files", files: [{ path: name, from: bin("metallb", VERSION, name) }] }],
  // distroless/static's root user and working directory, as upstream.
  config: { entrypoint: [`/${name}`], user: "0", workingDir: "/", env: [PATH_ENV] },
});

await runScript(log, () =>
  assembleImages({
    outDir: cache("images", `metallb-${VERSION}`),
    versions: { metallb: VERSION },
    recipes: [image("controller"), image("speaker")],
    script: import.meta.url,
    buildsBinaries: "scripts/dev-tools/metallb-images.sh",
    log,
  }),
);

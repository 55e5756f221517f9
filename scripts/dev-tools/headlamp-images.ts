/**
 * Assemble Headlamp's image from the build scripts/dev-tools/headlamp.sh leaves in the dev cache,
 * as an OCI image archive `ctr -n k8s.io images import` registers under the name kubelab pins
 * (PINNED.headlamp.image, ghcr.io/headlamp-k8s/headlamp:v0.45.0): the test substrate for the
 * default UI on an offline cluster.
 *   usage: npx tsx scripts/dev-tools/headlamp-images.ts     (run scripts/dev-tools/headlamp-images.sh,
 *          which builds Headlamp first)
 * Writes ${XDG_CACHE_HOME:-~/.cache}/kubelab-dev/images/headlamp-<version>/headlamp.tar plus
 * images.json (format kubelab.dev/dev-images/v1, with "headlamp": <version>). Prints that
 * directory as the last stdout line; progress goes to stderr. Idempotent (images-lib.ts).
 *
 * As the upstream Dockerfile's final stage lays it out: /headlamp/headlamp-server (the
 * entrypoint, with `-html-static-dir /headlamp/frontend -plugins-dir /headlamp/plugins`; the
 * manifest's args `-in-cluster -plugins-dir=/headlamp/plugins` follow them), the frontend build
 * in /headlamp/frontend, empty plugin directories, HEADLAMP_STATIC_PLUGINS_DIR, the license, and
 * the system user `headlamp` (uid 100, gid 101, as alpine's `adduser -S` makes it in upstream's
 * base) that the process runs as. Two differences: the base is images-lib's empty one instead of
 * alpine (the server is a static binary and needs no shell or libc), and the static plugins
 * directory is empty: upstream downloads its one plugin (prometheus) from a release page at
 * build time, which is neither in the source archive nor needed to browse a cluster. The
 * frontend files are root's and read-only; the plugin directories belong to `headlamp`, as
 * upstream's `chown -R` leaves them.
 */
import { readFile } from "node:fs/promises";
import { PINNED } from "../../src/versions.js";
import { assembleImages, cache, PATH_ENV, runScript, usersLayer } from "./images-lib.js";

const log = (msg: string) => process.stderr.write(`headlamp-images: ${msg}\n`);

const VERSION = PINNED.headlamp.version;
const built = (...parts: string[]) => cache("headlamp", VERSION, ...parts);
const HEADLAMP = { name: "headlamp", uid: 100, gid: 101, home: "home/headlamp" };
const owned = { uid: HEADLAMP.uid, gid: HEADLAMP.gid, directory: true as const };

await runScript(log, async () =>
  assembleImages({
    outDir: cache("images", `headlamp-${VERSION}`),
    versions: { headlamp: VERSION },
    recipes: [
      {
        name: PINNED.headlamp.image,
        file: "headlamp.tar",
        layers: [
          { kind: "base" },
          usersLayer([HEADLAMP]),
          { kind: "files", files: [{ path: "headlamp/headlamp-server", from: built("bin", "headlamp-server") }] },
          { kind: "tree", dir: built("frontend"), at: "headlamp/frontend" },
          {
            kind: "entries",
            entries: [
              { path: "headlamp/plugins", ...owned },
              { path: "headlamp/static-plugins", ...owned },
              { path: "licenses/LICENSE", content: await readFile(built("LICENSE")) },
            ],
          },
        ],
        config: {
          entrypoint: [
            "/headlamp/headlamp-server",
            "-html-static-dir",
            "/headlamp/frontend",
            "-plugins-dir",
            "/headlamp/plugins",
          ],
          user: HEADLAMP.name,
          workingDir: "/",
          env: [PATH_ENV, "HEADLAMP_STATIC_PLUGINS_DIR=/headlamp/static-plugins"],
        },
      },
    ],
    script: import.meta.url,
    buildsBinaries: "scripts/dev-tools/headlamp-images.sh",
    log,
  }),
);

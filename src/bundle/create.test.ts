// Trust anchors are never fetched through a mirror: `--mirror https://pkgs.k8s.io=...` moves the
// repository, never the key that vouches for it, and a key without the pinned fingerprint stops
// the bundle before anything is signed off by it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { keyFetch, OTHER_KEY } from "../../test/helpers/openpgp-keys.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { PINNED } from "../versions.js";
import { createBundle, pinnedSources } from "./create.js";

test("bundle create: a --mirror for pkgs.k8s.io moves the repository, the key is fetched from its pinned URL", async (t) => {
  const plan = defaultPlan();
  const out = join(await tempDir(t), "bundle");
  const asked: string[] = [];
  const answer = keyFetch(OTHER_KEY, asked);
  const repo = PINNED.kubernetes.aptRepository(plan.kubernetes.minor);
  await assert.rejects(
    createBundle(plan, pinnedSources(plan, "amd64"), out, {
      arch: "amd64",
      mirrors: [`https://pkgs.k8s.io=https://mirror.example/k8s`],
      fetch: answer,
      log: () => {},
    }),
    /the signing key from https:\/\/pkgs\.k8s\.io\/.*Release\.key is not the pinned one/,
  );
  assert.deepEqual(asked, [
    `${repo.replace("https://pkgs.k8s.io", "https://mirror.example/k8s")}Release`,
    PINNED.kubernetes.aptKey(plan.kubernetes.minor),
  ]);
});

// What `up --bundle` believes of bundle.json: release files must have the pinned sha256, and a
// bundle without a signed package index is refused. (The signature itself: bundle-trust.int.test.ts.)
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { writeFakeBundle } from "../../test/helpers/fake-bundle.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { PINNED } from "../versions.js";
import { currentTrust, PINNED_TRUST, useTrustAnchors } from "./bundle-trust.js";
import { readBundle } from "./offline-bundle.js";

const plan = defaultPlan();
const unsigned = () => ({ signature: Buffer.from("no signature"), key: Buffer.from("no key") });
const WRONG = "ab".repeat(32);

test("a bundle.json naming another sha256 than the pinned one for a release file is refused, saying what differs", async (t) => {
  for (const role of ["containerd", "runc", "cniPlugins"] as const) {
    const dir = await tempDir(t);
    await writeFakeBundle(dir, plan, unsigned, (m) => ({
      ...m,
      containerd: { ...m.containerd, [role]: { ...m.containerd[role], sha256: WRONG } },
    }));
    const e = await readBundle(dir, plan, PINNED_TRUST).catch((err: unknown) => err);
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.message, `bundle ${dir} carries release files other than the pinned ones`);
    const pinned = { containerd: PINNED.containerd["2.x"].release, runc: PINNED.runc, cniPlugins: PINNED.cniPlugins };
    assert.match(e.details ?? "", new RegExp(`names sha256 ${WRONG}, kubelab pins ${pinned[role].files.amd64.sha256}`));
    assert.equal(e.hint, "make the bundle again with kubelab bundle create");
  }
});

test("a bundle's helm must be a pinned helm release", async (t) => {
  const dir = await tempDir(t);
  await writeFakeBundle(dir, plan, unsigned, (m) => ({ ...m, helm: { name: "helm.tar.gz", sha256: WRONG } }));
  await assert.rejects(readBundle(dir, plan, PINNED_TRUST), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.details ?? "", /^helm\.tar\.gz: bundle\.json names sha256 abab/);
    return true;
  });
});

test("a bundle without a signed package index (an older kubelab's) is refused", async (t) => {
  const dir = await tempDir(t);
  await writeFakeBundle(dir, plan, unsigned, (m) => {
    const { apt: _, ...kubernetes } = m.kubernetes;
    return { ...m, kubernetes };
  });
  await assert.rejects(readBundle(dir, plan, PINNED_TRUST), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /carries no signed package index/);
    assert.match(e.hint ?? "", /make the bundle again with kubelab bundle create/);
    return true;
  });
});

test("currentTrust: the pins, unless code replaced them for this process", () => {
  assert.equal(currentTrust(), PINNED_TRUST);
  const other = { ...PINNED_TRUST, aptKeyFingerprints: ["A".repeat(40)] };
  useTrustAnchors(other);
  try {
    assert.equal(currentTrust(), other);
  } finally {
    useTrustAnchors(undefined);
  }
  assert.equal(currentTrust(), PINNED_TRUST);
});

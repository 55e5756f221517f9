// kubelab snapshot at the command line: restore without a terminal and without --force, the
// name rules and an unknown name, what list prints.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { MANIFEST, type SnapshotManifest, snapshotsDir } from "../cluster/snapshot.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { clusterDir } from "../plan/cluster-dir.js";
import { size, snapshotList, snapshotTable } from "./commands/snapshot.js";
import { loadPlanOrFail } from "./commands/validated.js";

async function lab(t: TestContext) {
  const dir = await tempDir(t);
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, DEFAULT_CLUSTER_YAML);
  const plan = await loadPlanOrFail(file, { out: () => {}, err: () => {} });
  const cdir = clusterDir(plan, file);
  const manifest = (name: string, created: string, disks?: number): SnapshotManifest => ({
    name,
    cluster: plan.name,
    created,
    provider: plan.provider.name,
    nodes: plan.nodes.map((n) => ({ name: n.name, role: n.role, ip: n.ip, location: `x/${n.name}` })),
    files: ["kubeconfig"],
    wasRunning: true,
    sizes: { files: 100, ...(disks === undefined ? {} : { disks }) },
  });
  const put = async (m: SnapshotManifest) => {
    const d = join(snapshotsDir(cdir), m.name);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, MANIFEST), JSON.stringify(m));
  };
  return { file, plan, manifest, put };
}

function noTerminal(t: TestContext) {
  const was = Object.getOwnPropertyDescriptor(process.stdin, "isTTY");
  Object.defineProperty(process.stdin, "isTTY", { value: false, configurable: true });
  t.after(() => {
    if (was) Object.defineProperty(process.stdin, "isTTY", was);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
  });
}

describe("kubelab snapshot restore", () => {
  it("without a terminal and without --force: what is lost is printed, then a UserError (exit 2)", async (t) => {
    const { file, manifest, put, plan } = await lab(t);
    await put(manifest("s1", "2026-12-07T03:00:00.000Z"));
    noTerminal(t);
    const r = await kubelab("snapshot", "restore", "s1", "-f", file);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /Restore cluster \S+ to snapshot s1, taken 2026-12-07T03:00:00\.000Z/);
    for (const n of plan.nodes) assert.match(r.err, new RegExp(`^ +${n.name} +${n.role}`, "m"));
    assert.match(r.err, /error: kubelab snapshot restore replaces every node's disk .* and needs confirmation/);
    assert.match(r.err, /hint: run it on a terminal, or pass --force/);
  });

  it("an unknown name lists the snapshots there are (exit 2)", async (t) => {
    const { file, manifest, put } = await lab(t);
    await put(manifest("s1", "2026-12-07T03:00:00.000Z"));
    await put(manifest("s2", "2026-12-07T04:00:00.000Z"));
    const r = await kubelab("snapshot", "restore", "nope", "-f", file, "--force");
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /no snapshot named nope; it has s1, s2/);
    const d = await kubelab("snapshot", "delete", "nope", "-f", file);
    assert.equal(d.code, 2, d.err);
    assert.match(d.err, /no snapshot named nope; it has s1, s2/);
  });

  it("save refuses a name that is not a DNS label (exit 2)", async (t) => {
    const { file } = await lab(t);
    const r = await kubelab("snapshot", "save", "Before_Upgrade", "-f", file);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /invalid snapshot name "Before_Upgrade"/);
  });
});

describe("kubelab snapshot list", () => {
  const capture = () => {
    let out = "";
    return { io: { out: (s: string) => (out += `${s}\n`), err: () => {} }, out: () => out };
  };

  it("a table, oldest first, with the disk use", async (t) => {
    const { file, manifest, put } = await lab(t);
    await put(manifest("later", "2026-12-07T04:00:00.000Z"));
    await put(manifest("first", "2026-12-07T03:00:00.000Z", 3 * 1024 * 1024 * 1024));
    const o = capture();
    await snapshotList({ file, output: "text" }, o.io);
    const lines = o.out().trim().split("\n");
    assert.match(lines[0] ?? "", /^NAME +CREATED +PROVIDER +NODES +DISK$/);
    assert.match(lines[1] ?? "", /^first +2026-12-07T03:00:00\.000Z +\S+ +3 +3\.0 GiB$/);
    assert.match(lines[2] ?? "", /^later +2026-12-07T04:00:00\.000Z +\S+ +3 +-$/);
  });

  it("-o json is the manifests", async (t) => {
    const { file, manifest, put, plan } = await lab(t);
    await put(manifest("s1", "2026-12-07T03:00:00.000Z"));
    const r = await kubelab("snapshot", "list", "-f", file, "-o", "json");
    assert.equal(r.code, 0, r.err);
    const data = JSON.parse(r.out) as { cluster: string; snapshots: SnapshotManifest[] };
    assert.equal(data.cluster, plan.name);
    assert.deepEqual(
      data.snapshots.map((s) => s.name),
      ["s1"],
    );
  });

  it("none: says how to take one", async (t) => {
    const { file } = await lab(t);
    const r = await kubelab("snapshot", "list", "-f", file);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /has no snapshots: kubelab snapshot save NAME takes one/);
  });

  it("sizes read as people write them", () => {
    assert.equal(size(undefined), "-");
    assert.equal(size(512), "512 B");
    assert.equal(size(1536), "1.5 KiB");
    assert.equal(size(200 * 1024 * 1024), "200 MiB");
    assert.match(snapshotTable([]), /^NAME/);
  });
});

// kubelab down on a fake provider: what it says when nothing exists, and a "no" at its prompt.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { readClusterIndex, recordCluster } from "../../plan/cluster-index.js";
import type { Machine, MachineProvider } from "../../providers/types.js";
import { type DownDeps, down } from "./down.js";

const SSH_HOSTS =
  "provider:\n  name: ssh\n  hosts:\n    - { node: master-1, address: 192.168.56.11 }\n" +
  "    - { node: worker-1, address: 192.168.56.12 }\n    - { node: worker-2, address: 192.168.56.13 }\n";

/** scene is a cluster file in a temp directory and a provider holding `machines`, recording destroy calls. */
async function scene(t: Parameters<typeof tempDir>[0], machines: Machine[], yaml = DEFAULT_CLUSTER_YAML) {
  const dir = await tempDir(t);
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, yaml);
  const calls = { destroy: 0, asked: [] as string[] };
  const provider = {
    name: "vagrant",
    list: async () => machines,
    destroy: async () => {
      calls.destroy++;
    },
  } as unknown as MachineProvider;
  const deps = (answer: boolean): DownDeps => ({
    providerFor: async () => provider,
    confirm: async (q) => {
      calls.asked.push(q);
      return answer;
    },
    kubeconfig: () => join(dir, "kube-config"),
    index: () => join(dir, "clusters.json"),
  });
  let out = "";
  const io = { out: (s: string) => (out += `${s}\n`), err: () => {} };
  return { dir, file, calls, deps, io, out: () => out };
}

/** credentials puts a key pair, an admin kubeconfig and known_hosts in the cluster directory of `dir`. */
async function credentials(dir: string): Promise<Record<string, string>> {
  const cluster = join(dir, ".kubelab", "lab");
  await mkdir(cluster, { recursive: true });
  const files = {
    key: join(cluster, "id_ed25519"),
    pub: join(cluster, "id_ed25519.pub"),
    kubeconfig: join(cluster, "kubeconfig"),
    knownHosts: join(cluster, "known_hosts"),
  };
  for (const f of Object.values(files)) await writeFile(f, "secret\n");
  return files;
}

describe("kubelab down", () => {
  it("with no machines says there is nothing to remove, without asking", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "absent" }]);
    await down({ file: s.file }, s.io, s.deps(false));
    assert.deepEqual(s.calls.asked, [], "nothing to confirm");
    assert.match(s.out(), /^nothing to remove: no machines of cluster lab$/m);
    assert.doesNotMatch(s.out(), /machines removed/);
  });

  it("removes existing machines once confirmed, and the record of the nodes it applied", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "running" }]);
    const record = join(s.dir, ".kubelab", "lab", "nodes.json");
    await mkdir(dirname(record), { recursive: true });
    await writeFile(record, '{"version": 1, "nodes": []}\n');
    await down({ file: s.file }, s.io, s.deps(true));
    assert.equal(s.calls.destroy, 1);
    assert.match(s.out(), /cluster lab: machines removed/);
    assert.equal(existsSync(record), false);
  });

  it("a no at the prompt removes nothing and is not an error", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "running" }]);
    await down({ file: s.file }, s.io, s.deps(false));
    assert.equal(s.calls.asked.length, 1);
    assert.equal(s.calls.destroy, 0);
    assert.match(s.out(), /nothing removed/);
  });

  it("a no on existing hosts (ssh provider) resets nothing and is not an error", async (t) => {
    const yaml = DEFAULT_CLUSTER_YAML.replace(/provider:\n( {2}.*\n)+/, SSH_HOSTS);
    const s = await scene(t, [], yaml);
    await down({ file: s.file }, s.io, s.deps(false));
    assert.match(s.calls.asked[0] ?? "", /kubeadm reset/);
    assert.match(s.out(), /nothing reset/);
  });

  it("forgets the cluster in the index once removed, and keeps it after a no", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "running" }]);
    const index = join(s.dir, "clusters.json");
    const entry = {
      name: "lab",
      cwd: s.dir,
      clusterDir: join(s.dir, ".kubelab", "lab"),
      provider: "vagrant",
      created: "x",
    };
    await recordCluster(index, { ...entry, file: s.file });
    await down({ file: s.file }, s.io, s.deps(false));
    assert.equal((await readClusterIndex(index)).length, 1);
    await down({ file: s.file }, s.io, s.deps(true));
    assert.deepEqual(await readClusterIndex(index), []);
  });

  it("removes the cluster's SSH key and admin kubeconfig with the machines; known_hosts stays", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "running" }]);
    const f = await credentials(s.dir);
    await down({ file: s.file, force: true }, s.io, s.deps(true));
    for (const gone of [f.key, f.pub, f.kubeconfig]) assert.equal(existsSync(gone as string), false, `${gone} removed`);
    assert.ok(existsSync(f.knownHosts as string));
    assert.match(s.out(), /removed .*id_ed25519/);
  });

  it("--keep-files keeps the key and kubeconfig", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "running" }]);
    const f = await credentials(s.dir);
    await down({ file: s.file, force: true, keepFiles: true }, s.io, s.deps(true));
    for (const kept of Object.values(f)) assert.ok(existsSync(kept), `${kept} kept`);
  });

  it("a no at the prompt keeps the key and kubeconfig", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "running" }]);
    const f = await credentials(s.dir);
    await down({ file: s.file }, s.io, s.deps(false));
    for (const kept of Object.values(f)) assert.ok(existsSync(kept), `${kept} kept`);
  });
});

describe("kubelab down with snapshots", () => {
  it("names them when it asks, has the provider delete each, and removes kubelab's part", async (t) => {
    const s = await scene(t, [{ node: "master-1", state: "running" }]);
    const snapshots = join(s.dir, ".kubelab", "lab", "snapshots");
    await mkdir(join(snapshots, "s1"), { recursive: true });
    await writeFile(
      join(snapshots, "s1", "snapshot.json"),
      JSON.stringify({ name: "s1", created: "2026-12-07T03:00:00.000Z", nodes: [{ name: "master-1" }] }),
    );
    const deleted: string[] = [];
    const provider = {
      name: "vagrant",
      list: async () => [{ node: "master-1", state: "running" }],
      destroy: async () => {},
      snapshot: {
        delete: async (_p: unknown, name: string, nodes: string[]) => void deleted.push(`${name} ${nodes.join(",")}`),
      },
    } as unknown as MachineProvider;
    await down({ file: s.file }, s.io, { ...s.deps(true), providerFor: async () => provider });
    assert.match(s.calls.asked[0] ?? "", /and its snapshots \(s1\)\?$/);
    assert.deepEqual(deleted, ["s1 master-1"]);
    assert.equal(existsSync(snapshots), false);
  });
});

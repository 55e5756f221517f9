// kubelab get clusters / list and --name, against a cluster index in a temp XDG_STATE_HOME.
// Machines are existing hosts (ssh provider) on loopback ports, or a stand-in provider.
import assert from "node:assert/strict";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { kubelab } from "../../test/helpers/cli.js";
import { closedPort, listen, sshLab } from "../../test/helpers/ssh-lab.js";
import { stateHome, tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { type ClusterEntry, readClusterIndex, recordCluster } from "../plan/cluster-index.js";
import type { Machine, MachineProvider } from "../providers/types.js";
import { type ClusterRow, getClusters } from "./commands/clusters.js";

/** named renames the cluster of a cluster file. */
const named = (yaml: string, name: string) => yaml.replace(/^( {2}name: )lab\b/m, `$1${name}`);

/** lab writes a cluster file named `name` in a fresh directory and records it in the index. */
async function lab(t: Parameters<typeof tempDir>[0], index: string, yaml: string, name = "lab") {
  const dir = await tempDir(t);
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, named(yaml, name));
  const entry: ClusterEntry = {
    name,
    file,
    cwd: dir,
    clusterDir: join(dir, ".kubelab", name),
    provider: "ssh",
    created: "2026-01-02T03:04:05.000Z",
  };
  await recordCluster(index, entry);
  return { dir, file, entry };
}

/** builtIn is the entry of the built-in lab (nspawn, no file) made in `cwd`. */
const builtIn = (cwd: string): ClusterEntry => ({
  name: "lab",
  cwd,
  clusterDir: join(cwd, ".kubelab", "lab"),
  provider: "nspawn",
  created: "x",
});

const rows = async () => JSON.parse((await kubelab("get", "clusters", "-o", "json")).out) as ClusterRow[];

describe("kubelab get clusters", () => {
  it("with no index says how clusters get there; JSON is an empty list", async (t) => {
    await stateHome(t);
    const r = await kubelab("get", "clusters");
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /no clusters made on this machine yet/);
    assert.deepEqual(await rows(), []);
  });

  it("shows each cluster's file, directory, provider, creation time and machines now", async (t) => {
    const index = await stateHome(t);
    const open = await listen();
    t.after(() => open.server.close());
    const refused = await closedPort();
    const up = await lab(t, index, sshLab([open.port, refused, refused]), "one");
    const down = await lab(t, index, sshLab([refused, refused, refused]), "two");
    const r = await kubelab("list");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^NAME +STATE +PROVIDER +CREATED +FILE +CLUSTER DIRECTORY$/m);
    assert.match(
      r.out,
      new RegExp(`^one +running 1/3 +ssh +2026-01-02 03:04 +${up.file} +${up.entry.clusterDir}$`, "m"),
    );
    assert.match(r.out, /^two +unreachable /m);
    assert.equal((await kubelab("get", "clusters")).out, r.out, "list is get clusters");
    const json = await rows();
    assert.deepEqual(
      json.map((c) => [c.name, c.state, c.running, c.nodes, c.file]),
      [
        ["one", "running", 1, 3, up.file],
        ["two", "unreachable", 0, 3, down.file],
      ],
    );
  });

  it("a cluster whose file is gone or names another cluster is gone, never a crash", async (t) => {
    const index = await stateHome(t);
    const removed = await lab(t, index, sshLab([1, 1, 1]), "removed");
    await rm(removed.file);
    const renamed = await lab(t, index, sshLab([1, 1, 1]), "renamed");
    await writeFile(renamed.file, sshLab([1, 1, 1]));
    const r = await kubelab("get", "clusters");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^removed +gone .*\(.*kubelab\.yaml cannot be read any more\)$/m);
    assert.match(r.out, /^renamed +gone .*now describes cluster lab\)$/m);
  });

  it("asks the provider with the recorded file's plan: running, stopped, or no machines", async (t) => {
    const index = join(await tempDir(t), "clusters.json");
    const cwd = await tempDir(t);
    const states: Machine["state"][][] = [["running", "absent"], ["stopped"], ["absent"]];
    const names = ["a", "b", "c"];
    for (const name of names) {
      const file = join(cwd, `${name}.yaml`);
      await writeFile(file, named(DEFAULT_CLUSTER_YAML, name));
      await recordCluster(index, { ...builtIn(cwd), name, file, clusterDir: join(cwd, ".kubelab", name) });
    }
    await recordCluster(index, builtIn(cwd));
    const provider = (plan: { name: string }) =>
      ({
        list: async () =>
          plan.name === "lab"
            ? Promise.reject(new Error("machinectl: not found"))
            : (states[names.indexOf(plan.name)] ?? []).map((state, i) => ({ node: `n${i}`, state })),
      }) as unknown as MachineProvider;
    let out = "";
    await getClusters(
      { output: "json" },
      { out: (s) => (out += s), err: () => {} },
      {
        index: () => index,
        providerFor: async (plan) => provider(plan),
      },
    );
    const got = (JSON.parse(out) as ClusterRow[]).map((r) => [r.name, r.state, r.reason ?? ""]);
    assert.deepEqual(got, [
      ["a", "running", ""],
      ["b", "stopped", ""],
      ["c", "gone", "no machines, and the cluster directory is gone"],
      ["lab", "unknown", "machinectl: not found"],
    ]);
  });
});

describe("--name", () => {
  it("selects a recorded cluster's file and cluster directory from any directory", async (t) => {
    const index = await stateHome(t);
    const refused = await closedPort();
    const { entry } = await lab(t, index, sshLab([refused, refused, refused]));
    // The recorded file's hosts are asked (and refuse): the dry run stops there, exit 1.
    const r = await kubelab("up", "--dry-run", "--name", "lab");
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, new RegExp(`master-1 is unreachable: ECONNREFUSED from 127\\.0\\.0\\.1:${refused}`));
    assert.deepEqual(await readdir(entry.clusterDir), ["logs"], "the recorded cluster directory is used");
    assert.deepEqual(await readClusterIndex(index), [entry], "a dry run records nothing");
  });

  it("selects a built-in lab by the directory it was made in", async (t) => {
    const index = await stateHome(t);
    const cwd = await tempDir(t);
    await recordCluster(index, builtIn(cwd));
    const r = await kubelab("validate", "--name", "lab");
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /using the built-in lab/);
    // The built-in lab's directory now has a file naming another cluster: that is said, not used.
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, "kubelab.yaml"), named(DEFAULT_CLUSTER_YAML, "other"));
    const moved = await kubelab("plan", "--name", "lab");
    assert.equal(moved.code, 2);
    assert.match(moved.err, /built-in lab in .* now describes cluster other/);
  });

  it("an unknown name exits 2 and lists the known ones with the fix", async (t) => {
    const index = await stateHome(t);
    await lab(t, index, sshLab([1, 1, 1]), "alpha");
    await lab(t, index, sshLab([1, 1, 1]), "beta");
    const r = await kubelab("status", "--name", "gamma");
    assert.equal(r.code, 2);
    assert.match(
      r.err,
      /known clusters: alpha, beta\nerror: no cluster named gamma on this machine\n {2}hint: use one of those names/,
    );
  });

  it("a recorded file that is gone exits 2 and says so; down drops it from the list", async (t) => {
    const index = await stateHome(t);
    const { file } = await lab(t, index, sshLab([1, 1, 1]));
    await rm(file);
    const r = await kubelab("plan", "--name", "lab");
    assert.equal(r.code, 2);
    assert.match(r.err, /cluster lab: .*kubelab\.yaml cannot be read any more/);
    assert.match(r.err, /kubelab down --name lab/);
    const down = await kubelab("down", "--name", "lab");
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /cannot be read any more, so its machines cannot be looked up; removed it/);
    assert.deepEqual(await readClusterIndex(index), []);
  });

  it("together with -f is a usage error", async (t) => {
    await stateHome(t);
    const r = await kubelab("plan", "--name", "lab", "-f", "kubelab.yaml");
    assert.equal(r.code, 2);
    assert.match(r.err, /'--name <name>' cannot be used with option '-f, --file <file>'/);
  });
});

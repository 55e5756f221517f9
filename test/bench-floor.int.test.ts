// bench/prepare.ts's floor: the one shell script per node that does the playbook's work.
// Integration tier: it runs bash (the hermetic tier has only node). The script is only parsed
// (bash -n), never run; its file writing and its /etc/hosts merge are run, against files in a
// scratch directory.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { floorFiles, floorScript, hostsBlockCommand, writeFileCommand } from "../bench/floor-script.js";
import type { Plan } from "../src/plan/types.js";
import { validateCluster } from "../src/plan/validate.js";
import { mergeHosts, renderNodeFiles } from "../src/render/node-files.js";

const PLAYBOOK = join(dirname(fileURLToPath(import.meta.url)), "..", "bench", "ansible", "prepare.yml");
const ENV = { container: true, cgroupV1: false };
const OPTS = {
  env: ENV,
  aptUrl: "http://10.231.203.1:41234/",
  release: {
    containerd: "http://10.231.203.1:40000/aaaa",
    cniPlugins: "http://10.231.203.1:40000/bbbb",
    runc: "http://10.231.203.1:40000/cccc",
  },
};

function plan3(): Plan {
  const result = validateCluster({
    apiVersion: "kubelab.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: "bench3" },
    provider: { name: "nspawn" },
    nodes: [
      { name: "master-1", role: "control-plane" },
      { name: "worker-{n}", role: "worker", count: 2 },
    ],
    network: { cidr: "10.231.203.0/24" },
  });
  if (!result.ok) throw new Error(JSON.stringify(result));
  return result.plan;
}

/** Every absolute path the playbook names as a task's dest or path, and the directories it makes. */
async function playbookPaths(): Promise<string[]> {
  const text = await readFile(PLAYBOOK, "utf8");
  const named = [...text.matchAll(/^\s+(?:dest|path): (\/\S+)\s*$/gm)].map((m) => m[1] ?? "");
  const directories = text.slice(
    text.indexOf("- name: Directories"),
    text.indexOf("- name: containerd's configuration"),
  );
  const items = [...directories.matchAll(/^\s+- (\/\S+)\s*$/gm)].map((m) => m[1] ?? "");
  return [...new Set([...named, ...items])];
}

test("the floor script parses, for the first control plane and for a worker", () => {
  const plan = plan3();
  for (const node of ["master-1", "worker-1"]) {
    const script = floorScript(plan, node, OPTS);
    execFileSync("bash", ["-n"], { input: script });
  }
});

test("the floor writes every file the playbook writes, with kubelab's rendered bytes", async () => {
  const plan = plan3();
  const paths = await playbookPaths();
  assert.ok(paths.includes("/etc/containerd/config.toml") && paths.includes("/usr/local/sbin/runc"), paths.join());
  for (const node of ["master-1", "worker-2"]) {
    const script = floorScript(plan, node, OPTS);
    // The playbook keeps its release tarballs in /var/cache/kubelab (what makes its copy and
    // unarchive idempotent); the floor streams them into tar, as a first run needs no more.
    for (const p of paths.filter((p) => !/^\/var\/cache\/kubelab\/.+\.(tar\.gz|tgz)$/.test(p)))
      assert.ok(script.includes(p), `${node}: the script does not name ${p}`);
    // The playbook's {{ kubeadm_config }}: init on the first control plane, join elsewhere.
    const kubeadm = node === "master-1" ? "kubeadm-init.yaml" : "kubeadm-join.yaml";
    assert.ok(script.includes(`/etc/kubernetes/kubeadm/${kubeadm}`), `${node}: no ${kubeadm}`);
    for (const f of renderNodeFiles(plan, node, ENV).filter((f) => f.path !== "/etc/hosts"))
      assert.ok(script.includes(f.content), `${node}: ${f.path} is not written as rendered`);
    for (const url of Object.values(OPTS.release)) assert.ok(script.includes(url), `${node}: ${url} is not fetched`);
    assert.match(script, /kubeadm=1\.\S+ kubelet=1\.\S+ kubectl=1\.\S+/);
    assert.match(script, /systemctl restart containerd/);
    assert.ok(script.includes(`deb [trusted=yes] ${OPTS.aptUrl} /`));
  }
  assert.throws(() => floorScript(plan, "worker-9", OPTS), /worker-9/);
});

test("writeFileCommand writes any content byte for byte", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-floor-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const contents: (string | Buffer)[] = [
    "plain\n",
    "no newline at the end",
    "$HOME `date` \\n 'quoted' \"double\"\n\ttab\n",
    "KUBELAB_EOF\nthe delimiter is a line here\nKUBELAB_EOF_1\n",
    "crlf\r\n",
    "",
    Buffer.from([0, 1, 2, 255, 10]),
    ...floorFiles(plan3(), "master-1", OPTS).map((f) => f.content),
  ];
  for (const [i, content] of contents.entries()) {
    const path = join(dir, `file ${i}`);
    execFileSync("bash", ["-euc", writeFileCommand(path, content)]);
    assert.deepEqual(await readFile(path), Buffer.from(content), `content ${i}: ${JSON.stringify(String(content))}`);
  }
});

test("the /etc/hosts block is replaced where it is or appended, as blockinfile does", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-floor-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const plan = plan3();
  const hosts = join(dir, "hosts");
  const merge = async (before: string) => {
    await writeFile(hosts, before);
    execFileSync("bash", ["-euc", hostsBlockCommand(plan, hosts)]);
    return readFile(hosts, "utf8");
  };
  const base = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n";
  // What a fresh nspawn node has: the block its machine was made with. Nothing changes.
  const fresh = mergeHosts(base, plan);
  assert.equal(await merge(fresh), fresh);
  // A stale block in the middle is replaced there; the lines around it are kept.
  const stale = `${base}# BEGIN kubelab bench3\n10.0.0.9 old\n# END kubelab bench3\n10.1.1.1 other\n`;
  const block = mergeHosts("", plan).split("# BEGIN")[1] ?? "";
  assert.equal(await merge(stale), `${base}# BEGIN${block}10.1.1.1 other\n`);
  // No block: appended at the end.
  assert.equal(await merge(base), `${base}# BEGIN${block}`);
});

// Install kubeadm, kubelet and kubectl against fake nodes: installed at the plan's package
// version (from the apt repository or an offline bundle's .deb files) and held, only where the
// installed versions or holds differ.
import assert from "node:assert/strict";
import { test } from "node:test";
import { byNode, fakeCluster, fakeStore, freshNode, preparedNode } from "../../test/helpers/fake-node.js";
import { type CommandCall, REST } from "../../test/helpers/fake-remote.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { keyedSource, keyFetch, OTHER_KEY, TEST_KEY } from "../../test/helpers/openpgp-keys.js";
import { dearmor } from "../artifacts/openpgp.js";
import { type PackageSource, pinnedContainerdFiles, upstreamSource } from "../artifacts/package-source.js";
import { HostsError } from "../remote/hosts.js";
import { PINNED } from "../versions.js";
import { debPackage, installKubernetesPhase, installPackages, sourcesLine } from "./install-kubernetes.js";

const plan = defaultPlan();
const V = plan.kubernetes.packageVersion;
const REPO = PINNED.kubernetes.aptRepository(plan.kubernetes.minor);
const KEY = PINNED.kubernetes.aptKey(plan.kubernetes.minor);
const KEYRING = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
const SOURCES = "/etc/apt/sources.list.d/kubernetes.list";
const APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
const INSTALL = [...APT, "install", "-y", "--allow-downgrades", "--no-install-recommends"];
const INSTALL_PINNED = [...INSTALL, `kubeadm=${V}`, `kubelet=${V}`, `kubectl=${V}`];
const UPDATE_KUBERNETES = [
  ...APT,
  "update",
  "-o",
  `Dir::Etc::sourcelist=${SOURCES}`,
  "-o",
  "Dir::Etc::sourceparts=-",
  "-o",
  "APT::Get::List-Cleanup=0",
];
const HOLD = ["apt-mark", "hold", "kubeadm", "kubelet", "kubectl"];

/** The upstream source with the test key pinned in place of pkgs.k8s.io's, served by `fetch`. */
const keyed = (key = TEST_KEY, asked: string[] = []): PackageSource => keyedSource(plan, key, asked);

const FRESH_CHANGES = [
  `install kubeadm=${V} kubelet=${V} kubectl=${V} from ${REPO}`,
  "hold kubeadm, kubelet, kubectl",
].map((what) => ({ node: "worker-1", what }));

/** Scripts what installing from the repository runs as succeeding. */
function aptWorks(c: Awaited<ReturnType<typeof fakeCluster>>, node: string) {
  return c
    .node(node)
    .on([...APT, REST])
    .on(["mkdir", REST])
    .on(["sh", "-c", REST])
    .on(["apt-mark", REST]);
}

test("nodes with the pinned packages held get nothing", async () => {
  const c = await fakeCluster(plan);
  await installKubernetesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  assert.deepEqual(c.touched(), []);
});

test("a fresh node gets the repository's key and source, the pinned packages, and holds", async () => {
  const asked: string[] = [];
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages: keyed(TEST_KEY, asked) });
  const worker = aptWorks(c, "worker-1");
  await installKubernetesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  assert.deepEqual(worker.commands(), [
    ["mkdir", "-p", "-m", "755", "/etc/apt/keyrings"],
    UPDATE_KUBERNETES,
    INSTALL_PINNED,
    HOLD,
  ]);
  assert.deepEqual(worker.writes(), [KEYRING, SOURCES]);
  assert.deepEqual(asked, [KEY], "the host fetched the key; the node fetched nothing");
  // The fake node keeps files as text: compare the binary key as the fake decodes it.
  assert.equal(worker.files.get(KEYRING), dearmor(TEST_KEY).toString(), "the verified key, binary");
  assert.equal(worker.files.get(SOURCES), sourcesLine(REPO, true));
  assert.deepEqual(c.touched(), ["worker-1"]);
});

test("a key without the pinned fingerprint is refused: no node gets it, nothing is installed", async () => {
  for (const packages of [keyed(OTHER_KEY), { ...upstreamSource(plan, fakeStore()), fetch: keyFetch(TEST_KEY) }]) {
    const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages });
    const worker = aptWorks(c, "worker-1");
    await assert.rejects(installKubernetesPhase.run(c.ctx), /is not the pinned one/);
    assert.deepEqual(worker.writes(), []);
    assert.equal(
      worker.commands().some((a) => a[0] === "env" || a[0] === "apt-mark"),
      false,
    );
  }
});

test("held packages of another version are released first; a missing hold alone is added", async () => {
  const older = "1.36.4-1.1";
  const c = await fakeCluster(
    plan,
    {
      "worker-1": preparedNode(plan, "worker-1", { packages: { kubeadm: older, kubelet: older, kubectl: older } }),
      "worker-2": preparedNode(plan, "worker-2", { held: [] }),
    },
    { packages: keyed() },
  );
  aptWorks(c, "worker-1");
  aptWorks(c, "worker-2");
  await installKubernetesPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "worker-1": FRESH_CHANGES.map((ch) => ch.what),
    "worker-2": ["hold kubeadm, kubelet, kubectl"],
  });
  const w1 = c.node("worker-1").commands();
  assert.deepEqual(w1[0], ["apt-mark", "unhold", "kubeadm", "kubelet", "kubectl"]);
  assert.deepEqual(w1.at(-1), HOLD);
  assert.deepEqual(c.node("worker-1").writes(), [KEYRING], "the source line is already right");
  assert.deepEqual(c.node("worker-2").commands(), [HOLD]);
});

test("when the install misses dependencies, every source is refreshed and it is tried again", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages: keyed() });
  const worker = aptWorks(c, "worker-1");
  let tries = 0;
  worker.on(INSTALL_PINNED, (call: CommandCall) => {
    tries++;
    return tries === 1 && call.kind === "exec" ? { code: 100, stderr: "E: Unable to correct problems\n" } : {};
  });
  await installKubernetesPhase.run(c.ctx);
  assert.deepEqual(worker.commands().slice(1), [
    UPDATE_KUBERNETES,
    INSTALL_PINNED,
    [...APT, "update"],
    INSTALL_PINNED,
    HOLD,
  ]);
});

test("from an offline bundle the .deb files are uploaded, installed and removed", async () => {
  const debs = ["kubeadm", "kubelet", "kubectl"].map((p) => ({
    url: `https://example.invalid/${p}.deb`,
    sha256: p.padEnd(64, "0"),
  }));
  const packages: PackageSource = {
    kubernetes: { debs },
    artifacts: fakeStore(),
    containerdFiles: pinnedContainerdFiles,
  };
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages });
  const worker = aptWorks(c, "worker-1").on(["rm", "-f", REST]);
  await installKubernetesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [
    { node: "worker-1", what: `install kubeadm=${V} kubelet=${V} kubectl=${V} from the bundle` },
    FRESH_CHANGES[1],
  ]);
  const paths = debs.map((d) => `/var/cache/kubelab/debs/${d.sha256.slice(0, 16)}.deb`);
  assert.deepEqual(worker.writes(), paths);
  assert.equal(worker.files.get(paths[0] as string), "contents of https://example.invalid/kubeadm.deb\n");
  assert.deepEqual(worker.commands(), [[...INSTALL, ...paths], ["rm", "-f", ...paths], HOLD]);
});

test("from a bundle, moving only kubeadm gives apt kubeadm and its other dependencies, never the held kubelet or kubectl", async () => {
  assert.deepEqual(
    [
      "bundle:kubeadm_1.37.2-1.1_amd64.deb",
      "https://example.invalid/x/cri-tools_1.37.0-1.1_amd64.deb",
      "kubectl.deb",
    ].map(debPackage),
    ["kubeadm", "cri-tools", "kubectl"],
  );
  const debs = ["kubeadm", "kubelet", "kubectl", "cri-tools"].map((p) => ({
    url: `bundle:${p}_1.37.2-1.1_amd64.deb`,
    sha256: p.padEnd(64, "0"),
  }));
  const packages: PackageSource = {
    kubernetes: { debs },
    artifacts: fakeStore(),
    containerdFiles: pinnedContainerdFiles,
  };
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages });
  const worker = aptWorks(c, "worker-1").on(["rm", "-f", REST]);
  const facts = c.ctx.facts.get("worker-1");
  assert.ok(facts);
  await installPackages(c.ctx, worker, facts, ["kubeadm"]);
  const moved = [debs[0], debs[3]].map((d) => `/var/cache/kubelab/debs/${d?.sha256.slice(0, 16)}.deb`);
  assert.deepEqual(worker.writes(), moved);
  assert.deepEqual(worker.commands().at(-2), [...INSTALL, ...moved]);
});

test("a dry run records the same changes and runs and writes nothing", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { dryRun: true });
  await installKubernetesPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, FRESH_CHANGES);
  assert.deepEqual(c.touched(), []);
});

test("packages apt cannot install fail the step on that node, with apt's words, and nothing is held", async () => {
  const c = await fakeCluster(plan, { "worker-1": freshNode() }, { packages: keyed() });
  const worker = aptWorks(c, "worker-1");
  worker.on(INSTALL_PINNED, { code: 100, stderr: `E: Version '${V}' for 'kubeadm' was not found\n` });
  await assert.rejects(installKubernetesPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.match(
      e.message,
      /^failed on 1 of 3 hosts:\n - worker-1: `env DEBIAN_FRONTEND=noninteractive apt-get install .*` exited 100:\n\s+E: Version '.*' for 'kubeadm' was not found\n$/,
    );
    return true;
  });
  assert.equal(
    worker.commands().some((a) => a[0] === "apt-mark"),
    false,
  );
});

// Merging kubelab's cluster into a user kubeconfig and removing it again, on files in a
// temporary directory and as text; which file is the user's.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { OTHER, plan } from "../../test/helpers/kubeconfig.js";
import { tempDir as tmp } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { UserError } from "../errors.js";
import { validateCluster } from "../plan/validate.js";
import { withFileLock } from "./file-lock.js";
import {
  checkKubeconfig,
  clusterKubeconfig,
  mergeIntoFile,
  mergeKubeconfig,
  removeFromFile,
  removeFromKubeconfig,
  userKubeconfigPath,
} from "./kubeconfig.js";

test("a kubeconfig that does not exist yet is created; a missing file is nothing to remove", async (t) => {
  const dir = await tmp(t);
  const file = join(dir, "nested", ".kube", "config");
  const admin = `apiVersion: v1
clusters: [{name: kubernetes, cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: Q0E=}}]
users: [{name: kubernetes-admin, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}}]
contexts: [{name: kubernetes-admin@kubernetes, context: {cluster: kubernetes, user: kubernetes-admin}}]
current-context: kubernetes-admin@kubernetes
`;
  await mergeIntoFile(file, clusterKubeconfig(admin, plan));
  const doc = parse(await readFile(file, "utf8"));
  assert.deepEqual(doc.contexts, [{ name: "kubelab-lab", context: { cluster: "kubelab-lab", user: "kubelab-lab" } }]);
  assert.equal(doc.clusters[0].cluster.server, "https://192.168.56.11:6443");
  assert.equal(doc.clusters[0].cluster["certificate-authority-data"], "Q0E=");
  assert.equal((await stat(join(dir, "nested", ".kube"))).mode & 0o777, 0o700);
  assert.equal(await removeFromFile(join(dir, "absent"), "kubelab-lab"), false);
});

test("pure merge and removal keep the current context when it is another cluster's", () => {
  const cluster = `clusters: [{name: kubelab-a, cluster: {server: "https://x"}}]
users: [{name: kubelab-a, user: {}}]
contexts: [{name: kubelab-a, context: {cluster: kubelab-a, user: kubelab-a}}]
current-context: kubelab-a
`;
  const merged = parse(mergeKubeconfig(OTHER, cluster));
  assert.equal(merged["current-context"], "kubelab-a");
  assert.equal(parse(removeFromKubeconfig(OTHER, "kubelab-a"))["current-context"], "prod");
  assert.equal(parse(mergeKubeconfig(undefined, cluster)).kind, "Config");
});

test("userKubeconfigPath: first $KUBECONFIG entry, else ~/.kube/config", () => {
  assert.equal(userKubeconfigPath({ KUBECONFIG: "/a/one:/b/two" }), "/a/one");
  assert.equal(userKubeconfigPath({ KUBECONFIG: ":/b/two" }), "/b/two");
  assert.match(userKubeconfigPath({}), /\/\.kube\/config$/);
});

const CLUSTER = `clusters: [{name: kubelab-lab, cluster: {server: "https://192.168.56.11:6443"}}]
users: [{name: kubelab-lab, user: {}}]
contexts: [{name: kubelab-lab, context: {cluster: kubelab-lab, user: kubelab-lab}}]
current-context: kubelab-lab
`;

test("a malformed kubeconfig is left untouched, and the error names the file", async (t) => {
  const dir = await tmp(t);
  const file = join(dir, "config");
  const bad = "clusters: [unclosed\n";
  await writeFile(file, bad);
  await assert.rejects(mergeIntoFile(file, CLUSTER), (e: Error) => e.message.startsWith(`${file} is not valid YAML`));
  await assert.rejects(removeFromFile(file, "kubelab-lab"), (e: Error) => e.message.includes(file));
  assert.equal(await readFile(file, "utf8"), bad);
  await writeFile(file, "- a list\n");
  await assert.rejects(mergeIntoFile(file, CLUSTER), (e: Error) => e.message === `${file} is not a kubeconfig`);
  assert.deepEqual(await readdir(dir), ["config"], "no temp file or lock left behind");
});

test("a symlinked kubeconfig: the target is written, the link stays", async (t) => {
  const dir = await tmp(t);
  await mkdir(join(dir, "dotfiles"));
  const target = join(dir, "dotfiles", "kubeconfig");
  await writeFile(target, OTHER);
  const link = join(dir, "config");
  await symlink("dotfiles/kubeconfig", link);
  await mergeIntoFile(link, CLUSTER);
  assert.ok((await lstat(link)).isSymbolicLink(), "still a link");
  assert.equal(await readlink(link), "dotfiles/kubeconfig");
  const doc = parse(await readFile(target, "utf8"));
  assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name).sort(), ["kubelab-lab", "prod"]);
  assert.equal((await stat(target)).mode & 0o777, 0o600);
  assert.equal(await removeFromFile(link, "kubelab-lab"), true);
  assert.ok((await lstat(link)).isSymbolicLink());
  assert.deepEqual(
    parse(await readFile(target, "utf8")).contexts.map((c: { name: string }) => c.name),
    ["prod"],
  );
  // A malformed target named through its link.
  await writeFile(target, "a: [\n");
  await assert.rejects(mergeIntoFile(link, CLUSTER), (e: Error) => e.message.includes(`${link} (a link to ${target})`));
});

test("the lock beside the file: a live holder is waited for, a dead one's lock taken over", async (t) => {
  const dir = await tmp(t);
  const file = join(dir, "config");
  await writeFile(file, OTHER);
  // Held by a live process (this one): the merge waits until it is released.
  await writeFile(`${file}.lock`, `${process.pid}\n`);
  let done = false;
  const merging = mergeIntoFile(file, CLUSTER).then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, "waits while the lock is held");
  assert.doesNotMatch(await readFile(file, "utf8"), /kubelab-lab/);
  await rm(`${file}.lock`);
  await merging;
  assert.match(await readFile(file, "utf8"), /kubelab-lab/);
  assert.equal(existsSync(`${file}.lock`), false, "released");

  // A pid that is gone: stale, taken over at once.
  const dead = spawn(process.execPath, ["-e", ""]);
  await new Promise((r) => dead.once("exit", r));
  await writeFile(`${file}.lock`, `${dead.pid}\n`);
  assert.equal(await removeFromFile(file, "kubelab-lab"), true);
  assert.equal(existsSync(`${file}.lock`), false);

  // Held for good: a clear error naming the file and the lock.
  await writeFile(`${file}.lock`, `${process.pid}\n`);
  await assert.rejects(
    withFileLock(file, file, async () => {}, 200),
    (e: Error) =>
      e.message.includes(`${file} is being changed by another process (pid ${process.pid}): ${file}.lock exists`),
  );
});

test("two merges at once both land (the lock orders them)", async (t) => {
  const dir = await tmp(t);
  const file = join(dir, "config");
  const other = CLUSTER.replaceAll("kubelab-lab", "kubelab-two");
  await Promise.all([mergeIntoFile(file, CLUSTER), mergeIntoFile(file, other)]);
  const names = parse(await readFile(file, "utf8")).contexts.map((c: { name: string }) => c.name);
  assert.deepEqual(names.sort(), ["kubelab-lab", "kubelab-two"]);
});

test("a kubeconfig whose lists are not lists of entries is refused by name, not merged into", async (t) => {
  const file = join(await tmp(t), "config");
  for (const text of ["clusters: 5\n", "users: {a: b}\n", "contexts: [1, 2]\n", "- a list\n"]) {
    await writeFile(file, text);
    await assert.rejects(checkKubeconfig(file), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, new RegExp(`^${file} is not a kubeconfig`));
      assert.match(e.hint ?? "", /kubelab changes nothing in it/);
      return true;
    });
    await assert.rejects(mergeIntoFile(file, "apiVersion: v1\n"), UserError);
    assert.equal(await readFile(file, "utf8"), text);
  }
  await checkKubeconfig(join(file, "..", "absent"));
});

test("with a control-plane VIP the kubeconfig's server is the VIP and HAProxy's port, whatever admin.conf says", () => {
  const admin = `apiVersion: v1
clusters: [{name: kubernetes, cluster: {server: "https://192.168.56.11:6443", certificate-authority-data: Q0E=}}]
users: [{name: kubernetes-admin, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}}]
contexts: [{name: kubernetes-admin@kubernetes, context: {cluster: kubernetes, user: kubernetes-admin}}]
`;
  const raw = parse(DEFAULT_CLUSTER_YAML);
  raw.nodes[0].count = 3;
  raw.controlPlane = { endpoint: { vip: "192.168.56.10" } };
  const r = validateCluster(raw);
  assert.ok(r.ok, JSON.stringify(r));
  const doc = parse(clusterKubeconfig(admin, r.plan));
  assert.equal(doc.clusters[0].cluster.server, "https://192.168.56.10:8443");
});

// Merging kubelab's cluster into a user kubeconfig and removing it again, on files in a
// temporary directory and as text; which file is the user's.
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { OTHER, plan } from "../../test/helpers/kubeconfig.js";
import { tempDir as tmp } from "../../test/helpers/tmp.js";
import {
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

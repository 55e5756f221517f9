// The cluster kubeconfig from a real admin.conf (made by the real kubeadm), merged into a
// user kubeconfig and read back by the real kubectl.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { requireTool } from "../../test/helpers/tools.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { clusterSchema } from "../config/schema.js";
import { buildPlan } from "../plan/build.js";
import {
  clusterKubeconfig,
  mergeIntoFile,
  mergeKubeconfig,
  removeFromFile,
  removeFromKubeconfig,
  userKubeconfigPath,
} from "./kubeconfig.js";

const execFileP = promisify(execFile);
const plan = buildPlan(clusterSchema.parse(parse(DEFAULT_CLUSTER_YAML)));

/** A user's kubeconfig with another cluster in it, some preferences and an extension. */
const OTHER = `apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: prod
  cluster: {server: "https://prod.example:6443", insecure-skip-tls-verify: true}
users:
- name: prod-admin
  user: {token: abc}
contexts:
- name: prod
  context: {cluster: prod, user: prod-admin, namespace: web}
current-context: prod
`;

async function tmp(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-kubeconfig-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** admin.conf as `kubeadm init` writes it, for a cluster named like the plan. */
async function realAdminConf(t: TestContext, kubeadm: string): Promise<string> {
  const dir = await tmp(t);
  await writeFile(
    join(dir, "kubeadm.yaml"),
    `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: 192.168.56.11, bindPort: 6443}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: lab
kubernetesVersion: ${plan.kubernetes.version}
controlPlaneEndpoint: 192.168.56.11:6443
certificatesDir: ${join(dir, "pki")}
`,
  );
  const cfg = ["--config", join(dir, "kubeadm.yaml")];
  await execFileP(kubeadm, ["init", "phase", "certs", "ca", ...cfg]);
  await execFileP(kubeadm, ["init", "phase", "kubeconfig", "admin", ...cfg, "--kubeconfig-dir", dir]);
  return readFile(join(dir, "admin.conf"), "utf8");
}

test("merged into a kubeconfig with other clusters, kubectl sees both and uses kubelab's", async (t) => {
  const kubeadm = requireTool(t, "kubeadm");
  const kubectl = requireTool(t, "kubectl");
  if (!kubeadm || !kubectl) return;
  const admin = await realAdminConf(t, kubeadm);
  const dir = await tmp(t);
  const file = join(dir, "config");
  await writeFile(file, OTHER, { mode: 0o644 });
  await mergeIntoFile(file, clusterKubeconfig(admin, plan));
  assert.equal((await stat(file)).mode & 0o777, 0o600);

  const kc = (...args: string[]) =>
    execFileP(kubectl, ["--kubeconfig", file, ...args], { encoding: "utf8" }).then((r) => r.stdout.trim());
  assert.deepEqual((await kc("config", "get-contexts", "-o", "name")).split("\n").sort(), ["kubelab-lab", "prod"]);
  assert.equal(await kc("config", "current-context"), "kubelab-lab");
  assert.equal(
    await kc("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"),
    "https://192.168.56.11:6443",
  );
  // The credentials are admin.conf's own, intact (kubectl decodes and re-encodes them).
  const raw = (q: string) => kc("config", "view", "--raw", "--minify", "-o", `jsonpath=${q}`);
  const adminDoc = parse(admin);
  assert.equal(await raw("{.users[0].user.client-key-data}"), adminDoc.users[0].user["client-key-data"]);
  assert.equal(
    await raw("{.clusters[0].cluster.certificate-authority-data}"),
    adminDoc.clusters[0].cluster["certificate-authority-data"],
  );
  // The other cluster is untouched, preferences too.
  assert.equal(
    await kc("config", "view", "--context", "prod", "--minify", "-o", "jsonpath={.contexts[0].context.namespace}"),
    "web",
  );
  assert.equal(parse(await readFile(file, "utf8")).preferences.colors, true);

  // Merging again replaces kubelab's entries instead of adding more.
  await mergeIntoFile(file, clusterKubeconfig(admin, plan));
  const doc = parse(await readFile(file, "utf8"));
  assert.equal(doc.clusters.length, 2);
  assert.equal(doc.users.length, 2);

  // Removing leaves the other cluster, and no current context pointing at nothing.
  assert.equal(await removeFromFile(file, "kubelab-lab"), true);
  assert.equal(await kc("config", "get-contexts", "-o", "name"), "prod");
  assert.equal(parse(await readFile(file, "utf8"))["current-context"], undefined);
  assert.equal(await removeFromFile(file, "kubelab-lab"), false);
});

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

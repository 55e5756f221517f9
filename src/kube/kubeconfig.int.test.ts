// The cluster kubeconfig from a real admin.conf (made by the real kubeadm), merged into a
// user kubeconfig and read back by the real kubectl.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { OTHER, plan } from "../../test/helpers/kubeconfig.js";
import { tempDir as tmp } from "../../test/helpers/tmp.js";
import { requireTool } from "../../test/helpers/tools.js";
import { clusterKubeconfig, mergeIntoFile, removeFromFile } from "./kubeconfig.js";

const execFileP = promisify(execFile);

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

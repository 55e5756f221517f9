// The real kubeadm (built by scripts/dev-tools/kubernetes.sh at the pinned Kubernetes version)
// checks the configuration kubelab renders: `kubeadm config validate --config FILE` decodes
// every document strictly (an unknown or misspelt field is an error, in the kubeadm documents
// and in the KubeletConfiguration/KubeProxyConfiguration alike), applies kubeadm's defaulting
// and runs the validation `kubeadm init`/`join` run before they touch the machine.
//
// It needs no network, no root and no container runtime: the CRI socket is not probed, the
// join discovery endpoint is not contacted, and kubeadm only goes to dl.k8s.io to resolve a
// version *label* (`stable-1.37`, `latest`); kubelab always renders an exact kubernetesVersion,
// which the first test asserts. (kubeadm has no flag to turn that lookup off; an exact version
// is the way to avoid it.)
//
// What it does not check: the values of the component configs. kubeadm strict-decodes the
// KubeletConfiguration and KubeProxyConfiguration but leaves their validation to kubelet and
// kube-proxy at start-up, so `cgroupDriver: bogus` passes (pinned by a test below).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { KUBERNETES_VERSION, requireTool } from "../../test/helpers/tools.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { firstControlPlane } from "../plan/control-plane.js";
import type { Plan } from "../plan/types.js";
import { validateCluster } from "../plan/validate.js";
import { type JoinSecrets, kubeadmJoinDocument, renderKubeadmInit } from "./kubeadm.js";

/** Dummy join secrets in the exact shapes kubeadm validates (token, CA key hash, AES key). */
const SECRETS: JoinSecrets = {
  token: "abcdef.0123456789abcdef",
  caCertHash: `sha256:${"0123456789abcdef".repeat(4)}`,
  certificateKey: "fedcba9876543210".repeat(4),
};

/** kubeadm 1.37 deprecates kube-proxy's ipvs mode and says so on every read (a warning only). */
const IPVS_DEPRECATED = /The "KubeProxyConfiguration" field "mode" is set to "ipvs" which has been deprecated/;

function planOf(yamlText: string): Plan {
  const r = validateCluster(parse(yamlText));
  if (!r.ok) throw new Error(`cluster file does not validate: ${JSON.stringify(r.errors)}`);
  return r.plan;
}

const defaultPlan = (): Plan => planOf(DEFAULT_CLUSTER_YAML);

async function haPlan(): Promise<Plan> {
  const file = fileURLToPath(new URL("../../test/fixtures/render/ipvs-17/lab.yaml", import.meta.url));
  return planOf(await readFile(file, "utf8"));
}

/** The default cluster with names that are booleans in YAML 1.1 (which kubeadm's parser follows). */
function yaml11Plan(): Plan {
  const text = DEFAULT_CLUSTER_YAML.replace("name: lab ", 'name: "no" ')
    .replace("name: master-{n}", 'name: "on"')
    .replace("proxyMode: iptables", "proxyMode: nftables");
  const plan = planOf(text);
  assert.equal(plan.name, "no");
  assert.equal(firstControlPlane(plan).name, "on");
  assert.equal(plan.kubernetes.proxyMode, "nftables");
  return plan;
}

/** A temporary directory that goes away with the test. */
async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-kubeadm-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `kubeadm config validate --config <content written to dir/name>`; never rejects. */
async function validate(bin: string, dir: string, name: string, content: string): Promise<Outcome> {
  const path = join(dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return new Promise((resolve) => {
    execFile(
      bin,
      ["config", "validate", "--config", path],
      { encoding: "utf8", timeout: 60_000, env: { ...process.env, KUBECONFIG: join(dir, "no-kubeconfig") } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** klog warning/error lines ("W1128 10:26:02.678291 27468 file.go:144] message"). */
const klogLines = (stderr: string) => stderr.split("\n").filter((l) => /^[WE]\d{4} /.test(l));

/** Asserts kubeadm accepted the file, with no warnings other than the `allowed` ones. */
function assertValid(out: Outcome, what: string, allowed: readonly RegExp[] = []): void {
  assert.equal(out.code, 0, `kubeadm rejected ${what}:\n${out.stderr}`);
  assert.equal(out.stdout.trim(), "ok", what);
  const unexpected = klogLines(out.stderr).filter((l) => !allowed.some((re) => re.test(l)));
  assert.deepEqual(unexpected, [], `kubeadm warned about ${what}`);
}

/** Asserts kubeadm rejected the file with a message matching `reason`. */
function assertRejected(out: Outcome, what: string, reason: RegExp): void {
  assert.notEqual(out.code, 0, `kubeadm accepted ${what}:\n${out.stdout}`);
  assert.match(out.stderr, reason, what);
}

/** Every node that runs `kubeadm join`, with the secrets its role needs. */
function joins(plan: Plan): { name: string; secrets: JoinSecrets }[] {
  const first = firstControlPlane(plan);
  return plan.nodes
    .filter((n) => n !== first)
    .map((n) => ({
      name: n.name,
      secrets: n.role === "control-plane" ? SECRETS : { token: SECRETS.token, caCertHash: SECRETS.caCertHash },
    }));
}

test("the kubeadm under test is the pinned release", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  // An exact version also keeps `config validate` off the network (no label to resolve).
  assert.match(defaultPlan().kubernetes.version, /^v\d+\.\d+\.\d+$/);
  assert.equal(defaultPlan().kubernetes.version, KUBERNETES_VERSION);
  const out = await new Promise<string>((resolve, reject) =>
    execFile(bin, ["version", "-o", "short"], { encoding: "utf8" }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );
  assert.equal(out.trim(), KUBERNETES_VERSION);
});

test("kubeadm accepts the init configuration of the default cluster", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const plan = defaultPlan();
  assertValid(await validate(bin, dir, "init.yaml", renderKubeadmInit(plan).content), "the default init config");
});

test("kubeadm accepts the init configuration for nspawn nodes on a cgroup v1 host", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const file = renderKubeadmInit(defaultPlan(), { container: true, cgroupV1: true });
  // The options must reach the file, or this case checks nothing more than the default one.
  const docs = parseAllDocuments(file.content, { version: "1.1" }).map((d) => d.toJS());
  assert.ok(docs.some((d) => d.kind === "KubeletConfiguration" && d.failCgroupV1 === false));
  assert.ok(docs.some((d) => d.kind === "KubeProxyConfiguration" && d.conntrack?.maxPerCore === 0));
  assertValid(await validate(bin, dir, "init-nspawn.yaml", file.content), "the nspawn init config");
});

test("kubeadm accepts the init configuration of the HA, containerd 1.7, ipvs cluster", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const out = await validate(bin, dir, "init-ipvs.yaml", renderKubeadmInit(await haPlan()).content);
  assertValid(out, "the ipvs-17 init config", [IPVS_DEPRECATED]);
  // kubeadm does read the kube-proxy document: it warns about the deprecated mode.
  assert.match(out.stderr, IPVS_DEPRECATED);
});

test("kubeadm accepts the complete join documents of the HA cluster", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const plan = await haPlan();
  const nodes = joins(plan);
  const roles = new Set(nodes.map((n) => plan.nodes.find((p) => p.name === n.name)?.role));
  assert.deepEqual([...roles].sort(), ["control-plane", "worker"], "both kinds of join are covered");
  for (const { name, secrets } of nodes) {
    const doc = kubeadmJoinDocument(plan, name, secrets);
    assertValid(await validate(bin, dir, `join-${name}.yaml`, doc), `the join document of ${name}`);
  }
});

test("kubeadm accepts the default cluster's worker join document", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const plan = defaultPlan();
  for (const { name, secrets } of joins(plan)) {
    const doc = kubeadmJoinDocument(plan, name, secrets);
    assertValid(await validate(bin, dir, `join-${name}.yaml`, doc), `the join document of ${name}`);
  }
});

test("kubeadm reads YAML 1.1 names (no, on) as strings, and the nftables mode", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const plan = yaml11Plan();
  assertValid(await validate(bin, dir, "init.yaml", renderKubeadmInit(plan).content), "the init config of cluster no");
  for (const { name, secrets } of joins(plan)) {
    const doc = kubeadmJoinDocument(plan, name, secrets);
    assertValid(await validate(bin, dir, `join-${name}.yaml`, doc), `the join document of ${name}`);
  }
  // The check bites on these names: unquoted, kubeadm reads a boolean where a string belongs.
  const unquoted = renderKubeadmInit(plan).content.replace(/^clusterName: "no"$/m, "clusterName: no");
  assert.notEqual(unquoted, renderKubeadmInit(plan).content, "the rendered file quotes the name");
  assertRejected(
    await validate(bin, dir, "unquoted.yaml", unquoted),
    "clusterName: no",
    /cannot unmarshal bool into Go struct field ClusterConfiguration\.clusterName/,
  );
});

test("kubeadm rejects a misspelt field in kubelab's KubeletConfiguration", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const good = renderKubeadmInit(defaultPlan()).content;
  const bad = good.replace(/^cgroupDriver: /m, "cgroupDrivr: ");
  assert.notEqual(bad, good);
  assertRejected(
    await validate(bin, dir, "typo.yaml", bad),
    "cgroupDrivr",
    /strict decoding error: unknown field "cgroupDrivr"/,
  );
});

test("kubeadm rejects a join document with a malformed token or certificate key", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  const plan = await haPlan();
  const cp = joins(plan).find((j) => j.secrets.certificateKey);
  assert.ok(cp);
  const good = kubeadmJoinDocument(plan, cp.name, cp.secrets);
  // kubelab's own checkSecrets refuses these, so break the rendered text instead.
  const badToken = good.replace(SECRETS.token, "abcdef.0123");
  assert.notEqual(badToken, good);
  assertRejected(await validate(bin, dir, "token.yaml", badToken), "token", /the bootstrap token is invalid/);
  const badKey = good.replace(SECRETS.certificateKey ?? "", "z".repeat(64));
  assert.notEqual(badKey, good);
  assertRejected(await validate(bin, dir, "key.yaml", badKey), "certificateKey", /certificate key decoding error/);
});

test("limit: kubeadm does not validate component config values (cgroupDriver: bogus passes)", async (t) => {
  const bin = requireTool(t, "kubeadm");
  if (!bin) return;
  const dir = await tempDir(t);
  // kubelet itself would refuse this at start; kubeadm only strict-decodes the document. If
  // this starts failing, kubeadm has begun validating values: turn it into a rejection test.
  const bogus = renderKubeadmInit(defaultPlan()).content.replace(/^cgroupDriver: systemd$/m, "cgroupDriver: bogus");
  assert.match(bogus, /^cgroupDriver: bogus$/m);
  assertValid(await validate(bin, dir, "bogus.yaml", bogus), "cgroupDriver: bogus");
});

// doctor dump: a cluster whose pods, logs and nodes carry every kind of secret; the dumped file
// holds none of them, is 0600 even over an older dump, and every check says on it exactly what
// it says on the full evidence.
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import {
  controlPlaneDeployment,
  controlPlanePod,
  controlPlanePodStatus,
  deploymentStatus,
  issuerSecret,
  kubeNamespace,
  linkerdPki,
  runningStatus,
  trustRoots,
  withStatus,
  workloadPod,
} from "../../test/helpers/linkerd-objects.js";
import { calicoDaemonSet, calicoPods, node } from "../../test/helpers/not-ready-nodes.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { API_KEYS } from "./api.js";
import { CHECKS } from "./checks/index.js";
import { EVIDENCE_FILE, readEvidence, writeEvidence } from "./dump.js";
import { NODE_COMMANDS, NODE_FILES } from "./nodes.js";
import { runChecks } from "./run.js";
import type { Evidence } from "./types.js";

type Obj = Record<string, unknown>;

const CERT_KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const PEM_KEY =
  "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBase64KeyMaterialThatMustNotLeak\n-----END EC PRIVATE KEY-----\n";

/** Every secret the cluster below carries somewhere: none may be in the dump. */
const SECRETS = {
  envDbPass: "hunter2-db-pass",
  envApiKey: "sk-live-apikey-0001",
  envPlain: "plain-value-in-env-0002",
  argPassword: "pw-given-as-flag-0003",
  argToken: "tok-given-as-flag-0004",
  commandExport: "rootpw-in-command-0005",
  base64Pem: Buffer.from(PEM_KEY).toString("base64"),
  certificateKey: CERT_KEY,
  lastApplied: "copied-by-kubectl-apply-0006",
  volumeOption: "flexvolume-secret-0007",
  logApiKey: "log-apikey-0008",
  logPassword: "log-password-0009",
  registryPassword: "registry-pw-0010",
  registryAuth: "cmVnaXN0cnk6cGFzcw==",
};

/** A container carrying secrets in each place a container can. */
const leaky = (name: string): Obj => ({
  name,
  image: "registry.example/app:1.0",
  command: ["sh", "-c", `export MYSQL_ROOT_PASSWORD=${SECRETS.commandExport}; exec app`],
  args: [`--password=${SECRETS.argPassword}`, "--token", SECRETS.argToken, `--certificate-key=${CERT_KEY}`],
  env: [
    { name: "DB_PASS", value: SECRETS.envDbPass },
    { name: "apiKey", value: SECRETS.envApiKey },
    { name: "GREETING", value: SECRETS.envPlain },
    { name: "TLS_KEY_PEM", value: SECRETS.base64Pem },
  ],
  envFrom: [{ secretRef: { name: "app-secrets" } }],
});

/** Adds the leaky container and secret-holding metadata and volumes to a pod spec. */
function leak(o: Obj, at: "pod" | "template"): Obj {
  const lastApplied = { "kubectl.kubernetes.io/last-applied-configuration": `{"password":"${SECRETS.lastApplied}"}` };
  const metadata = o.metadata as Obj;
  const withAnnotations = { ...metadata, annotations: { ...(metadata.annotations as Obj), ...lastApplied } };
  const addTo = (spec: Obj): Obj => ({
    ...spec,
    containers: [...((spec.containers as Obj[]) ?? []), leaky("leaky")],
    volumes: [{ name: "v", flexVolume: { driver: "x/y", options: { secret: SECRETS.volumeOption } } }],
  });
  if (at === "pod") return { ...o, metadata: withAnnotations, spec: addTo(o.spec as Obj) };
  const spec = o.spec as Obj;
  const template = spec.template as Obj;
  return {
    ...o,
    metadata: withAnnotations,
    spec: { ...spec, template: { ...template, spec: addTo(template.spec as Obj) } },
  };
}

async function evidence(): Promise<Evidence> {
  const pki = await linkerdPki();
  const calicoNode = (n: Obj): Obj => {
    const meta = n.metadata as Obj;
    return {
      ...n,
      metadata: {
        ...meta,
        annotations: {
          ...(meta.annotations as Obj),
          "projectcalico.org/IPv4Address": "10.0.2.15/24",
          "kubectl.kubernetes.io/last-applied-configuration": `{"token":"${SECRETS.lastApplied}"}`,
        },
      },
    };
  };
  const objects: Record<string, Obj[]> = {
    [API_KEYS.node]: [node("master-1", "ready"), node("worker-1", "no-cni"), node("worker-2", "ready")].map(calicoNode),
    [API_KEYS.daemonSet]: [leak(calicoDaemonSet({ desired: 3, current: 3, ready: 2 }), "template")],
    [API_KEYS.pod]: [
      ...calicoPods("ready", "install-cni-crashloop", "ready").map((p) => leak(p, "pod")),
      withStatus(controlPlanePod("linkerd-destination", "linkerd-destination-7c9f8b6d4-x2x4q", "worker-2"), {
        ...controlPlanePodStatus("linkerd-destination", "crashloop"),
      }),
      withStatus(
        leak(workloadPod({ namespace: "shop", name: "web-6d4cf56db6-abcde", proxy: "none", deployment: "web" }), "pod"),
        runningStatus,
      ),
    ],
    [API_KEYS.deployment]: [
      withStatus(leak(controlPlaneDeployment("linkerd-destination"), "template"), deploymentStatus(1, 0)),
    ],
    [API_KEYS.namespace]: [kubeNamespace("shop", true)],
    [API_KEYS.configMap]: [trustRoots(pki.kubelab.trustAnchor.certPEM)],
    [API_KEYS.secret]: [issuerSecret(pki.kubelab.issuerCertPEM)],
  };
  const containerd = [
    'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\n  SystemdCgroup = true',
    `[plugins."io.containerd.cri.v1.images".registry.configs."registry.example".auth]`,
    `  username = "lab"\n  password = "${SECRETS.registryPassword}"\n  auth = "${SECRETS.registryAuth}"`,
  ].join("\n");
  const nodeEvidence = {
    files: {
      [NODE_FILES.swaps]: "Filename\tType\tSize\tUsed\tPriority\n",
      [NODE_FILES.kubeadmFlags]: `KUBELET_KUBEADM_ARGS="--node-ip=192.168.56.11 --token=${SECRETS.argToken}"\n`,
    },
    commands: {
      [NODE_COMMANDS.containerdConfig]: { code: 0, stdout: containerd, stderr: "" },
      [NODE_COMMANDS.clock]: { code: 0, stdout: "1765190000000\n", stderr: "" },
    },
    hostTimeMs: 1765190000100,
  };
  return {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: "2026-12-08T10:30:00Z",
    file: parse(DEFAULT_CLUSTER_YAML),
    api: {
      objects,
      logs: {
        "kube-system/calico-node-abc/calico-node": [
          `2026-12-08 10:00:00 apiKey: ${SECRETS.logApiKey}`,
          `connecting with --password=${SECRETS.logPassword}`,
          `[upload-certs] Using certificate key:\n${CERT_KEY}`,
          `client-key-data: ${SECRETS.base64Pem}`,
          PEM_KEY,
        ].join("\n"),
      },
    },
    nodes: { "master-1": nodeEvidence },
    unavailable: { probes: "not probed in this test" },
  };
}

test("the dump holds none of a pod's, a log's or a node's secrets", async (t) => {
  const dir = await tempDir(t);
  const path = await writeEvidence(dir, await evidence());
  const text = await readFile(path, "utf8");
  for (const [where, secret] of Object.entries(SECRETS))
    assert.equal(text.includes(secret), false, `${where} (${secret.slice(0, 20)}...) is in the dump`);
  assert.doesNotMatch(text, /PRIVATE KEY-----/);
  assert.doesNotMatch(text, /"env"|"args"|"command"|"volumes"|last-applied-configuration/);
  // What the checks read is still there: names, images, placement, certificates.
  assert.match(text, /"name": "leaky"/);
  assert.match(text, /projectcalico\.org\/IPv4Address/);
  assert.match(text, /BEGIN CERTIFICATE|LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t/);
});

test("every check gives the same results on the dump as on the full evidence", async (t) => {
  const dir = await tempDir(t);
  const full = await evidence();
  await writeEvidence(dir, full);
  const dumped = await readEvidence(dir);
  const before = runChecks(full, CHECKS);
  assert.deepEqual(runChecks(dumped, CHECKS), before);
  // Not a vacuous match: checks of each source ran and found things.
  const ran = before.filter((r) => r.verdict !== "skip").map((r) => r.id);
  for (const id of [
    "node.ready",
    "calico.node-address",
    "linkerd.control-plane",
    "linkerd.injection",
    "node.cgroup-driver",
  ])
    assert.ok(ran.includes(id), `${id} ran (ran: ${ran.join(", ")})`);
  assert.ok(before.some((r) => r.verdict === "fail"));
});

test("an existing dump is replaced with mode 0600", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, EVIDENCE_FILE), "{}", { mode: 0o644 });
  const path = await writeEvidence(dir, await evidence());
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});

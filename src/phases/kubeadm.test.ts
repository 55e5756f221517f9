// kubeadm init and join against fake nodes: each runs only where it has not run yet; join
// secrets are made on the first control plane and reach kubeadm on its stdin only; a failure
// names the node and carries kubeadm's and kubelet's last words, bootstrap tokens masked.
import assert from "node:assert/strict";
import { test } from "node:test";
import { byNode, fakeCluster, preparedNode } from "../../test/helpers/fake-node.js";
import type { CommandCall, FakeRemote } from "../../test/helpers/fake-remote.js";
import { defaultPlan, planWith } from "../../test/helpers/fixtures.js";
import { selfSignedServerCert } from "../addons/linkerd-identity.js";
import { CommandError } from "../errors.js";
import { HostsError } from "../remote/hosts.js";
import { KUBEADM_INIT_PATH, kubeadmJoinDocument } from "../render/kubeadm.js";
import { etcdctlArgv } from "./etcd.js";
import {
  ADMIN_CONF,
  caCertHash,
  deleteNode,
  GET_CONTROL_PLANES,
  GET_NODES,
  kubeadmInitPhase,
  kubeadmJoinPhase,
  TOKEN_CREATE,
} from "./kubeadm.js";
import { INIT_OBJECTS, initProbe, LEFTOVERS_PROBE, MANIFESTS_PROBE } from "./kubeadm-state.js";

const plan = defaultPlan();
const twoControlPlanes = planWith((raw) => {
  raw.nodes[0].count = 2;
  raw.kubernetes.controlPlaneEndpoint = "192.168.56.11:6443";
});
const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
const CA_CERT = "/etc/kubernetes/pki/ca.crt";
const CA = (await selfSignedServerCert("kubernetes")).certPEM;
const TOKEN = "abcdef.0123456789abcdef";
const CERT_KEY = "f".repeat(64);
const INIT = ["kubeadm", "init", "--config", KUBEADM_INIT_PATH];
const UPLOAD_CERTS = ["kubeadm", "init", "phase", "upload-certs", "--upload-certs", "--config", KUBEADM_INIT_PATH];
const JOIN = ["sh", "-c", 'cat | kubeadm join --config /dev/stdin "$@"', "kubeadm-join"];
const JOURNAL = ["journalctl", "-u", "kubelet", "--no-pager", "-o", "cat", "-n", "6"];
const PROBE = initProbe();
const RESET = ["kubeadm", "reset", "-f"];
const MEMBER_LIST = etcdctlArgv(["member", "list", "-w", "simple"]);
/** `etcdctl member list` lines for started voting members. */
const members = (...names: string[]) =>
  names
    .map(
      (n, i) =>
        `${(0x1000 + i).toString(16)}, started, ${n}, https://10.0.0.${i}:2380, https://10.0.0.${i}:2379, false\n`,
    )
    .join("");
/** The probe's answer for a cluster whose init finished, with these nodes registered. */
const finished = (nodes: readonly string[]) => ({ stdout: nodes.map((n) => `node ${n}\n`).join("") });

const kubeadmCalls = (n: FakeRemote) =>
  n.calls.filter(
    (c): c is CommandCall =>
      c.kind !== "readFile" && c.kind !== "writeFile" && c.argv[0] !== "test" && c.argv[3] !== LEFTOVERS_PROBE[3],
  );

/** A cluster whose first control plane was initialised and whose other nodes have joined, but for `pending`. */
async function initialised(p = plan, pending: readonly string[] = [], dryRun = false) {
  const states = Object.fromEntries(
    p.nodes.map((n) => {
      const prepared = preparedNode(p, n.name);
      const done =
        n.name === "master-1" ? { [ADMIN_CONF]: "kubeconfig", [CA_CERT]: CA } : { [KUBELET_CONF]: "kubeconfig" };
      return [n.name, { ...prepared, files: { ...prepared.files, ...(pending.includes(n.name) ? {} : done) } }];
    }),
  );
  const c = await fakeCluster(p, states, { dryRun });
  const registered = p.nodes.map((n) => n.name).filter((n) => !pending.includes(n));
  c.node("master-1")
    .on(TOKEN_CREATE, { stdout: `${TOKEN}\n` })
    .on(UPLOAD_CERTS, { stdout: `[upload-certs] Using certificate key:\n${CERT_KEY}\n` })
    .on(PROBE, finished(registered))
    .on(GET_NODES, { stdout: registered.map((n) => `node/${n}\n`).join("") })
    .on(GET_CONTROL_PLANES, {
      stdout: registered
        .filter((n) => n.startsWith("master-"))
        .map((n) => `node/${n}\n`)
        .join(""),
    })
    .on(MEMBER_LIST, { stdout: members(...registered.filter((n) => n.startsWith("master-"))) });
  for (const n of c.nodes.values())
    n.on(JOIN, { stdout: "This node has joined the cluster\n" }).on(LEFTOVERS_PROBE, { stdout: "" });
  return c;
}

test("init: a control plane whose cluster shows a finished init is left alone", async () => {
  const c = await initialised();
  await kubeadmInitPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  assert.deepEqual(c.node("master-1").commands(), [["test", "-f", ADMIN_CONF], PROBE]);
});

test("init: runs on the first control plane only, with its config", async () => {
  const c = await initialised(plan, ["master-1"]);
  c.node("master-1").on(INIT, { stdout: "Your Kubernetes control-plane has initialized successfully!\n" });
  await kubeadmInitPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [{ node: "master-1", what: "kubeadm init" }]);
  assert.deepEqual(c.node("master-1").commands(), [["test", "-f", ADMIN_CONF], [...LEFTOVERS_PROBE], INIT]);
  assert.deepEqual(c.touched(), ["master-1"]);
});

test("init: admin.conf without the objects init makes last is an unfinished init: reset, then init again", async () => {
  const c = await initialised(plan, ["worker-1", "worker-2"]);
  const master = c.node("master-1");
  // Stopped at its wait for the control plane: admin.conf is there, kubeadm-config and the rest are not.
  master
    .on(PROBE, { stdout: `${INIT_OBJECTS.map((o) => `missing ${o}`).join("\n")}\n` })
    .on(RESET)
    .on(INIT);
  await kubeadmInitPhase.run(c.ctx);
  assert.equal(c.ctx.changes.length, 1);
  assert.match(
    c.ctx.changes[0]?.what ?? "",
    /^kubeadm reset -f and kubeadm init again \(kubeadm init did not finish: missing kube-system\/configmap\/kubeadm-config, .*, node master-1\)$/,
  );
  assert.deepEqual(master.commands(), [["test", "-f", ADMIN_CONF], PROBE, RESET, INIT]);
});

test("init: leftovers without admin.conf (stopped in its first phases) are reset too", async () => {
  const c = await initialised(plan, ["master-1"]);
  const master = c.node("master-1");
  master.on(LEFTOVERS_PROBE, { stdout: "/etc/kubernetes/manifests/kube-apiserver.yaml\n" }).on(RESET).on(INIT);
  await kubeadmInitPhase.run(c.ctx);
  assert.match(c.ctx.changes[0]?.what ?? "", /stopped before writing admin\.conf \(\/etc\/kubernetes\/manifests/);
  assert.deepEqual(master.commands().slice(-2), [RESET, INIT]);
});

test("init: an API server that does not answer, with a static pod never written (no etcd), is an unfinished init", async () => {
  const c = await initialised(plan, ["worker-1", "worker-2"]);
  const master = c.node("master-1");
  master
    .on(PROBE, { stdout: "api-down\n" })
    .on(MANIFESTS_PROBE, { stdout: "/etc/kubernetes/manifests/etcd.yaml\n" })
    .on(RESET)
    .on(INIT);
  await kubeadmInitPhase.run(c.ctx);
  assert.match(c.ctx.changes[0]?.what ?? "", /stopped before writing \/etc\/kubernetes\/manifests\/etcd\.yaml/);
  assert.deepEqual(master.commands().slice(-2), [RESET, INIT]);
});

test("init: an API server that does not answer, or joined nodes, stop it before anything is reset", async () => {
  const down = await initialised();
  // Every static pod written: a finished init whose API server is down, which kubelab leaves alone.
  down.node("master-1").on(PROBE, { stdout: "api-down\n" }).on(MANIFESTS_PROBE, { stdout: "" });
  await assert.rejects(kubeadmInitPhase.run(down.ctx), /master-1: the API server does not answer \(waited 90 s\)/);
  const joined = await initialised();
  joined
    .node("master-1")
    .on(PROBE, { stdout: "missing kube-system/deployment/coredns\nnode master-1\nnode worker-1\n" });
  await assert.rejects(kubeadmInitPhase.run(joined.ctx), /but worker-1 joined the cluster: kubelab does not reset it/);
  for (const c of [down, joined]) {
    assert.deepEqual(c.ctx.changes, []);
    assert.ok(
      !c
        .node("master-1")
        .commands()
        .some((argv) => argv[0] === "kubeadm"),
      "kubeadm never ran",
    );
  }
});

test("init: uploads certificates for further control planes; skips the cgroup v1 check on a v1 node", async () => {
  const c = await fakeCluster(twoControlPlanes, {
    "master-1": preparedNode(twoControlPlanes, "master-1", { cgroup: "v1" }),
  });
  const master = c
    .node("master-1")
    .on(LEFTOVERS_PROBE)
    .on(["kubeadm", "init", "--config", KUBEADM_INIT_PATH, /.*/, /.*/]);
  await kubeadmInitPhase.run(c.ctx);
  assert.deepEqual(master.commands().at(-1), [
    ...INIT,
    "--ignore-preflight-errors=SystemVerification",
    "--upload-certs",
  ]);
});

test("init: a dry run records it and only looks", async () => {
  const c = await initialised(plan, ["master-1"], true);
  await kubeadmInitPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [{ node: "master-1", what: "kubeadm init" }]);
  assert.deepEqual(c.node("master-1").commands(), [["test", "-f", ADMIN_CONF], [...LEFTOVERS_PROBE]]);
});

test("init: a failure names the node, with kubeadm's and kubelet's last lines, tokens masked", async () => {
  const c = await initialised(plan, ["master-1"]);
  c.node("master-1")
    .on(INIT, {
      code: 1,
      stdout: `[bootstrap-token] Using token: ${TOKEN}\n`,
      stderr: `[bootstrap-token] Using token: ${TOKEN}\nerror execution phase wait-control-plane: timed out\n`,
    })
    .on(JOURNAL, {
      stdout: 'E0101 kubelet.go:1 "Failed to run kubelet" err="failed to run Kubelet: misconfiguration"\n',
    });
  await assert.rejects(kubeadmInitPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.host, "master-1");
    assert.equal(
      e.message,
      `master-1: \`${INIT.join(" ")}\` exited 1:\n` +
        "[bootstrap-token] Using token: abcdef.<redacted>\n" +
        "error execution phase wait-control-plane: timed out\n" +
        "--- kubelet's last lines:\n" +
        'E0101 kubelet.go:1 "Failed to run kubelet" err="failed to run Kubelet: misconfiguration"',
    );
    return true;
  });
});

test("join: nodes that have joined are left alone, and no secret is made", async () => {
  const c = await initialised();
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, []);
  assert.deepEqual(c.node("master-1").commands(), [GET_NODES], "only the cluster's nodes are asked for");
  for (const name of ["worker-1", "worker-2"])
    assert.deepEqual(c.node(name).commands(), [["test", "-f", KUBELET_CONF]]);
});

test("join: a pending worker joins with a fresh token and the CA pin on stdin, never on the command line", async () => {
  const c = await initialised(plan, ["worker-2"]);
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [{ node: "worker-2", what: "kubeadm join (worker)" }]);
  assert.deepEqual(
    kubeadmCalls(c.node("master-1")).map((call) => call.argv),
    [GET_NODES, TOKEN_CREATE],
    "no certificate upload for workers",
  );
  const joins = kubeadmCalls(c.node("worker-2"));
  assert.deepEqual(
    joins.map((call) => call.argv),
    [JOIN],
  );
  assert.equal(
    joins[0]?.opts?.stdin,
    kubeadmJoinDocument(plan, "worker-2", { token: TOKEN, caCertHash: caCertHash(CA) }),
  );
  assert.match(String(joins[0]?.opts?.stdin), new RegExp(`${TOKEN}[\\s\\S]*${caCertHash(CA)}`));
  assert.deepEqual(kubeadmCalls(c.node("worker-1")), []);
  assert.deepEqual(c.node("worker-2").writes(), [], "secrets are never written to a file");
});

test("join: further control planes get the certificate key and join before the workers", async () => {
  const c = await initialised(twoControlPlanes, ["master-2", "worker-1", "worker-2"]);
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes[0], { node: "master-2", what: "kubeadm join (control-plane)" });
  assert.deepEqual(byNode(c.ctx.changes), {
    "master-2": ["kubeadm join (control-plane)"],
    "worker-1": ["kubeadm join (worker)"],
    "worker-2": ["kubeadm join (worker)"],
  });
  assert.deepEqual(
    kubeadmCalls(c.node("master-1")).map((call) => call.argv),
    [TOKEN_CREATE, UPLOAD_CERTS],
  );
  const stdin = String(kubeadmCalls(c.node("master-2"))[0]?.opts?.stdin);
  assert.match(stdin, new RegExp(`certificateKey: ${CERT_KEY}`));
  assert.doesNotMatch(String(kubeadmCalls(c.node("worker-1"))[0]?.opts?.stdin), /certificateKey/);
});

test("join: a dry run records the pending joins and makes no secret", async () => {
  const c = await initialised(plan, ["worker-1", "worker-2"], true);
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "worker-1": ["kubeadm join (worker)"],
    "worker-2": ["kubeadm join (worker)"],
  });
  assert.deepEqual(c.node("master-1").calls, []);
  for (const name of ["worker-1", "worker-2"])
    assert.deepEqual(c.node(name).commands(), [["test", "-f", KUBELET_CONF], LEFTOVERS_PROBE]);
});

test("join: a node that fails to join is named, its token masked; the others still join", async () => {
  const c = await initialised(plan, ["worker-1", "worker-2"]);
  c.node("worker-1")
    .on(JOIN, { code: 1, stderr: `couldn't validate the identity of the API Server with token ${TOKEN}\n` })
    .on(JOURNAL, { stdout: "" });
  await assert.rejects(kubeadmJoinPhase.run(c.ctx), (e: Error) => {
    assert.ok(e instanceof HostsError);
    assert.match(
      e.message,
      /^failed on 1 of 2 hosts:\n - worker-1: `sh -c .*` exited 1:\n\s+couldn't validate .* with token abcdef\.<redacted>\n$/,
    );
    assert.doesNotMatch(e.message, /0123456789abcdef/);
    return true;
  });
  assert.deepEqual(c.ctx.changes.map((ch) => ch.node).sort(), ["worker-1", "worker-2"]);
});

test("join: without the cluster CA on the first control plane, joining stops there, named", async () => {
  const c = await initialised(plan, ["worker-1"]);
  c.node("master-1").files.delete(CA_CERT);
  await assert.rejects(
    kubeadmJoinPhase.run(c.ctx),
    /^Error: master-1: \/etc\/kubernetes\/pki\/ca\.crt is missing after kubeadm init$/,
  );
  assert.deepEqual(kubeadmCalls(c.node("worker-1")), []);
});

test("join: a node with kubelet.conf that the cluster does not know is reset and joins again", async () => {
  const c = await initialised();
  // worker-2's join stopped after kubelet.conf: the cluster has no Node for it.
  c.node("master-1").on(GET_NODES, { stdout: "node/master-1\nnode/worker-1\n" }).on(deleteNode("worker-2"));
  c.node("worker-2").on(RESET);
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "worker-2": [
      "kubeadm reset -f and kubeadm join again (worker; it has kubelet.conf but it is not a node of the cluster)",
    ],
  });
  assert.deepEqual(
    kubeadmCalls(c.node("worker-2")).map((call) => call.argv),
    [RESET, JOIN],
  );
  assert.deepEqual(kubeadmCalls(c.node("worker-1")), []);
});

test("join: files an earlier join left without kubelet.conf are reset before kubeadm joins again", async () => {
  const c = await initialised(plan, ["worker-2"]);
  c.node("master-1").on(deleteNode("worker-2"));
  c.node("worker-2").on(LEFTOVERS_PROBE, { stdout: "/etc/kubernetes/pki/ca.crt\n" }).on(RESET);
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "worker-2": [
      "kubeadm reset -f and kubeadm join again (worker; an earlier kubeadm join stopped before kubelet.conf: /etc/kubernetes/pki/ca.crt)",
    ],
  });
  assert.deepEqual(
    kubeadmCalls(c.node("worker-2")).map((call) => call.argv),
    [RESET, JOIN],
  );
});

test("join: a control plane registered but never marked, its etcd member a learner, leaves etcd, is reset and joins again", async () => {
  const c = await initialised(twoControlPlanes);
  const learner = "91bc3c398fb3c146";
  c.node("master-1")
    // master-2's join was killed in its etcd step: its kubelet registered it, kubeadm never marked it.
    .on(GET_CONTROL_PLANES, { stdout: "node/master-1\n" })
    .on(MEMBER_LIST, {
      stdout: `${members("master-1")}${learner}, unstarted, , https://${twoControlPlanes.nodes[1]?.ip}:2380, , true\n`,
    })
    .on(etcdctlArgv(["member", "remove", learner]), { stdout: `Member ${learner} removed\n` })
    .on(deleteNode("master-2"));
  c.node("master-2").on(RESET);
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(byNode(c.ctx.changes), {
    "master-2": [
      `kubeadm reset -f and kubeadm join again (control-plane; it has kubelet.conf but kubeadm did not mark it as a control plane, its etcd member ${learner} is a learner)`,
    ],
  });
  const firstCalls = kubeadmCalls(c.node("master-1")).map((call) => call.argv);
  // The member goes before the reset stops it, then the Node object, then a fresh join.
  assert.deepEqual(firstCalls.slice(-3), [
    MEMBER_LIST,
    etcdctlArgv(["member", "remove", learner]),
    deleteNode("master-2"),
  ]);
  assert.deepEqual(
    kubeadmCalls(c.node("master-2")).map((call) => call.argv),
    [RESET, JOIN],
  );
  assert.match(String(kubeadmCalls(c.node("master-2"))[1]?.opts?.stdin), /certificateKey/);
});

test("join: a marked control plane whose etcd member is missing is unfinished; a complete one is left alone", async () => {
  const c = await initialised(twoControlPlanes);
  await kubeadmJoinPhase.run(c.ctx);
  assert.deepEqual(c.ctx.changes, [], "registered, marked, a started voter: done");
  const d = await initialised(twoControlPlanes);
  d.node("master-1")
    .on(MEMBER_LIST, { stdout: members("master-1") })
    .on(deleteNode("master-2"));
  d.node("master-2").on(RESET);
  await kubeadmJoinPhase.run(d.ctx);
  assert.deepEqual(byNode(d.ctx.changes), {
    "master-2": [
      "kubeadm reset -f and kubeadm join again (control-plane; it has kubelet.conf but it has no etcd member)",
    ],
  });
});

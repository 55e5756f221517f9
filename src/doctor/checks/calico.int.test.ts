// The Calico checks against a real kube-apiserver + etcd (test/helpers/doctor-api.ts): the
// pinned upstream calico.yaml applied as labs apply it, then kubelab's render of it, with the
// pods and Node annotations calico-node would write. No kubelet can serve logs here, so the
// felix scenarios add calico-node's log lines to the evidence in the test (felix's real format,
// see FELIX_LOG).
import assert from "node:assert/strict";
import { test } from "node:test";
import { doctor, finding, NODES, pod, result, startLabApi, text } from "../../../test/helpers/doctor-api.js";
import { FIXTURES, readFixture } from "../../../test/helpers/fixtures.js";
import { applyObjects } from "../../kube/apply.js";
import { transformCalico } from "../../render/calico.js";
import { parseManifest } from "../../render/manifests.js";

/**
 * felix's log as calico-node prints it: `date time.ms [LEVEL][pid] file line: message key=value`.
 * The health line is felix's, as quoted in calico#6963 and calico#8616 (the source line number
 * differs between Calico versions).
 */
const FELIX_LOG = [
  "2023-03-11 10:59:19.612 [INFO][79] felix/int_dataplane.go 1836: Applying dataplane updates",
  "2023-03-11 10:59:19.640 [INFO][79] felix/int_dataplane.go 1850: Finished applying updates to dataplane. msecToApply=27.9",
  "2023-03-11 10:59:21.751 [ERROR][79] felix/health.go 360: Health endpoint failed, trying to restart it... error=listen tcp: lookup localhost on 8.8.8.8:53: no such host",
  "2023-03-11 10:59:22.772 [ERROR][79] felix/health.go 360: Health endpoint failed, trying to restart it... error=listen tcp: lookup localhost on 8.8.8.8:53: no such host",
  "",
].join("\n");

/** The same felix, failing for another reason (the port taken, calico#2450): not this check's failure. */
const FELIX_PORT_TAKEN = [
  "2023-03-11 11:04:02.118 [INFO][81] felix/int_dataplane.go 1836: Applying dataplane updates",
  "2023-03-11 11:04:02.444 [ERROR][81] felix/health.go 360: Health endpoint failed, trying to restart it... error=listen tcp 127.0.0.1:9099: bind: address already in use",
  "",
].join("\n");

const CALICO_IMAGE = "quay.io/calico/node:v3.32.1";

test("Calico checks: each known failure named from a real API server's objects, and passing once fixed", async (t) => {
  const lab = await startLabApi(t);
  if (!lab) return;
  const { kc, api, plan } = lab;
  const upstreamCalico = parseManifest(readFixture(FIXTURES.calico));
  const calicoPod = (name: string, node: string, restarts: number, ready: boolean) => ({
    namespace: "kube-system",
    name,
    node,
    labels: { "k8s-app": "calico-node" },
    container: "calico-node",
    image: CALICO_IMAGE,
    serviceAccount: "calico-node",
    ready,
    restarts,
  });

  await t.test(
    "calico.felix-health-localhost: upstream calico.yaml + restarts + felix's lookup localhost line fail; kubelab's render passes",
    async () => {
      // Calico as labs apply it: upstream calico.yaml untouched (no FELIX_HEALTHHOST).
      await applyObjects(kc, upstreamCalico, { timeoutMs: 60_000 });
      await pod(api, calicoPod("calico-node-w1", "worker-1", 6, false));
      await pod(api, calicoPod("calico-node-m1", "master-1", 0, true));
      await pod(api, calicoPod("calico-node-w2", "worker-2", 2, false));

      // No kubelet serves logs here: collectApi asks for the restarted pods' logs and gets none.
      const plain = await doctor(kc);
      assert.deepEqual(plain.api.logs, {});
      const unread = result(plain.results, "calico.felix-health-localhost");
      assert.equal(unread.verdict, "warn", JSON.stringify(unread.findings));
      assert.match(
        text(finding(unread, /calico-node-w1/)),
        /restartCount 6, waiting: CrashLoopBackOff.*\n.*could not be read/,
      );
      assert.equal(finding(unread, /calico-node-m1/).verdict, "pass");

      const { results } = await doctor(kc, {
        logs: {
          "kube-system/calico-node-w1/calico-node": FELIX_LOG,
          "kube-system/calico-node-w1/calico-node#previous": FELIX_LOG,
          "kube-system/calico-node-w2/calico-node#previous": FELIX_PORT_TAKEN,
        },
      });
      const broken = result(results, "calico.felix-health-localhost");
      assert.equal(broken.verdict, "fail");
      const w1 = finding(broken, "Pod kube-system/calico-node-w1 on worker-1");
      assert.equal(w1.verdict, "fail");
      assert.match(
        text(w1),
        /calico-node restartCount 6, waiting: CrashLoopBackOff, last terminated: Error \(exit 1\)/,
      );
      assert.match(
        text(w1),
        /kube-system\/calico-node-w1\/calico-node: 2023-03-11 10:59:21\.751 \[ERROR\]\[79\] felix\/health\.go 360: Health endpoint failed, trying to restart it\.\.\. error=listen tcp: lookup localhost on 8\.8\.8\.8:53: no such host/,
      );
      assert.match(text(w1), /\(4 such lines in kube-system\/calico-node-w1\/calico-node and .*#previous\)/);
      assert.match(text(w1), /DaemonSet calico-node: no FELIX_HEALTHHOST/);
      assert.match(w1.fix ?? "", /FELIX_HEALTHHOST=127\.0\.0\.1/);
      // Restarted, but felix says why and it is another failure.
      const w2 = finding(broken, /calico-node-w2/);
      assert.equal(w2.verdict, "pass");
      assert.match(text(w2), /restarted for another reason/);
      const ds = finding(broken, "DaemonSet kube-system/calico-node");
      assert.equal(ds.verdict, "fail");

      // kubelab's render (FELIX_HEALTHHOST=127.0.0.1 and the rest); the DaemonSet controller
      // would replace the pods: the old ones go (at once: no kubelet confirms), new ones run.
      await applyObjects(kc, transformCalico(upstreamCalico, plan), { timeoutMs: 60_000 });
      for (const [name, node] of [
        ["calico-node-w1", "worker-1"],
        ["calico-node-w2", "worker-2"],
      ] as const) {
        await api.remove(`/api/v1/namespaces/kube-system/pods/${name}?gracePeriodSeconds=0`);
        await pod(api, calicoPod(`${name}-new`, node, 0, true));
      }
      const fixed = result((await doctor(kc)).results, "calico.felix-health-localhost");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.deepEqual(finding(fixed, "DaemonSet kube-system/calico-node").evidence, [
        "DaemonSet calico-node: FELIX_HEALTHHOST=127.0.0.1",
      ]);
    },
  );

  await t.test(
    "calico.node-address: Calico's detected address on the NAT network fails; the lab address passes",
    async () => {
      const annotate = (name: string, address: string, tunnel: string) =>
        api.patch(`/api/v1/nodes/${name}`, {
          metadata: {
            annotations: {
              "projectcalico.org/IPv4Address": address,
              "projectcalico.org/IPv4IPIPTunnelAddr": tunnel,
            },
          },
        });
      // What calico-node writes with IP=autodetect and no method: the first interface (NAT NIC).
      await applyObjects(kc, upstreamCalico, { timeoutMs: 60_000, force: true });
      for (const [i, n] of NODES.entries()) await annotate(n.name, "10.0.2.15/24", `192.168.112.${64 * i + 1}`);
      const broken = result((await doctor(kc)).results, "calico.node-address");
      assert.equal(broken.verdict, "fail");
      const w1 = finding(broken, "worker-1");
      assert.match(text(w1), /^projectcalico\.org\/IPv4Address: 10\.0\.2\.15\/24$/m);
      assert.match(text(w1), /projectcalico\.org\/IPv4IPIPTunnelAddr: 192\.168\.112\.65/);
      assert.match(text(w1), /NAT network 10\.0\.2\.0\/24/);
      assert.match(text(w1), /the same address as master-1, worker-2/);
      assert.match(text(w1), /the plan's address for worker-1 is 192\.168\.56\.12/);
      // Upstream calico.yaml sets no IP_AUTODETECTION_METHOD.
      assert.match(text(w1), /IP_AUTODETECTION_METHOD=\(unset/);
      assert.match(w1.fix ?? "", /IP_AUTODETECTION_METHOD=can-reach=\$\(NODEIP\)/);

      await applyObjects(kc, transformCalico(upstreamCalico, plan), { timeoutMs: 60_000 });
      for (const [i, n] of NODES.entries()) await annotate(n.name, `${n.ip}/24`, `192.168.112.${64 * i + 1}`);
      const fixed = result((await doctor(kc)).results, "calico.node-address");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.match(
        text(finding(fixed, "worker-2")),
        /IPv4Address: 192\.168\.56\.13\/24, .*IPv4IPIPTunnelAddr: 192\.168\.112\.129/,
      );
    },
  );
});

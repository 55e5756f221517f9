// The kube-proxy check against a real kube-apiserver + etcd (test/helpers/doctor-api.ts): the
// ConfigMap kubeadm makes for a cluster created in IPVS mode without strictARP, then kubelab's
// ensureStrictArp on it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { doctor, FILE, finding, result, startLabApi } from "../../../test/helpers/doctor-api.js";
import { ensureStrictArp } from "../../addons/metallb.js";

type Obj = Record<string, unknown>;

test("kube-proxy checks: each known failure named from a real API server's objects, and passing once fixed", async (t) => {
  const lab = await startLabApi(t);
  if (!lab) return;
  const { kc, api } = lab;
  await t.test(
    "kube-proxy.mode: ipvs without strictARP fails with MetalLB; kubelab's ensureStrictArp makes it pass",
    async () => {
      const ipvsFile = { ...FILE, kubernetes: { ...(FILE.kubernetes as Obj), proxyMode: "ipvs" } };
      // What kubeadm made on a cluster created without strictARP.
      await api.create("/api/v1/namespaces/kube-system/configmaps", {
        metadata: { name: "kube-proxy" },
        data: {
          "config.conf":
            "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  strictARP: false\n  scheduler: rr\n",
        },
      });
      await api.create("/apis/apps/v1/namespaces/kube-system/daemonsets", {
        metadata: { name: "kube-proxy" },
        spec: {
          selector: { matchLabels: { "k8s-app": "kube-proxy" } },
          template: {
            metadata: { labels: { "k8s-app": "kube-proxy" } },
            spec: { containers: [{ name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.37.2" }] },
          },
        },
      });
      const broken = result((await doctor(kc, { file: ipvsFile })).results, "kube-proxy.mode");
      assert.equal(broken.verdict, "fail");
      const f = finding(broken, "ConfigMap kube-system/kube-proxy");
      assert.deepEqual(f.evidence.slice(0, 2), ["config.conf: mode: ipvs", "config.conf: ipvs.strictARP: false"]);
      assert.match(f.fix ?? "", /strictARP: true .* rollout restart ds\/kube-proxy/);
      // The plan says iptables (the default file): the live mode differs, a warning on top.
      const planned = result((await doctor(kc)).results, "kube-proxy.mode");
      assert.deepEqual(
        planned.findings.map((x) => x.verdict),
        ["fail", "warn"],
      );

      await ensureStrictArp(kc);
      const fixed = result((await doctor(kc, { file: ipvsFile })).results, "kube-proxy.mode");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.deepEqual(fixed.findings[0]?.evidence, ["config.conf: mode: ipvs, ipvs.strictARP: true"]);
    },
  );
});

// The MetalLB checks against a real kube-apiserver + etcd (test/helpers/doctor-api.ts): the
// pinned upstream metallb-native.yaml, kubelab's pool and advertisement, LoadBalancer Services,
// EndpointSlices, speaker pods and ServiceL2Status objects, with the statuses MetalLB's
// controller and speakers (and the kubelet) would write. The scenarios run in order: each
// starts from the cluster the previous one left.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  doctor,
  finding,
  ingress,
  l2Status,
  loadBalancer,
  NODES,
  pod,
  podStatus,
  result,
  startLabApi,
  text,
} from "../../../test/helpers/doctor-api.js";
import { FIXTURES, readFixture } from "../../../test/helpers/fixtures.js";
import { applyObjects } from "../../kube/apply.js";
import { requestRaw } from "../../kube/client.js";
import { parseManifest } from "../../render/manifests.js";
import { metallbObjects } from "../../render/metallb.js";
import type { KubeObject } from "../../render/types.js";

const SPEAKER_IMAGE = "quay.io/metallb/speaker:v0.16.1";

test("MetalLB checks: each known failure named from a real API server's objects, and passing once fixed", async (t) => {
  const lab = await startLabApi(t);
  if (!lab) return;
  const { kc, api, plan } = lab;
  const metallbManifest = parseManifest(readFixture(FIXTURES.metallb)).filter(
    // No pod could serve MetalLB's webhook here (as in src/addons/addons.int.test.ts).
    (o) => !o.kind.endsWith("WebhookConfiguration"),
  );
  const [kubelabPool, kubelabAd] = metallbObjects(plan) as [KubeObject, KubeObject];
  await t.test(
    "metallb.pending-services: not installed, no controller, no pool, pool exhausted, each named; an address passes",
    async () => {
      await loadBalancer(api, { namespace: "demo", name: "web" });
      const why = async () => {
        const r = result((await doctor(kc)).results, "metallb.pending-services");
        return finding(r, "Service demo/web");
      };
      let f = await why();
      assert.equal(f.verdict, "fail");
      assert.match(
        text(f),
        /no status\.loadBalancer\.ingress \(pending\)\nMetalLB is not installed: no MetalLB controller Deployment, no IPAddressPool/,
      );
      assert.match(f.fix ?? "", /kubelab up/);

      await applyObjects(kc, metallbManifest, { timeoutMs: 60_000 });
      f = await why();
      assert.match(text(f), /Deployment metallb-system\/controller: 0 of 1 available: nothing assigns addresses/);

      // The controller's pods became available (as the Deployment controller would report it).
      await api.status("/apis/apps/v1/namespaces/metallb-system/deployments/controller", {
        observedGeneration: 1,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      });
      f = await why();
      assert.match(text(f), /no IPAddressPool in metallb-system: MetalLB has no address to give/);

      // A one-address pool, its address already taken by another Service.
      const onePool: KubeObject = { ...kubelabPool, spec: { addresses: ["192.168.56.46/32"] } };
      await applyObjects(kc, [onePool], { timeoutMs: 60_000 });
      await loadBalancer(api, { namespace: "demo", name: "first", ingress: "192.168.56.46" });
      f = await why();
      assert.match(
        text(f),
        /IPAddressPool metallb-system\/kubelab-lab \(192\.168\.56\.46\/32\) is exhausted: 1 addresses, 1 in use \(192\.168\.56\.46\)/,
      );
      assert.match(f.fix ?? "", /widen addons\.metallb\.pools/);

      // kubelab's pool (the plan's 11 addresses): the controller assigns one.
      await applyObjects(kc, [kubelabPool], { timeoutMs: 60_000 });
      f = await why();
      assert.match(text(f), /no cause visible in the API objects/);
      await ingress(api, "demo", "web", "192.168.56.47");
      const fixed = result((await doctor(kc)).results, "metallb.pending-services");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
      assert.deepEqual(finding(fixed, "Service demo/web").evidence, ["status.loadBalancer.ingress: 192.168.56.47"]);
      await api.remove("/api/v1/namespaces/demo/services/first");
    },
  );

  await t.test(
    "metallb.advertisement: no L2Advertisement, or one for another pool, fails; kubelab's pair passes",
    async () => {
      const check = async () => result((await doctor(kc)).results, "metallb.advertisement");
      let r = await check();
      assert.equal(r.verdict, "fail");
      assert.ok(
        r.findings.some((f) => f.verdict === "fail" && /^no L2Advertisement in metallb-system/.test(text(f))),
        JSON.stringify(r.findings),
      );

      const other = {
        ...kubelabAd,
        metadata: { ...kubelabAd.metadata, name: "other" },
        spec: { ipAddressPools: ["other"] },
      };
      await applyObjects(kc, [other], { timeoutMs: 60_000 });
      r = await check();
      assert.equal(r.verdict, "fail");
      const pool = finding(r, "IPAddressPool metallb-system/kubelab-lab");
      assert.match(text(pool), /is announced by no L2Advertisement/);
      assert.match(text(pool), /L2Advertisement metallb-system\/other \(ipAddressPools: \["other"\]\)/);
      assert.equal(finding(r, "L2Advertisement metallb-system/other").verdict, "warn");

      // Selected by label instead: announced.
      await api.patch("/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements/other", {
        spec: {
          ipAddressPools: null,
          ipAddressPoolSelectors: [{ matchLabels: { "app.kubernetes.io/managed-by": "kubelab" } }],
        },
      });
      r = await check();
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      await api.remove("/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements/other");

      await applyObjects(kc, [kubelabPool, kubelabAd], { timeoutMs: 60_000 });
      r = await check();
      assert.equal(r.verdict, "pass", JSON.stringify(r.findings));
      assert.deepEqual(finding(r, "IPAddressPool metallb-system/kubelab-lab").evidence, [
        'IPAddressPool metallb-system/kubelab-lab (192.168.56.46-192.168.56.56) announced by L2Advertisement metallb-system/kubelab-lab (ipAddressPools: ["kubelab-lab"])',
      ]);
    },
  );

  await t.test(
    "metallb.local-traffic-policy and speaker-on-node: announced from a node without endpoint or speaker fails; fixed passes",
    async () => {
      // demo/web (192.168.56.47) becomes Local; its one ready pod runs on worker-2.
      await api.patch("/api/v1/namespaces/demo/services/web", { spec: { externalTrafficPolicy: "Local" } });
      await api.create("/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices", {
        metadata: { name: "web-x7k2p", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        endpoints: [
          { addresses: ["192.168.113.7"], conditions: { ready: true }, nodeName: "worker-2" },
          { addresses: ["192.168.112.66"], conditions: { ready: false }, nodeName: "worker-1" },
        ],
        ports: [{ name: "http", protocol: "TCP", port: 8080 }],
      });
      // Speakers on every node; the one on worker-1 not Ready; worker-1 announces the address.
      for (const n of NODES)
        await pod(api, {
          namespace: "metallb-system",
          name: `speaker-${n.name}`,
          node: n.name,
          labels: { app: "metallb", component: "speaker" },
          container: "speaker",
          image: SPEAKER_IMAGE,
          serviceAccount: "speaker",
          ready: n.name !== "worker-1",
        });
      await api.status("/apis/apps/v1/namespaces/metallb-system/daemonsets/speaker", {
        observedGeneration: 1,
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberReady: 2,
        numberAvailable: 2,
        numberMisscheduled: 0,
      });
      const announced = await l2Status(api, { namespace: "demo", name: "web" }, "worker-1");

      const { results } = await doctor(kc);
      const local = result(results, "metallb.local-traffic-policy");
      assert.equal(local.verdict, "fail");
      const lf = finding(local, "Service demo/web");
      assert.match(text(lf), /externalTrafficPolicy: Local, address 192\.168\.56\.47/);
      assert.match(text(lf), /announced from worker-1 \(ServiceL2Status metallb-system\/l2-\w+\)/);
      assert.match(text(lf), /ready endpoints: 192\.168\.113\.7 on worker-2/);
      assert.match(text(lf), /worker-1 has no ready endpoint/);
      assert.match(lf.fix ?? "", /"externalTrafficPolicy":"Cluster"/);
      const speaker = result(results, "metallb.speaker-on-node");
      assert.equal(speaker.verdict, "fail");
      const sf = finding(speaker, "Service demo/web");
      assert.match(text(sf), /no ready speaker on worker-1/);
      assert.match(text(sf), /DaemonSet metallb-system\/speaker: 2 of 3 ready/);
      assert.match(text(sf), /speaker-worker-1 on worker-1 not Ready/);

      // The usual fix: back to Cluster. And the speaker on worker-1 Ready again.
      await api.patch("/api/v1/namespaces/demo/services/web", { spec: { externalTrafficPolicy: "Cluster" } });
      await podStatus(api, {
        namespace: "metallb-system",
        name: "speaker-worker-1",
        node: "worker-1",
        container: "speaker",
        image: SPEAKER_IMAGE,
        ready: true,
      });
      let fixed = await doctor(kc);
      assert.equal(result(fixed.results, "metallb.local-traffic-policy").verdict, "pass");
      assert.equal(result(fixed.results, "metallb.speaker-on-node").verdict, "pass");

      // Local kept, announced from the node with the endpoint (node is immutable: a new status).
      await api.patch("/api/v1/namespaces/demo/services/web", { spec: { externalTrafficPolicy: "Local" } });
      await api.remove(announced);
      await l2Status(api, { namespace: "demo", name: "web" }, "worker-2");
      fixed = await doctor(kc);
      const kept = result(fixed.results, "metallb.local-traffic-policy");
      assert.equal(kept.verdict, "pass", JSON.stringify(kept.findings));
      assert.match(text(finding(kept, "Service demo/web")), /announced from worker-2/);
      assert.equal(result(fixed.results, "metallb.speaker-on-node").verdict, "pass");
    },
  );

  await t.test(
    "metallb.deprecated-config: a v0.12 ConfigMap and a legacy AddressPool fail; removed they pass",
    async () => {
      // MetalLB's configuration before v0.13.
      await api.create("/api/v1/namespaces/metallb-system/configmaps", {
        metadata: { name: "config" },
        data: {
          config:
            "address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.168.56.46-192.168.56.56\n",
        },
      });
      // AddressPool as MetalLB v0.13 served it (v1alpha1 and v1beta1, both deprecated; schema trimmed
      // to the fields used here), and one object of it.
      const version = (name: string, storage: boolean, warning: string) => ({
        name,
        served: true,
        storage,
        deprecated: true,
        deprecationWarning: warning,
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              spec: {
                type: "object",
                required: ["addresses", "protocol"],
                properties: {
                  addresses: { type: "array", items: { type: "string" } },
                  autoAssign: { type: "boolean", default: true },
                  protocol: { type: "string", enum: ["layer2", "bgp"] },
                },
              },
              status: { type: "object" },
            },
          },
        },
        subresources: { status: {} },
      });
      const legacy: KubeObject[] = [
        {
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          metadata: { name: "addresspools.metallb.io" },
          spec: {
            group: "metallb.io",
            names: {
              kind: "AddressPool",
              listKind: "AddressPoolList",
              plural: "addresspools",
              singular: "addresspool",
            },
            scope: "Namespaced",
            versions: [
              version("v1alpha1", false, "metallb.io v1alpha1 AddressPool is deprecated"),
              version("v1beta1", true, "metallb.io v1beta1 AddressPool is deprecated, consider using IPAddressPool"),
            ],
          },
        },
        {
          apiVersion: "metallb.io/v1beta1",
          kind: "AddressPool",
          metadata: { name: "default", namespace: "metallb-system" },
          spec: { protocol: "layer2", addresses: ["192.168.56.46-192.168.56.56"] },
        },
      ];
      await applyObjects(kc, legacy, { timeoutMs: 60_000 });
      const broken = result((await doctor(kc)).results, "metallb.deprecated-config");
      assert.equal(broken.verdict, "fail");
      const cm = finding(broken, "ConfigMap metallb-system/config");
      assert.match(text(cm), /data\.config:\n {2}address-pools:\n {2}- name: default\n {2} {2}protocol: layer2/);
      assert.match(cm.fix ?? "", /kubectl -n metallb-system delete configmap config/);
      const pool = finding(broken, "AddressPool metallb-system/default");
      assert.match(text(pool), /protocol layer2, addresses \["192\.168\.56\.46-192\.168\.56\.56"\]/);
      assert.match(pool.fix ?? "", /IPAddressPool with an L2Advertisement/);

      await api.remove("/api/v1/namespaces/metallb-system/configmaps/config");
      await api.remove("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/addresspools.metallb.io");
      // The CRD goes away asynchronously (its objects are deleted first): wait for the kind to be gone.
      for (let i = 0; i < 200; i++) {
        const res = await requestRaw(kc, "GET", "/apis/metallb.io/v1beta1/addresspools");
        if (res.status === 404) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const fixed = result((await doctor(kc)).results, "metallb.deprecated-config");
      assert.equal(fixed.verdict, "pass", JSON.stringify(fixed.findings));
    },
  );
});

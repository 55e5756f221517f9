// The probe's targets, from Services as a real API server returned them (recorded in
// test/helpers/lb-services.ts). The probe itself sends packets: probes.int.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SERVICE_LIST } from "../../../test/helpers/lb-services.js";
import { probeTargets, webScheme } from "../probe.js";

test("probeTargets: one target per IPv4 ingress address of Services read from a real API server", () => {
  assert.deepEqual(probeTargets(SERVICE_LIST.items), [
    {
      address: "192.168.56.47",
      service: "default/dns",
      ports: [
        { port: 53, protocol: "UDP", name: "dns" },
        { port: 53, protocol: "TCP", name: "dns-tcp" },
      ],
    },
    {
      address: "192.168.56.48",
      service: "default/two-addresses",
      ports: [{ port: 9443, protocol: "TCP", name: "https-ui" }],
    },
    {
      address: "192.168.56.49",
      service: "default/two-addresses",
      ports: [{ port: 9443, protocol: "TCP", name: "https-ui" }],
    },
    {
      address: "192.168.56.46",
      service: "kube-system/kubelab-ui",
      ports: [{ port: 80, protocol: "TCP", name: "http" }],
    },
  ]);
  // Hostname-only ingress (cloud), no address yet (pending), ClusterIP: nothing to probe.
  assert.deepEqual(probeTargets([{ kind: "Service" }, { metadata: { name: "x" }, status: { loadBalancer: {} } }]), []);
  assert.equal(webScheme({ port: 9443, name: "https-ui" }), "https");
  assert.equal(webScheme({ port: 8080, name: "metrics" }), "http");
  assert.equal(webScheme({ port: 53, name: "dns-tcp" }), undefined);
});

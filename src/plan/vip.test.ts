// The control planes' VIP (controlPlane.endpoint): where it may be, what it changes in the plan.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { formatIssue } from "../config/issues.js";
import { parseYamlSource } from "../config/load.js";
import { describePlan, networkStrip } from "./describe.js";
import { validateCluster } from "./validate.js";

/** The default lab with three control planes and `endpoint` (YAML under controlPlane:) added. */
function lab(endpoint: string, more: (text: string) => string = (t) => t): string {
  const text = DEFAULT_CLUSTER_YAML.replace(
    "role: control-plane\n    count: 1",
    "role: control-plane\n    count: 3",
  ).replace("\ncontainerd:", `\ncontrolPlane:\n  endpoint:\n${endpoint}\ncontainerd:`);
  return more(text);
}

function validate(text: string) {
  const loaded = parseYamlSource(text, "lab.yaml");
  if ("errors" in loaded) throw new Error(JSON.stringify(loaded.errors));
  return validateCluster(loaded.raw, loaded.source);
}

const errorsOf = (text: string) => {
  const r = validate(text);
  return r.ok ? [] : r.errors.map((e) => formatIssue(e).replace(/^lab\.yaml:/, ""));
};

describe("controlPlane.endpoint", () => {
  it("makes the VIP and its port the endpoint of kubeadm and the kubeconfig", () => {
    const r = validate(lab("    vip: 192.168.56.10"));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.plan.kubernetes.controlPlaneEndpoint, "192.168.56.10:8443");
    assert.equal(r.plan.kubernetes.endpointGiven, true);
    assert.equal(r.plan.vip?.address, "192.168.56.10");
    assert.equal(r.plan.vip?.loadBalancer, "keepalived-haproxy");
    assert.ok((r.plan.vip?.routerId ?? 0) >= 1 && (r.plan.vip?.routerId ?? 0) <= 255);
    assert.deepEqual(r.warnings, []);
  });

  it("the network map shows the VIP", () => {
    const r = validate(lab("    vip: 192.168.56.10"));
    assert.ok(r.ok);
    // 4 addresses a cell: the VIP .10 is in cell 2, before the nodes .11-.15.
    assert.match(networkStrip(r.plan), /^G\.VN/);
    assert.match(describePlan(r.plan), /\.10 +control-plane VIP \(keepalived, API on :8443\)/);
    assert.match(describePlan(r.plan), /API server +https:\/\/192\.168\.56\.10:8443 \(a VIP/);
  });

  it("three control planes without any endpoint are refused, with both ways out", () => {
    const text = DEFAULT_CLUSTER_YAML.replace("role: control-plane\n    count: 1", "role: control-plane\n    count: 3");
    const got = errorsOf(text);
    assert.equal(got.length, 1, got.join("\n"));
    assert.match(got[0] ?? "", /kubernetes\.controlPlaneEndpoint: 3 control planes need one endpoint in front of them/);
    assert.match(got[0] ?? "", /fix: set controlPlane\.endpoint\.vip .*or kubernetes\.controlPlaneEndpoint/);
  });

  const refused: [string, string, RegExp][] = [
    [
      "outside the lab network",
      "    vip: 10.0.0.10",
      /controlPlane\.endpoint\.vip: VIP 10\.0\.0\.10 is outside the lab network/,
    ],
    ["a node's address", "    vip: 192.168.56.12", /VIP 192\.168\.56\.12 is master-2's address/],
    ["the gateway", "    vip: 192.168.56.1", /VIP 192\.168\.56\.1 is the gateway/],
    ["the broadcast address", "    vip: 192.168.56.255", /VIP 192\.168\.56\.255 is the broadcast address/],
    ["in the DHCP range", "    vip: 192.168.56.150", /inside the DHCP range 192\.168\.56\.100-192\.168\.56\.254/],
    ["in a MetalLB pool", "    vip: 192.168.56.50", /inside the LoadBalancer pool 192\.168\.56\.46-192\.168\.56\.56/],
    [
      "the API servers' port",
      "    vip: 192.168.56.10\n    port: 6443",
      /controlPlane\.endpoint\.port: port 6443 is the API servers' own/,
    ],
    [
      "kube-vip",
      "    vip: 192.168.56.10\n    loadBalancer: kube-vip",
      /loadBalancer: kube-vip is not available in this release/,
    ],
  ];
  for (const [what, endpoint, want] of refused) {
    it(`refuses a VIP ${what}`, () => {
      const got = errorsOf(lab(endpoint));
      assert.equal(got.length, 1, got.join("\n"));
      assert.match(got[0] ?? "", want);
      assert.match(got[0] ?? "", /\n {2}fix: /);
    });
  }

  it("refuses kubernetes.controlPlaneEndpoint beside it: one endpoint", () => {
    const got = errorsOf(
      lab("    vip: 192.168.56.10", (t) =>
        t.replace("proxyMode: iptables", "controlPlaneEndpoint: 192.168.56.9:6443\n  proxyMode: iptables"),
      ),
    );
    assert.equal(got.length, 1, got.join("\n"));
    assert.match(
      got[0] ?? "",
      /kubernetes\.controlPlaneEndpoint: both kubernetes\.controlPlaneEndpoint and controlPlane\.endpoint are set/,
    );
  });

  it("kubernetes.controlPlaneEndpoint alone still works as before: no VIP, kubelab runs nothing", () => {
    const r = validate(
      DEFAULT_CLUSTER_YAML.replace("role: control-plane\n    count: 1", "role: control-plane\n    count: 3").replace(
        "proxyMode: iptables",
        "controlPlaneEndpoint: 192.168.56.9:6443\n  proxyMode: iptables",
      ),
    );
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.plan.kubernetes.controlPlaneEndpoint, "192.168.56.9:6443");
    assert.equal(r.plan.vip, undefined);
  });

  it("the VIP must be an IPv4 address and the section is strict", () => {
    assert.match(errorsOf(lab("    vip: api.lab"))[0] ?? "", /controlPlane\.endpoint\.vip: must be an IPv4 address/);
    assert.equal(errorsOf(lab("    vip: 192.168.56.10\n    interface: eth1")).length, 1);
  });
});

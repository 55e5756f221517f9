import assert from "node:assert/strict";
import { test } from "node:test";
import { CHECKS } from "./index.js";

// `kubelab doctor --list` prints CHECKS in this order, and `--check` takes these ids: users and
// scripts name them, so neither changes when the checks move between files.
const IDS = [
  "file.valid",
  "metallb.pool-placement",
  "kube-proxy.strict-arp-planned",
  "network.node-ip-planned",
  "node.cgroup-driver",
  "node.swap",
  "node.modules",
  "node.sysctls",
  "node.hosts-localhost",
  "node.resolver-localhost",
  "node.clock-skew",
  "node.node-ip",
  "node.hostname",
  "control-plane.etcd-quorum",
  "control-plane.vip",
  "api.node-addresses",
  "node.ready",
  "calico.felix-health-localhost",
  "calico.node-address",
  "metallb.deprecated-config",
  "metallb.advertisement",
  "metallb.pending-services",
  "metallb.local-traffic-policy",
  "metallb.speaker-on-node",
  "kube-proxy.mode",
  "linkerd.control-plane",
  "linkerd.injection",
  "linkerd.trust-anchor",
  "linkerd.issuer-expiry",
  "linkerd.issuer-chain",
  "probe.loadbalancer",
  "virtualbox.promiscuous",
  "virtualbox.host-io-cache",
];

test("the checks keep their ids and their order", () => {
  assert.deepEqual(
    CHECKS.map((c) => c.id),
    IDS,
  );
});

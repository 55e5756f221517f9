// probe.loadbalancer on real packets: a test network of private namespaces (ARP, TCP, HTTP and
// HTTPS answered, refused or dropped by real servers), and this host's own interfaces.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { requireNetns, testNetwork } from "../../../test/helpers/netns.js";
import { selfSignedServerCert } from "../../addons/linkerd-identity.js";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { type Cidr, parseCidr } from "../../net/ipv4.js";
import { probeAddresses } from "../probe.js";
import { formatResults, runChecks } from "../run.js";
import type { Evidence } from "../types.js";
import { probeChecks } from "./probes.js";

test("probe.loadbalancer names each failing step on a real test network: ARP, TCP, HTTP", {
  timeout: 120_000,
}, async (t) => {
  if (!requireNetns(t)) return;
  const net = await testNetwork(t);
  const [A, B, C] = [net.address(10), net.address(11), net.address(12)];
  // (a) holds A and serves HTTP 200 on 80, HTTPS 200 on 443 (a self-signed certificate, as lab
  // UIs have), HTTP 503 on 8080, plain HTTP on 8443 (where https is expected); nothing on 81.
  // (b) holds B, would serve 80, but drops every SYN. (c) is a machine on the link that holds
  // another address: nobody holds C.
  const a = await net.addNamespace("a", [A]);
  const b = await net.addNamespace("b", [B]);
  const c = await net.addNamespace("c", [net.address(13)]);
  const tls = await selfSignedServerCert("ui.lab.example");
  await net.spawnIn(
    a.name,
    `const http = require("node:http"); const https = require("node:https"); let n = 0;
     const tls = { cert: ${JSON.stringify(tls.certPEM)}, key: ${JSON.stringify(tls.keyPEM)} };
     for (const [port, status, secure] of [[80, 200], [8080, 503], [8443, 200], [443, 200, true]])
       (secure ? https.createServer(tls) : http.createServer())
         .on("request", (q, s) => { s.statusCode = status; s.end("ok"); })
         .listen(port, ${JSON.stringify(A)}, () => { if (++n === 4) console.log("ready"); });`,
  );
  await net.spawnIn(
    b.name,
    `require("node:http").createServer((q, s) => s.end("ok")).listen(80, ${JSON.stringify(B)}, () => console.log("ready"));`,
  );
  await net.dropSyns(b.name);

  const http = [{ port: 80, protocol: "TCP", name: "http" }];
  const offNetwork = "203.0.113.77"; // TEST-NET-3: routed elsewhere (or not at all), so never sent to
  const probes = await probeAddresses(
    [
      { address: A, service: "lab/web", ports: [...http, { port: 443, protocol: "TCP", name: "https" }] },
      { address: A, service: "lab/tls-mismatch", ports: [{ port: 8443, protocol: "TCP", name: "https" }] },
      { address: A, service: "lab/failing-app", ports: [{ port: 8080, protocol: "TCP" }] },
      { address: A, service: "lab/no-endpoints", ports: [{ port: 81, protocol: "TCP" }] },
      { address: A, service: "lab/dns", ports: [{ port: 53, protocol: "UDP", name: "dns" }] },
      { address: B, service: "lab/local-policy", ports: http },
      { address: C, service: "lab/unannounced", ports: [...http, { port: 443, protocol: "TCP", name: "https" }] },
      { address: offNetwork, service: "lab/off-network", ports: http },
    ],
    {
      network: parseCidr(net.cidr) as Cidr,
      // Upper case on purpose: ip prints MACs in lower case.
      macToNode: new Map([
        [a.mac.toUpperCase(), "worker-1"],
        [b.mac, "master-1"],
        [c.mac, "worker-2"],
      ]),
    },
  );
  const [web, mismatch, failing, noEndpoints, udpOnly, local, unannounced, off] = probes;
  assert.deepEqual(web, {
    address: A,
    service: "lab/web",
    interface: net.bridge,
    arp: { answered: true, mac: a.mac, node: "worker-1" },
    ports: [
      { port: 80, protocol: "TCP", tcp: "open", http: { status: 200 } },
      { port: 443, protocol: "TCP", tcp: "open", http: { status: 200 } },
    ],
  });
  assert.deepEqual(mismatch?.ports, [
    { port: 8443, protocol: "TCP", tcp: "open", http: { error: "https: TLS handshake failed: wrong version number" } },
  ]);
  assert.deepEqual(failing?.ports, [{ port: 8080, protocol: "TCP", tcp: "open", http: { status: 503 } }]);
  assert.deepEqual(noEndpoints?.ports, [{ port: 81, protocol: "TCP", tcp: "refused" }]);
  // No TCP port: one empty UDP datagram makes the kernel ask ARP.
  assert.deepEqual(udpOnly?.arp, { answered: true, mac: a.mac, node: "worker-1" });
  assert.deepEqual(udpOnly?.ports, [{ port: 53, protocol: "UDP", tcp: "skipped" }]);
  assert.deepEqual(local, {
    address: B,
    service: "lab/local-policy",
    interface: net.bridge,
    arp: { answered: true, mac: b.mac, node: "master-1" },
    ports: [{ port: 80, protocol: "TCP", tcp: "timeout" }],
  });
  assert.deepEqual(unannounced, {
    address: C,
    service: "lab/unannounced",
    interface: net.bridge,
    arp: { answered: false },
    ports: [
      { port: 80, protocol: "TCP", tcp: "unreachable" },
      { port: 443, protocol: "TCP", tcp: "skipped" },
    ],
  });
  assert.deepEqual(off?.arp, { answered: false });
  assert.deepEqual(off?.ports, [{ port: 80, protocol: "TCP", tcp: "skipped" }]);
  assert.match(off?.skipped ?? "", /203\.0\.113\.77/);

  const evidence: Evidence = {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: new Date().toISOString(),
    file: parse(DEFAULT_CLUSTER_YAML),
    api: {
      objects: {
        "v1/Service": [
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "local-policy", namespace: "lab" },
            spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [{ port: 80, protocol: "TCP" }] },
          },
        ],
      },
      logs: {},
    },
    probes,
    unavailable: {},
  };
  const [result] = runChecks(evidence, probeChecks, ["probe.loadbalancer"]);
  assert.equal(result?.verdict, "fail", JSON.stringify(result));
  const by = new Map(result?.findings.map((f) => [f.subject, f]));
  const finding = (service: string, address: string) => {
    const f = by.get(`Service lab/${service} ${address}`);
    assert.ok(f, `a finding for ${service}; got ${[...by.keys()].join(", ")}`);
    return f;
  };

  const pass = finding("web", A);
  assert.equal(pass.verdict, "pass");
  assert.equal(pass.evidence[0], `ARP from node worker-1 (${a.mac}), TCP open on 80, 443, HTTP 200 on 80, 443`);

  const tcpSilent = finding("local-policy", B);
  assert.equal(tcpSilent.verdict, "fail");
  assert.equal(
    tcpSilent.evidence[0],
    `ARP answered by ${b.mac} (node master-1) but TCP SYNs to ${B}:80 get no answer: with externalTrafficPolicy Local the announcing node has no ready endpoint; or kube-proxy in IPVS mode without strictARP`,
  );
  assert.ok(tcpSilent.evidence.includes("Service lab/local-policy has externalTrafficPolicy: Local"));
  assert.match(tcpSilent.fix ?? "", /^set spec\.externalTrafficPolicy: Cluster on Service lab\/local-policy/);

  const noArp = finding("unannounced", C);
  assert.equal(noArp.verdict, "fail");
  assert.equal(
    noArp.evidence[0],
    `no ARP reply for ${C} on ${net.bridge}: no node announces it (speaker not running on a node? address outside the pool? VirtualBox promiscuous mode off?)`,
  );
  assert.match(noArp.fix ?? "", /--nicpromisc2 allow-all/);

  const tlsFinding = finding("tls-mismatch", A);
  assert.equal(tlsFinding.verdict, "fail");
  assert.equal(
    tlsFinding.evidence[0],
    `TCP open but HTTP fails: ${A}:8443 https: TLS handshake failed: wrong version number`,
  );

  assert.equal(finding("failing-app", A).verdict, "warn");
  assert.match(finding("failing-app", A).evidence[0] ?? "", /answers HTTP 503 on 8080/);

  const refused = finding("no-endpoints", A);
  assert.equal(refused.verdict, "fail");
  assert.match(
    refused.evidence[0] ?? "",
    new RegExp(`^ARP answered by ${a.mac} \\(node worker-1\\) but TCP .*:81 is refused \\(RST\\)`),
  );

  assert.deepEqual(finding("dns", A), {
    verdict: "pass",
    subject: `Service lab/dns ${A}`,
    evidence: [`ARP from node worker-1 (${a.mac}), no TCP port to probe`, "53/UDP: not probed (UDP)"],
  });

  const notProbed = finding("off-network", offNetwork);
  assert.equal(notProbed.verdict, "fail");
  assert.match(notProbed.evidence[0] ?? "", /^not probed: /);
  assert.match(notProbed.fix ?? "", /addons\.metallb\.pools/);

  const text = formatResults(result ? [result] : []);
  assert.match(text, /✗ probe\.loadbalancer/);
  assert.match(text, new RegExp(`✗ Service lab/unannounced ${C.replaceAll(".", "\\.")}: no ARP reply`));
});

test("probeAddresses says when this host has no interface on the lab network, and sends nothing", async () => {
  // 198.51.100.0/24 (TEST-NET-2) is on no interface of this host.
  const [probe] = await probeAddresses(
    [{ address: "198.51.100.10", service: "lab/web", ports: [{ port: 80, protocol: "TCP" }] }],
    { network: parseCidr("198.51.100.0/24") as Cidr },
  );
  assert.deepEqual(probe, {
    address: "198.51.100.10",
    service: "lab/web",
    interface: "",
    arp: { answered: false },
    ports: [{ port: 80, protocol: "TCP", tcp: "skipped" }],
    skipped: "no interface on this host has an address in the lab network 198.51.100.0/24",
  });
  const [result] = runChecks(
    {
      format: "kubelab.dev/doctor-evidence/v1",
      collectedAt: new Date().toISOString(),
      file: parse(DEFAULT_CLUSTER_YAML),
      probes: probe ? [probe] : [],
      unavailable: {},
    },
    probeChecks,
  );
  assert.equal(result?.verdict, "fail");
  assert.match(result?.findings[0]?.fix ?? "", /network\.cidr in kubelab\.yaml \(192\.168\.56\.0\/24\)/);
});

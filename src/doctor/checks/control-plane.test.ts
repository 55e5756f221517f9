// control-plane.etcd-quorum and control-plane.vip on evidence in the shape the nodes give it:
// etcdctl's own output (member list -w simple, endpoint health -w json, with etcdctl's exit
// code 1 and stderr line when a member is down) and iproute2's `ip -j addr show`, for a lab of
// three control planes and a worker behind a VIP: all well, one control plane down, two down,
// no VIP holder, two holders.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../../config/default-cluster.js";
import { NODE_COMMANDS } from "../nodes.js";
import { runChecks } from "../run.js";
import type { CheckResult, CommandEvidence, Evidence, NodeEvidence } from "../types.js";
import { CHECKS } from "./index.js";

const VIP = "192.168.56.10";
const CPS = [
  { name: "master-1", ip: "192.168.56.11", id: "5a1e0a2b3c4d5e6f" },
  { name: "master-2", ip: "192.168.56.12", id: "8e9e05c52164694d" },
  { name: "master-3", ip: "192.168.56.13", id: "fd422379fda50e48" },
];

const FILE = (() => {
  const raw = parse(DEFAULT_CLUSTER_YAML);
  raw.nodes[0].count = 3;
  raw.nodes[1].count = 1;
  raw.controlPlane = { endpoint: { vip: VIP } };
  return raw;
})();

const ok = (stdout: string): CommandEvidence => ({ code: 0, stdout, stderr: "" });

/** `etcdctl member list -w simple` of the three members, as etcd 3.6 prints it. */
const MEMBERS = ok(
  CPS.map((c) => `${c.id}, started, ${c.name}, https://${c.ip}:2380, https://${c.ip}:2379, false\n`).join(""),
);

/** `etcdctl endpoint health --cluster -w json`: members down time out, and etcdctl exits 1. */
function health(down: readonly string[]): CommandEvidence {
  const entries = CPS.map((c) =>
    down.includes(c.name)
      ? `{"endpoint":"https://${c.ip}:2379","health":false,"took":"5.000914361s","error":"failed to commit proposal: context deadline exceeded"}`
      : `{"endpoint":"https://${c.ip}:2379","health":true,"took":"8.563219ms"}`,
  );
  return {
    code: down.length > 0 ? 1 : 0,
    stdout: `[${entries.join(",")}]\n`,
    stderr: down.length > 0 ? "Error: unhealthy cluster\n" : "",
  };
}

/** iproute2's `ip -j addr show` of a node: lo, eth0 (NAT), eth1 (lab), with the VIP as a /32 when held. */
function addrs(ip: string, vip: boolean): CommandEvidence {
  const lab = [
    { family: "inet", local: ip, prefixlen: 24, broadcast: "192.168.56.255", scope: "global", label: "eth1" },
    ...(vip ? [{ family: "inet", local: VIP, prefixlen: 32, scope: "global", label: "eth1" }] : []),
  ];
  return ok(
    JSON.stringify([
      {
        ifindex: 1,
        ifname: "lo",
        flags: ["LOOPBACK", "UP", "LOWER_UP"],
        link_type: "loopback",
        address: "00:00:00:00:00:00",
        addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host", label: "lo" }],
      },
      {
        ifindex: 2,
        ifname: "eth0",
        flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
        link_type: "ether",
        address: "52:54:00:12:34:56",
        addr_info: [{ family: "inet", local: "10.0.2.15", prefixlen: 24, scope: "global", label: "eth0" }],
      },
      {
        ifindex: 3,
        ifname: "eth1",
        flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
        link_type: "ether",
        address: `52:54:00:00:00:${ip.split(".")[3]}`,
        addr_info: lab,
      },
    ]),
  );
}

interface Lab {
  /** Control planes that are off: nothing was collected from them. */
  readonly off?: readonly string[];
  /** Control planes holding the VIP. @default ["master-1"] */
  readonly holders?: readonly string[];
  /** Members etcd reports unhealthy. @default off */
  readonly down?: readonly string[];
  /** Control planes whose etcd did not answer (no running container). */
  readonly noEtcd?: readonly string[];
}

function evidence(lab: Lab): Evidence {
  const off = lab.off ?? [];
  const holders = lab.holders ?? ["master-1"];
  const nodes: Record<string, NodeEvidence> = {};
  for (const c of CPS) {
    if (off.includes(c.name)) continue;
    const noEtcd: CommandEvidence = { code: 3, stdout: "", stderr: "no running etcd container on this node\n" };
    nodes[c.name] = {
      files: {},
      commands: {
        [NODE_COMMANDS.addresses]: addrs(c.ip, holders.includes(c.name)),
        [NODE_COMMANDS.etcdMembers]: lab.noEtcd?.includes(c.name) ? noEtcd : MEMBERS,
        [NODE_COMMANDS.etcdHealth]: lab.noEtcd?.includes(c.name) ? noEtcd : health(lab.down ?? off),
      },
    };
  }
  nodes["worker-1"] = { files: {}, commands: { [NODE_COMMANDS.addresses]: addrs("192.168.56.14", false) } };
  return {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: "2026-12-07T03:00:00Z",
    file: FILE,
    nodes,
    unavailable: {},
  };
}

const result = (id: string, lab: Lab): CheckResult => {
  const r = runChecks(evidence(lab), CHECKS, [id])[0];
  assert.ok(r, id);
  return r;
};
const text = (r: CheckResult) => r.findings.flatMap((f) => [...f.evidence, f.fix ?? ""]).join("\n");

describe("control-plane.etcd-quorum", () => {
  const id = "control-plane.etcd-quorum";

  it("passes with every member healthy", () => {
    const r = result(id, {});
    assert.equal(r.verdict, "pass", text(r));
    assert.match(text(r), /asked of master-1: 3 voting members, 3 healthy, quorum 2/);
  });

  it("warns, degraded but quorate, with one control plane of three off", () => {
    const r = result(id, { off: ["master-1"] });
    assert.equal(r.verdict, "warn", text(r));
    assert.match(text(r), /asked of master-2: 3 voting members, 2 healthy, quorum 2/);
    assert.match(text(r), /master-1: unhealthy \(failed to commit proposal: context deadline exceeded\)/);
    assert.match(text(r), /degraded but quorate/);
    assert.match(r.findings[0]?.fix ?? "", /kubelab up starts stopped machines/);
  });

  it("fails when quorum is lost, two of three down", () => {
    const r = result(id, { off: ["master-1", "master-2"] });
    assert.equal(r.verdict, "fail", text(r));
    assert.match(text(r), /3 voting members, 1 healthy, quorum 2/);
    assert.match(text(r), /lost quorum/);
  });

  it("fails when no control plane's etcd answers, saying why on each", () => {
    const r = result(id, { noEtcd: ["master-1", "master-2", "master-3"] });
    assert.equal(r.verdict, "fail", text(r));
    assert.match(text(r), /master-2: `etcdctl member list -w simple` exited 3: no running etcd container/);
  });

  it("asks the next control plane when the first one's etcd does not answer", () => {
    const r = result(id, { noEtcd: ["master-1"], down: [] });
    assert.equal(r.verdict, "pass", text(r));
    assert.match(text(r), /asked of master-2/);
  });
});

describe("control-plane.vip", () => {
  const id = "control-plane.vip";

  it("passes with exactly one holder, and names it", () => {
    const r = result(id, { holders: ["master-2"] });
    assert.equal(r.verdict, "pass", text(r));
    assert.equal(r.findings[0]?.subject, "master-2");
    assert.match(text(r), /master-2 holds 192\.168\.56\.10 on eth1/);
  });

  it("passes when the holder's machine is off and another took the VIP over", () => {
    const r = result(id, { off: ["master-1"], holders: ["master-2"] });
    assert.equal(r.verdict, "pass", text(r));
    assert.match(text(r), /master-1: not read \(stopped or unreachable\)/);
  });

  it("fails when nobody holds it, with the fix", () => {
    const r = result(id, { holders: [] });
    assert.equal(r.verdict, "fail", text(r));
    assert.match(text(r), /no control plane holds the VIP 192\.168\.56\.10/);
    assert.match(r.findings[0]?.fix ?? "", /systemctl status keepalived haproxy/);
  });

  it("fails on two holders (split brain), naming VRRP", () => {
    const r = result(id, { holders: ["master-1", "master-3"] });
    assert.equal(r.verdict, "fail", text(r));
    assert.match(text(r), /2 control planes hold the VIP 192\.168\.56\.10 at once/);
    assert.match(r.findings[0]?.fix ?? "", /IP protocol 112/);
  });

  it("does not apply without a VIP", () => {
    const noVip = { ...evidence({}), file: parse(DEFAULT_CLUSTER_YAML) };
    const r = runChecks(noVip, CHECKS, [id])[0];
    assert.equal(r?.verdict, "skip");
  });
});

import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { formatIssue } from "../config/issues.js";
import { parseYamlSource } from "../config/load.js";
import { MAX_NODES, validateCluster } from "./validate.js";

/** validateYaml runs the same path as a file on disk and returns "line:col path: message" per error. */
function errorsOf(text: string): string[] {
  const loaded = parseYamlSource(text, "lab.yaml");
  const result =
    "errors" in loaded ? { ok: false as const, errors: loaded.errors } : validateCluster(loaded.raw, loaded.source);
  if (result.ok) return [];
  return result.errors.map((e) => formatIssue(e).replace(/^lab\.yaml:/, ""));
}

/** The default file with its (commented-out) pool set to `pool`. */
const withPool = (pool: string) => variant("# pools: [192.168.56.46-192.168.56.56]", `pools: [${pool}]`);

/** A valid file with one part replaced: `patch` is YAML text substituted for `from`. */
function variant(from: string, to: string): string {
  assert.ok(DEFAULT_CLUSTER_YAML.includes(from), `default file has no ${JSON.stringify(from)}`);
  return DEFAULT_CLUSTER_YAML.replace(from, to);
}

describe("the embedded default", () => {
  it("is the classic lab", () => {
    const result = validateCluster(parse(DEFAULT_CLUSTER_YAML));
    assert.ok(result.ok, JSON.stringify(result));
    const { plan } = result;
    assert.deepEqual(
      plan.nodes.map((n) => [n.name, n.role, n.ip]),
      [
        ["master-1", "control-plane", "192.168.56.11"],
        ["worker-1", "worker", "192.168.56.12"],
        ["worker-2", "worker", "192.168.56.13"],
      ],
    );
    assert.equal(plan.network.cidr, "192.168.56.0/24");
    assert.deepEqual(plan.network.block, {
      text: "192.168.56.0/24",
      base: 0xc0a83800,
      prefix: 24,
      first: 0xc0a83800,
      last: 0xc0a838ff,
    });
    assert.equal(plan.network.gateway, "192.168.56.1");
    assert.deepEqual(plan.addons.metallb, {
      enabled: true,
      version: "v0.16.1",
      pools: ["192.168.56.46-192.168.56.56"],
    });
    assert.equal(plan.network.dhcpRange, "192.168.56.100-192.168.56.254");
    assert.equal(plan.kubernetes.controlPlaneEndpoint, "192.168.56.11:6443");
    assert.equal(plan.containerd.cgroupDriver, "systemd");
    // The upstream manifest's own choice, so a file that does not say keeps Calico as shipped.
    assert.equal(plan.addons.cni.plugin === "calico" && plan.addons.cni.encapsulation, "ipip");
    assert.deepEqual(result.warnings, []);
  });

  it("equals a minimal file with every default left out", () => {
    const minimal = {
      apiVersion: "kubelab.dev/v1alpha1",
      kind: "Cluster",
      metadata: { name: "lab" },
      nodes: [
        { name: "master-1", role: "control-plane" },
        { name: "worker-{n}", role: "worker", count: 2, cpus: 4, memory: "8Gi" },
      ],
    };
    const a = validateCluster(minimal);
    const b = validateCluster(parse(DEFAULT_CLUSTER_YAML));
    assert.ok(a.ok && b.ok);
    assert.deepEqual(
      { ...a.plan, nodes: a.plan.nodes.map((n) => ({ ...n, source: 0 })) },
      { ...b.plan, nodes: b.plan.nodes.map((n) => ({ ...n, source: 0 })) },
    );
  });
});

describe("validation errors name line:col, the field and the fix", () => {
  const cases: [string, string, string[]][] = [
    [
      "YAML syntax",
      variant("  name: lab ", "  name: [lab "),
      ["7:1: error: (root): YAML: Flow sequence in block collection"],
    ],
    [
      "duplicate key",
      variant("kind: Cluster\n", "kind: Cluster\nkind: Cluster\n"),
      ["4:1: error: (root): YAML: Map keys must be unique"],
    ],
    [
      "unknown key with a guess",
      variant("    role: control-plane\n", "    role: control-plane\n    cpu: 2\n"),
      ['17:5: error: nodes[0].cpu: unknown key "cpu"\n  fix: did you mean "cpus"?'],
    ],
    [
      "wrong type",
      variant("    count: 2", "    count: two"),
      ['22:12: error: nodes[1].count: must be a number, not string "two"'],
    ],
    [
      "bad enum with a guess",
      variant("proxyMode: iptables", "proxyMode: ipvss"),
      ['36:14: error: kubernetes.proxyMode: string "ipvss" is not allowed\n  fix: did you mean "ipvs"?'],
    ],
    [
      "bad encapsulation with a guess",
      variant("encapsulation: ipip", "encapsulation: vxlan-crosssubnet"),
      [
        '46:20: error: addons.cni.encapsulation: string "vxlan-crosssubnet" is not allowed\n  fix: did you mean "vxlan-cross-subnet"?',
      ],
    ],
    [
      "unknown provider",
      variant("  name: vagrant ", "  name: docker  "),
      ['8:9: error: provider.name: string "docker" is not allowed'],
    ],
    [
      "malformed version",
      variant("version: v1.37.2", 'version: "1.37"'),
      ["33:12: error: kubernetes.version: must be a version such as v1.37.2"],
    ],
    [
      "unpinned minor",
      variant("version: v1.37.2", "version: v1.30.1"),
      ["33:12: error: kubernetes.version: Kubernetes v1.30.1 is not a release kubelab pins"],
    ],
    [
      "unpinned patch of a pinned minor",
      variant("version: v1.37.2", "version: v1.37.1"),
      ["33:12: error: kubernetes.version: Kubernetes v1.37.1 is not a release kubelab pins"],
    ],
    [
      "node name not DNS-1123",
      variant("name: master-{n}", "name: Master_{n}"),
      ["15:11: error: nodes[0].name: must be a DNS-1123 label"],
    ],
    [
      "group without {n}",
      variant("name: worker-{n}", "name: worker"),
      ["20:11: error: nodes[1].name: count is 2 but the name has no {n}"],
    ],
    [
      "duplicate names",
      variant("name: worker-{n}", "name: master-{n}"),
      ['20:11: error: nodes[1].name: node name "master-1" is used twice'],
    ],
    [
      "no control plane",
      variant("role: control-plane", "role: worker"),
      ["15:3: error: nodes: no node has role control-plane"],
    ],
    [
      "small control plane",
      variant("    cpus: 2\n    memory: 4096", "    cpus: 1\n    memory: 1024"),
      [
        "18:11: error: nodes[0].cpus: control plane master-1 has 1 CPU",
        "19:13: error: nodes[0].memory: control plane master-1 has 1024 MiB",
      ],
    ],
    [
      "address outside the lab",
      variant("    count: 1\n", "    count: 1\n    ip: 10.0.2.15\n"),
      ["18:9: error: nodes[0].ip: master-1 gets 10.0.2.15, outside the lab network 192.168.56.0/24"],
    ],
    [
      "address on the gateway",
      variant("firstAddress: 192.168.56.11", "firstAddress: 192.168.56.1 "),
      ["28:17: error: network.firstAddress: master-1 gets 192.168.56.1, which is the gateway"],
    ],
    [
      "address on the network address",
      variant("    count: 1\n", "    count: 1\n    ip: 192.168.56.0\n"),
      ["18:9: error: nodes[0].ip: master-1 gets 192.168.56.0, which is the network address"],
    ],
    [
      "address on broadcast",
      variant("    count: 1\n", "    count: 1\n    ip: 192.168.56.255\n"),
      ["18:9: error: nodes[0].ip: master-1 gets 192.168.56.255, which is the broadcast address"],
    ],
    [
      "duplicate addresses",
      variant("    count: 1\n", "    count: 1\n    ip: 192.168.56.12\n").replace(
        "    count: 2\n",
        "    count: 2\n    ip: 192.168.56.11\n",
      ),
      ["24:9: error: nodes[1].ip: worker-2 and master-1 both get 192.168.56.12"],
    ],
    [
      "node in DHCP range",
      variant("firstAddress: 192.168.56.11", "firstAddress: 192.168.56.120"),
      [
        "28:17: error: network.firstAddress: master-1 gets 192.168.56.120, inside the DHCP range",
        "28:17: error: network.firstAddress: worker-1",
        "28:17: error: network.firstAddress: worker-2",
      ],
    ],
    [
      "pool outside the lab",
      withPool("192.168.57.46-192.168.57.56"),
      ["50:13: error: addons.metallb.pools[0]: pool 192.168.57.46-192.168.57.56 is not inside the lab network"],
    ],
    [
      "pool over a node",
      withPool("192.168.56.10-192.168.56.20"),
      [
        "50:13: error: addons.metallb.pools[0]: pool 192.168.56.10-192.168.56.20 contains node addresses: master-1 192.168.56.11, worker-1 192.168.56.12, worker-2 192.168.56.13",
      ],
    ],
    [
      "pool over DHCP",
      withPool("192.168.56.200/29"),
      [
        "50:13: error: addons.metallb.pools[0]: pool 192.168.56.200/29 overlaps the DHCP range 192.168.56.100-192.168.56.254",
      ],
    ],
    [
      "pod subnet over the lab",
      variant("podSubnet: 192.168.112.0/20", "podSubnet: 192.168.0.0/16  "),
      ["34:14: error: kubernetes.podSubnet: pod subnet 192.168.0.0/16 overlaps the lab network"],
    ],
    [
      "service subnet over pods",
      variant("serviceSubnet: 10.96.0.0/12", "serviceSubnet: 192.168.112.0/24"),
      ["35:18: error: kubernetes.serviceSubnet: service subnet 192.168.112.0/24 overlaps the pod subnet"],
    ],
    [
      "host bits in a CIDR",
      variant("cidr: 192.168.56.0/24", "cidr: 192.168.56.1/24"),
      ["27:9: error: network.cidr: must be an IPv4 CIDR with zero host bits"],
    ],
    [
      "ipvs without strictARP",
      variant("proxyMode: iptables ", "proxyMode: ipvs\n  strictARP: false"),
      ["37:14: error: kubernetes.strictARP: MetalLB L2 with kube-proxy in ipvs mode needs strictARP"],
    ],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const got = errorsOf(text);
      assert.equal(got.length, expected.length, `got:\n${got.join("\n")}`);
      for (const [i, want] of expected.entries()) {
        assert.ok(got[i]?.startsWith(want), `want: ${want}\ngot:  ${got[i]}`);
      }
    });
  }

  it("reports every error in a file at once", () => {
    const text = variant(
      "  - name: worker-{n}\n    role: worker",
      "  - name: Worker\n    role: workr\n    colour: blue",
    );
    const got = errorsOf(text.replace("proxyMode: iptables", "proxyMode: ipv"));
    assert.equal(got.length, 4, got.join("\n"));
  });

  it("ipvs defaults strictARP to true, with a deprecation warning", () => {
    const result = validateCluster(parse(variant("proxyMode: iptables", "proxyMode: ipvs")));
    assert.ok(result.ok);
    assert.equal(result.plan.kubernetes.strictARP, true);
    assert.match(result.warnings.map((w) => w.message).join("\n"), /deprecated/);
  });

  it("the ssh provider needs a host for every node and no strangers", () => {
    const text = variant(
      "provider:\n  name: vagrant ",
      "provider:\n  name: ssh\n  hosts:\n    - { node: master-1, address: 192.168.56.11 }\n    - { node: worker-9, address: 192.168.56.19 }\n",
    ).replace(/ {2}hypervisor.*\n {2}# box.*\n {2}cpus.*\n {2}memory.*\n/, "");
    const got = errorsOf(text);
    assert.ok(
      got.some((e) => e.includes('provider.hosts[1].node: no node is named "worker-9"')),
      got.join("\n"),
    );
    assert.ok(
      got.some((e) => e.includes("node worker-1 has no entry in provider.hosts")),
      got.join("\n"),
    );
  });

  it("accepts the deprecated network.interface of older files, ignored with a warning", () => {
    const older = "  firstAddress: 192.168.56.11   # control planes from here, workers right after\n";
    for (const value of ["auto", "eth1"]) {
      const result = validateCluster(parse(variant(older, `${older}  interface: ${value}\n`)));
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(
        result.warnings.map((w) => [w.path.join("."), w.message]),
        [
          [
            "network.interface",
            "network.interface is ignored: kubelab finds each node's lab interface by the node's address",
          ],
        ],
      );
      assert.equal("interface" in result.plan.network, false);
    }
  });

  it("warns when the UI has no LoadBalancer to get an address from", () => {
    const result = validateCluster(parse(variant("  metallb:\n    enabled: true", "  metallb:\n    enabled: false")));
    assert.ok(result.ok);
    assert.match(result.warnings.map((w) => w.message).join("\n"), /gets no address without MetalLB/);
  });
});

test("a file making more than MAX_NODES nodes is one error, before any node is derived", () => {
  const raw = parse(DEFAULT_CLUSTER_YAML) as { nodes: Record<string, unknown>[] };
  raw.nodes.push(...Array.from({ length: 400 }, (_, i) => ({ name: `w${i}-{n}`, role: "worker", count: 250 })));
  const result = validateCluster(raw);
  assert.ok(!result.ok);
  assert.equal(result.errors.length, 1);
  assert.match(result.errors[0]?.message ?? "", new RegExp(`makes 100003 nodes; a lab has at most ${MAX_NODES}`));
});

describe("free-text fields that reach a command line have a format", () => {
  /** The default file on the ssh provider, master-1's host entry given by `entry` (YAML flow mapping body). */
  const sshFile = (entry: string) =>
    variant(
      "provider:\n  name: vagrant ",
      "provider:\n  name: ssh\n  hosts:\n" +
        `    - { node: master-1, ${entry} }\n` +
        "    - { node: worker-1, address: 192.168.56.12 }\n    - { node: worker-2, address: 192.168.56.13 }\n",
    ).replace(/ {2}hypervisor.*\n {2}# box.*\n {2}cpus.*\n {2}memory.*\n/, "");

  it("accepts user names, host names and IPv4/IPv6 addresses", () => {
    for (const entry of [
      "address: 192.168.56.11, user: ubuntu",
      "address: node1.lab.example, user: _svc.deploy-1",
      'address: "fd00::11", user: root',
      "address: 192.168.56.11, jump: { address: bastion.example., user: admin, port: 2222 }",
    ])
      assert.deepEqual(errorsOf(sshFile(entry)), [], entry);
  });

  const refused: [string, string, RegExp][] = [
    ['address: 192.168.56.11, user: "-oProxyCommand=touch /tmp/x"', "provider.hosts[0].user", /user name/],
    ["address: -oProxyCommand=x, user: root", "provider.hosts[0].address", /host name/],
    ['address: "192.168.56.11\\nHost *", user: root', "provider.hosts[0].address", /host name/],
    ["address: 999.1.1.1", "provider.hosts[0].address", /host name/],
    ['address: "fd00::zz"', "provider.hosts[0].address", /host name/],
    [
      "address: 192.168.56.11, jump: { address: b.example, user: -F/dev/null }",
      "provider.hosts[0].jump.user",
      /user name/,
    ],
    ["address: 192.168.56.11, jump: { address: -J, user: root }", "provider.hosts[0].jump.address", /host name/],
  ];
  for (const [entry, path, message] of refused) {
    it(`refuses ${entry} at ${path}, with line:col and a fix`, () => {
      const got = errorsOf(sshFile(entry));
      assert.equal(got.length, 1, got.join("\n"));
      assert.match(got[0] ?? "", new RegExp(`^10:\\d+: error: ${path.replace(/[[\].]/g, "\\$&")}: `));
      assert.match(got[0] ?? "", message);
      assert.match(got[0] ?? "", /\n {2}fix: /);
    });
  }

  const vagrant: [string, string, string][] = [
    ["box with a space", "  # box: ", '  box: "bento/ubuntu 24.04"\n  # '],
    ["box with a newline", "  # box: ", '  box: "bento/ubuntu\\nend"\n  # '],
    ["boxVersion with a newline", "  # box: ", '  box: bento/ubuntu-24.04\n  boxVersion: "1.0\\"\\nsystem(1)"\n  # '],
  ];
  for (const [name, from, to] of vagrant) {
    it(`refuses a ${name}`, () => {
      const got = errorsOf(variant(from, to));
      assert.equal(got.length, 1, got.join("\n"));
      assert.match(got[0] ?? "", /^\d+:\d+: error: provider\.box(Version)?: must be .*\n {2}fix: /);
    });
  }

  it("accepts a box and a version constraint", () => {
    assert.deepEqual(
      errorsOf(variant("  # box: ", '  box: bento/ubuntu-24.04\n  boxVersion: ">= 202510, < 202600"\n  # ')),
      [],
    );
  });

  it("controlPlaneEndpoint is host[:port]: a newline or a stray word is refused", () => {
    const endpoint = (value: string) =>
      errorsOf(variant("proxyMode: iptables", `proxyMode: iptables\n  controlPlaneEndpoint: ${value}`));
    assert.deepEqual(endpoint("192.168.56.10:6443"), []);
    assert.deepEqual(endpoint("lb.lab.example"), []);
    for (const bad of ['"192.168.56.10:6443\\n  extra: 1"', '"lb x"', "lb.example:99999", "-lb"]) {
      const got = endpoint(bad);
      assert.equal(got.length, 1, `${bad}: ${got.join("\n")}`);
      assert.match(got[0] ?? "", /kubernetes\.controlPlaneEndpoint: must be host\[:port\].*\n {2}fix: /);
    }
  });
});

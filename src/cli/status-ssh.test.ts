// kubelab status on existing hosts (ssh provider): each host is reachable or unreachable with
// the reason, never "stopped". Loopback ports only: one that listens, one that refuses.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { kubelab, kubelabIn } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { validateCluster } from "../plan/validate.js";
import { sshProvider } from "../providers/ssh.js";

/** listen opens a loopback port; closed, the same port refuses connections. */
async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return { server, port: address.port };
}

const closedPort = async () => {
  const { server, port } = await listen();
  await new Promise((resolve) => server.close(resolve));
  return port;
};

/** sshLab is the default lab on existing hosts at the given loopback ports. */
function sshLab(ports: number[]): string {
  const names = ["master-1", "worker-1", "worker-2"];
  const hosts = names.map((n, i) => `    - { node: ${n}, address: 127.0.0.1, port: ${ports[i]} }\n`).join("");
  return DEFAULT_CLUSTER_YAML.replace(/provider:\n( {2}.*\n)+/, `provider:\n  name: ssh\n  hosts:\n${hosts}`);
}

describe("status on existing hosts", () => {
  it("the provider lists a host that answers as running, one that refuses with the reason", async (t) => {
    const open = await listen();
    t.after(() => open.server.close());
    const refused = await closedPort();
    const result = validateCluster(parse(sshLab([open.port, refused, refused])), { file: "lab.yaml" });
    assert.ok(result.ok, JSON.stringify(result));
    const machines = await sshProvider.list(result.plan, { clusterDir: "/nonexistent", log: () => {} });
    assert.equal(machines[0]?.state, "running");
    assert.equal(machines[0]?.reason, undefined);
    assert.match(machines[1]?.reason ?? "", /ECONNREFUSED/);
  });

  it("kubelab status says unreachable and why, never stopped", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "kubelab.yaml");
    const refused = await closedPort();
    await writeFile(file, sshLab([refused, refused, refused]));
    const r = await kubelab("status", "-f", file);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^master-1 +unreachable .*ECONNREFUSED/m);
    assert.doesNotMatch(r.out, /stopped|running/);
    const json = JSON.parse((await kubelab("status", "-f", file, "-o", "json")).out);
    assert.deepEqual(
      json.nodes.map((n: { machine: string }) => n.machine),
      ["unreachable", "unreachable", "unreachable"],
    );
    assert.deepEqual(parse((await kubelab("status", "-f", file, "-o=yaml")).out), json);
    // On a narrow terminal each row is cut, not wrapped into the next.
    const narrow = await kubelabIn({ columns: 40 }, "status", "-f", file);
    const rows = narrow.out.trimEnd().split("\n");
    assert.equal(rows.length, 4);
    assert.ok(rows.every((l) => l.length <= 40));
    assert.match(rows[1] ?? "", /^master-1 +unreachable .*…$/);
  });
});

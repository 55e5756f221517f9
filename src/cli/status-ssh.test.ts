// kubelab status on existing hosts (ssh provider): each host is reachable or unreachable with
// the reason, never "stopped". Loopback ports only: one that listens, one that refuses.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { kubelab } from "../../test/helpers/cli.js";
import { closedPort, listen, sshLab } from "../../test/helpers/loopback-hosts.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { validateCluster } from "../plan/validate.js";
import { sshProvider } from "../providers/ssh.js";

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
  });
});

// kubelab status on existing hosts (ssh provider): each host is reachable or unreachable with
// the reason, never "stopped". Loopback ports only: one that listens, one that refuses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { kubelab, kubelabIn } from "../../test/helpers/cli.js";
import { clientKey, closedPort, listen, refusingSshd, sshLabFile, sshLabPlan } from "../../test/helpers/ssh-lab.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { sshProvider } from "../providers/ssh.js";

describe("status on existing hosts", () => {
  it("the provider lists a host that answers as running, one that refuses with the reason", async (t) => {
    const open = await listen();
    t.after(() => open.server.close());
    const refused = await closedPort();
    const machines = await sshProvider.list(sshLabPlan([open.port, refused, refused]), {
      clusterDir: "/nonexistent",
      log: () => {},
    });
    assert.equal(machines[0]?.state, "running");
    assert.equal(machines[0]?.reason, undefined);
    assert.equal(machines[1]?.state, "unreachable");
    assert.match(machines[1]?.reason ?? "", /ECONNREFUSED/);
  });

  it("kubelab status says unreachable and why, never stopped", async (t) => {
    const refused = await closedPort();
    const file = await sshLabFile(t, [refused, refused, refused]);
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

  it("kubelab status names a host that refuses the login, without a prepared state", async (t) => {
    const sshd = await refusingSshd(t);
    const file = await sshLabFile(t, [sshd, sshd, sshd], await clientKey(await tempDir(t)));
    const r = await kubelab("status", "-f", file);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^master-1 +reachable +\S+ +- +\(master-1: SSH authentication to root@127\.0\.0\.1:\d+ failed/m,
    );
  });
});

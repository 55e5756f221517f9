// kubelab doctor through the CLI on saved evidence: --list, checks over a dump (--from),
// --check, JSON output, exit codes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { kubelab, kubelabIn } from "../../test/helpers/cli.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { writeEvidence } from "../doctor/dump.js";
import type { Evidence } from "../doctor/types.js";

const fileOnly = (file: unknown): Evidence => ({
  format: "kubelab.dev/doctor-evidence/v1",
  collectedAt: new Date().toISOString(),
  file,
  unavailable: { nodes: "not collected in this test", api: "not collected in this test" },
});

test("doctor --list names every check; an unknown --check is a usage error", async () => {
  const list = await kubelab("doctor", "--list");
  assert.equal(list.code, 0, list.err);
  for (const id of [
    "file.valid",
    "metallb.pool-placement",
    "node.cgroup-driver",
    "calico.felix-health-localhost",
    "probe.loadbalancer",
  ])
    assert.match(list.out, new RegExp(`^${id.replace(".", "\\.")} `, "m"));
  const bad = await kubelab("doctor", "--from", "/nonexistent", "--check", "no.such-check");
  assert.equal(bad.code, 2);
});

test("doctor --from a dump: a pool on node addresses fails its check with the fix; exit 1; JSON and --check", async (t) => {
  const dir = await tempDir(t);
  const good = parse(DEFAULT_CLUSTER_YAML);
  await writeEvidence(join(dir, "good"), fileOnly(good));
  const ok = await kubelab("doctor", "--from", join(dir, "good"), "-v");
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /✓ metallb\.pool-placement/);
  assert.match(ok.out, /- node\.swap .*\(skipped: nodes: not collected in this test\)/);

  const bad = structuredClone(good);
  bad.addons.metallb.pools = ["192.168.56.10-192.168.56.20"]; // master-1 is .11
  await writeEvidence(join(dir, "bad"), fileOnly(bad));
  const failed = await kubelab("doctor", "--from", join(dir, "bad"));
  assert.equal(failed.code, 1, failed.out);
  assert.match(failed.out, /✗ metallb\.pool-placement/);
  assert.match(failed.out, /fix: /);
  assert.doesNotMatch(failed.out, /✗ file\.valid/, "reported once, under the check that owns it");

  const json = await kubelab("doctor", "--from", join(dir, "bad"), "--check", "metallb.pool-placement", "-o", "json");
  assert.equal(json.code, 1);
  const parsed = JSON.parse(json.out) as { results: { id: string; verdict: string; findings: unknown[] }[] };
  assert.deepEqual(
    parsed.results.map((r) => [r.id, r.verdict]),
    [["metallb.pool-placement", "fail"]],
  );
  const yaml = await kubelab("doctor", "--from", join(dir, "bad"), "--check=metallb.pool-placement", "-o=yaml");
  assert.equal(yaml.code, 1);
  assert.deepEqual(parse(yaml.out), parsed);

  // On a narrow terminal every line (the fix included) is wrapped to its width.
  const narrow = await kubelabIn({ columns: 40 }, "doctor", "--from", join(dir, "bad"));
  assert.equal(narrow.code, 1);
  assert.ok(
    narrow.out.split("\n").every((l) => l.length <= 40),
    narrow.out,
  );
  assert.match(narrow.out, /fix: /);
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { CHECKS } from "./checks/index.js";
import { KNOWN_FAILURES } from "./known-failures.js";
import { formatResults, runChecks } from "./run.js";
import type { CheckResult, Evidence } from "./types.js";

const DOC = readFileSync(KNOWN_FAILURES, "utf8");

/** The explicit anchors of the document, in order. */
const ANCHORS = [...DOC.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1] as string);

/** The text of the section that starts at anchor `id` (up to the next anchor or heading of a part). */
function section(id: string): string {
  const start = DOC.indexOf(`<a id="${id}"></a>`);
  const rest = DOC.slice(start + 1);
  const end = rest.search(/<a id="|\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

test("docs/known-failures.md has one section per check, anchored at the check's id, and no other", () => {
  assert.deepEqual([...ANCHORS].sort(), CHECKS.map((c) => c.id).sort());
  assert.equal(new Set(ANCHORS).size, ANCHORS.length, "an anchor is used twice");
});

test("every section names its check and gives the symptom, the cause, the evidence and the fix", () => {
  for (const c of CHECKS) {
    const text = section(c.id);
    assert.match(text, new RegExp(`\\n### \`${c.id.replaceAll(".", "\\.")}\`: `), `${c.id}: heading`);
    for (const part of ["Symptom", "Cause", "Evidence", "Fix"])
      assert.match(text, new RegExp(`\\*\\*${part}\\.\\*\\*`), `${c.id}: no ${part}`);
  }
});

test("links between sections point at anchors that exist", () => {
  const links = [...DOC.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string);
  assert.ok(links.length > 0);
  for (const link of links) assert.ok(ANCHORS.includes(link), `#${link} is no anchor`);
});

test("every see: line doctor prints names the document in the package and an anchor it has", () => {
  const evidence: Evidence = {
    format: "kubelab.dev/doctor-evidence/v1",
    collectedAt: new Date().toISOString(),
    file: parse(DEFAULT_CLUSTER_YAML),
    unavailable: {},
  };
  // Every check as if it had failed: formatResults prints see: lines for failures only.
  const failed = runChecks(evidence, CHECKS).map(
    (r): CheckResult => ({ ...r, verdict: "fail", findings: [{ verdict: "fail", evidence: ["broken"] }] }),
  );
  const see = formatResults(failed)
    .split("\n")
    .flatMap((line) => /^\s+see: (.*)$/.exec(line)?.[1] ?? []);
  assert.equal(see.length, CHECKS.length, "one see: line per failed check");
  for (const [i, ref] of see.entries()) {
    const [path, anchor] = ref.split("#");
    assert.equal(path, KNOWN_FAILURES);
    assert.equal(anchor, CHECKS[i]?.id);
    assert.ok(ANCHORS.includes(anchor as string), `${ref}: no such anchor`);
  }
  // JSON output carries the same reference.
  assert.deepEqual(
    failed.map((r) => r.see.split("#")[1]),
    CHECKS.map((c) => c.id),
  );
});

test("the document ships in the package, where the printed path points", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { files: string[] };
  assert.ok(pkg.files.includes("docs"), "package.json files must include docs");
  assert.match(KNOWN_FAILURES, /[/\\]docs[/\\]known-failures\.md$/);
});

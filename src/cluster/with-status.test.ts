import assert from "node:assert/strict";
import { test } from "node:test";
import type { Status } from "../phases/phase.js";
import { withStatus } from "./with-status.js";

/** A Status that records what it is told. */
function recorder(): Status & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    start: (title, nodes) => lines.push(`start ${title}${nodes ? ` [${nodes.join(",")}]` : ""}`),
    end: (ok) => lines.push(ok ? "ok" : "failed"),
  };
}

test("withStatus opens a step, ends it ok and returns the value", async () => {
  const status = recorder();
  assert.equal(await withStatus(status, "Create machines", async () => 42, ["a", "b"]), 42);
  assert.deepEqual(status.lines, ["start Create machines [a,b]", "ok"]);
});

test("withStatus ends a failed step as failed and rethrows the same error", async () => {
  const status = recorder();
  const boom = new Error("boom");
  await assert.rejects(
    withStatus(status, "Render addons", async () => {
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(status.lines, ["start Render addons", "failed"]);
});

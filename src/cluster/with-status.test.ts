import assert from "node:assert/strict";
import { test } from "node:test";
import { recordingStatus } from "../../test/helpers/recording-status.js";
import { withStatus } from "./with-status.js";

test("withStatus opens a step, ends it ok and returns the value", async () => {
  const status = recordingStatus();
  assert.equal(await withStatus(status, "Create machines", async () => 42, ["a", "b"]), 42);
  assert.deepEqual(status.lines, ["start Create machines [a,b]", "ok"]);
});

test("withStatus ends a failed step as failed and rethrows the same error", async () => {
  const status = recordingStatus();
  const boom = new Error("boom");
  await assert.rejects(
    withStatus(status, "Render addons", async () => {
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.deepEqual(status.lines, ["start Render addons", "failed"]);
});

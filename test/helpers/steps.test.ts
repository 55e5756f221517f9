// The step helper on a stand-in test context: steps run in order; after a failing step the
// rest are skipped with a message naming it, and the failure itself still reaches node:test.
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { steps } from "./steps.js";

/** A TestContext that runs subtests at once and records their outcomes. */
function scenario() {
  const outcomes: string[] = [];
  const t = {
    async test(name: string, fn: (st: TestContext) => Promise<void>) {
      const st = { skip: (why: string) => outcomes.push(`${name}: skipped (${why})`) } as unknown as TestContext;
      try {
        await fn(st);
        if (!outcomes.at(-1)?.startsWith(`${name}:`)) outcomes.push(`${name}: ok`);
      } catch (e) {
        outcomes.push(`${name}: failed (${(e as Error).message})`);
      }
    },
  } as unknown as TestContext;
  return { t, outcomes };
}

test("steps run in order; after a failure the rest are skipped, naming the failed step", async () => {
  const { t, outcomes } = scenario();
  const step = steps(t);
  const ran: string[] = [];
  await step("create machines", () => {
    ran.push("create");
  });
  await step("kubeadm init on master-1", () => {
    throw new Error("exited 1");
  });
  await step("join workers", () => {
    ran.push("join");
  });
  await step("down", () => {
    ran.push("down");
  });
  assert.deepEqual(ran, ["create"]);
  assert.deepEqual(outcomes, [
    "create machines: ok",
    "kubeadm init on master-1: failed (exited 1)",
    'join workers: skipped (not run: step "kubeadm init on master-1" failed)',
    'down: skipped (not run: step "kubeadm init on master-1" failed)',
  ]);
});

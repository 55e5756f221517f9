/**
 * Named steps for long scenarios (a cluster made, changed, broken and removed in one test):
 * each step is a node:test subtest, so a failure says which step broke. Steps depend on the
 * ones before them, so once one fails the rest do not run: each is reported skipped, naming
 * the step that failed (the scenario itself fails with that step).
 *
 *   const step = steps(t);
 *   await step("kubeadm init on master-1", async () => { ... });
 *
 * Hooks (`t.after`) and diagnostics belong to the scenario's own `t`, as before the split:
 * cleanup still runs once, at the end of the scenario, whichever step failed.
 */
import type { TestContext } from "node:test";

/** A step: runs `fn` as a subtest named `name`, unless an earlier step failed. */
export type Step = (name: string, fn: (st: TestContext) => Promise<void> | void) => Promise<void>;

/** steps returns the step function of scenario `t`; call it once per scenario, await every step. */
export function steps(t: TestContext): Step {
  let failed: string | undefined;
  return async (name, fn) => {
    await t.test(name, async (st) => {
      if (failed !== undefined) {
        st.skip(`not run: step "${failed}" failed`);
        return;
      }
      try {
        await fn(st);
      } catch (e) {
        failed = name;
        throw e;
      }
    });
  };
}

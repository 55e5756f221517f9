/**
 * The one place that decides what a test does when something it needs is not here.
 *
 * - In the hermetic tier (`npm run test:unit`, KUBELAB_TEST_TIER=unit) a test may use nothing
 *   outside the repository: no root, no network, no real tools, no dev cache. A helper that
 *   reaches for one of those calls {@link outsideHermetic} first, which fails the test with the
 *   fix (the file belongs in the integration tier: name it `*.int.test.ts`).
 * - Elsewhere a missing prerequisite skips the test with the reason and the command that
 *   installs it ({@link unavailable}), except under CI=true, where nothing skips: it fails.
 */
import type { TestContext } from "node:test";

/** The tier this run belongs to: set by scripts/run-tests.mjs. */
export type TestTier = "unit" | "integration";

/** testTier is the tier of this run (`integration` unless the runner says `unit`). */
export function testTier(): TestTier {
  return process.env.KUBELAB_TEST_TIER === "unit" ? "unit" : "integration";
}

/** underCi is true in CI (CI=true), where a test never skips. */
export function underCi(): boolean {
  return process.env.CI === "true";
}

/**
 * outsideHermetic declares that the calling test needs `what` (root, a real tool, the dev
 * cache, the network...). In the hermetic tier that is a mistake in the test's placement, so
 * it throws; elsewhere it returns.
 */
export function outsideHermetic(what: string): void {
  if (testTier() === "unit") {
    throw new Error(
      `${what}: the hermetic tier (npm run test:unit) uses no root, network, real tools or files ` +
        "outside the repository; move this test to an integration file (*.int.test.ts)",
    );
  }
}

/**
 * unavailable reports a missing prerequisite: `reason` says what is missing, `fix` how to get
 * it. The test is skipped with both, or, under CI=true, fails with both.
 */
export function unavailable(
  t: Pick<TestContext, "skip">,
  reason: string,
  fix = "run scripts/dev-tools/install-deps.sh",
): void {
  const why = `${reason}: ${fix}`;
  if (underCi()) throw new Error(`${why} (CI=true, so not skipping)`);
  t.skip(why);
}

/**
 * need is the usual pair: declare `what` as outside the hermetic tier, then, when `present` is
 * false, report it unavailable. Returns `present`, so a test can `if (!need(...)) return;`.
 */
export function need(t: Pick<TestContext, "skip">, what: string, present: boolean, fix?: string): boolean {
  outsideHermetic(what);
  if (!present) unavailable(t, `${what} is missing`, fix);
  return present;
}

/**
 * Locating the upstream fixtures (pinned addon manifests and charts, see
 * ../shared/fixtures/upstream/NOTES.md). They live next to the repository, not in it, so every
 * test that reads them goes through here and fails with one clear message when they are missing.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import { PINNED } from "../../src/versions.js";

/** `<repo>/../shared/fixtures/upstream`, as an absolute path; throws if it does not exist. */
export function fixturesDir(): string {
  // This file is <repo>/test/helpers/fixtures.ts, so the repo is two levels up.
  const dir = fileURLToPath(new URL("../../../shared/fixtures/upstream/", import.meta.url));
  if (!existsSync(join(dir, "NOTES.md"))) {
    throw new Error(
      `upstream fixtures not found at ${dir}: the tests expect the shared fixtures directory ` +
        "(shared/fixtures/upstream, with NOTES.md) to sit next to the repository",
    );
  }
  return dir;
}

/** Absolute path of a fixture file, given its path under fixtures/upstream; throws if absent. */
export function fixturePath(relative: string): string {
  const path = join(fixturesDir(), relative);
  if (!existsSync(path)) throw new Error(`fixture ${relative} not found at ${path}`);
  return path;
}

/** Text of a fixture file, given its path under fixtures/upstream. */
export function readFixture(relative: string): string {
  return readFileSync(fixturePath(relative), "utf8");
}

/**
 * The pinned upstream manifests the renderers transform, relative to {@link fixturesDir}. Built
 * from PINNED so that bumping a version without adding its fixture fails loudly.
 */
export const FIXTURES = {
  calico: `calico/${PINNED.calico.version}/manifests/calico.yaml`,
  metallb: `metallb/${PINNED.metallb.version}/config/manifests/metallb-native.yaml`,
  headlamp: `headlamp/${PINNED.headlamp.version}/kubernetes-headlamp.yaml`,
  dashboard: `dashboard/${PINNED.dashboard.version}/aio/deploy/recommended.yaml`,
} as const;

/** planOf validates a cluster file (as parsed) and returns its plan; invalid files throw. */
export function planOf(raw: unknown): Plan {
  const r = validateCluster(raw);
  if (!r.ok) throw new Error(`cluster file does not validate: ${JSON.stringify(r.errors)}`);
  return r.plan;
}

/**
 * planWith is the plan of the embedded default cluster file after `change` edits it (as
 * parsed; `R` is the shape a test gives the parsed file).
 */
// biome-ignore lint/suspicious/noExplicitAny: by default tests edit the parsed YAML freely, as users edit the file
export function planWith<R = Record<string, any>>(change: (raw: R) => void = () => {}): Plan {
  const raw = parse(DEFAULT_CLUSTER_YAML) as R;
  change(raw);
  return planOf(raw);
}

/**
 * The Plan of the embedded default cluster file (DEFAULT_CLUSTER_YAML through validateCluster),
 * i.e. the real thing `kubelab plan` would derive, not a hand-written stand-in.
 */
export const defaultPlan = (): Plan => planWith();

/**
 * The pinned upstream files the tests read (addon manifests and charts) and plans made from the
 * embedded default file. The upstream files are fetched by scripts/dev-tools/upstream.ts into
 * the dev cache through kubelab's own download cache, each checked against its sha256 (npm test
 * runs it first); reading them makes a test an integration test.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { fixturesStamp } from "../../scripts/dev-tools/upstream.js";
import { DEFAULT_CLUSTER_YAML } from "../../src/config/default-cluster.js";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import { PINNED } from "../../src/versions.js";
import { outsideHermetic } from "./prereq.js";
import { cacheDir } from "./tools.js";

/**
 * The laid-out upstream files, `<dev cache>/upstream/<project>/<tag>/<path>`; throws, with the
 * command that fetches them, when they are missing or older than scripts/dev-tools/upstream-files.tsv.
 */
export function fixturesDir(): string {
  outsideHermetic("the pinned upstream files (dev cache)");
  const dir = cacheDir("upstream");
  const stampFile = join(dir, ".complete");
  const stamp = existsSync(stampFile) ? readFileSync(stampFile, "utf8").trim() : undefined;
  if (stamp !== fixturesStamp()) {
    throw new Error(
      `the pinned upstream files are not in ${dir} (or are out of date): ` +
        "run `npx tsx scripts/dev-tools/upstream.ts fixtures` (npm test runs it before the integration tier)",
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

/**
 * labPlan is the default lab with `controlPlanes` control planes (master-N) and `workers`
 * workers (worker-N), addresses from 192.168.56.11 on; more than one control plane gets the
 * first one's address as its endpoint.
 */
export const labPlan = (controlPlanes: number, workers: number): Plan =>
  planWith((raw) => {
    raw.nodes = [
      { name: "master-{n}", role: "control-plane", count: controlPlanes },
      ...(workers > 0 ? [{ name: "worker-{n}", role: "worker", count: workers }] : []),
    ];
    if (controlPlanes > 1) raw.kubernetes.controlPlaneEndpoint = "192.168.56.11:6443";
  });

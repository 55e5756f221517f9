// Scratch directories for tests, under the system temp directory and always removed: the
// hermetic tier writes nowhere else outside the repository.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

/** tempDir makes a fresh directory named after `prefix`, removed when the test ends. */
export async function tempDir(t: Pick<TestContext, "after">, prefix = "kubelab-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** withDir runs `fn` with a fresh directory, removed once `fn` settles. */
export async function withDir<T>(fn: (dir: string) => Promise<T>, prefix = "kubelab-test-"): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * stateHome points XDG_STATE_HOME at a fresh directory for one test (restored after it), so
 * the cluster index kubelab keeps is never the user's; returns the index's path.
 */
export async function stateHome(t: Pick<TestContext, "after">): Promise<string> {
  const dir = await tempDir(t, "kubelab-state-");
  const old = process.env.XDG_STATE_HOME;
  process.env.XDG_STATE_HOME = dir;
  t.after(() => {
    if (old === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = old;
  });
  return join(dir, "kubelab", "clusters.json");
}

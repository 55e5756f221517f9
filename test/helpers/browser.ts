/**
 * A real browser for tests: Debian's Chromium (package `chromium`, installed by
 * scripts/dev-tools/install-deps.sh), headless, driven by playwright-core, which never
 * downloads a browser of its own. Each launch gets a fresh profile, and Chromium's background
 * connections (updates, sync, field trials, QUIC) are off: tests talk only to the lab's own
 * addresses.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { need } from "./prereq.js";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

const FLAGS = [
  // Tests run as root, where Chromium's sandbox cannot start.
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/**
 * launchBrowser starts headless Chromium, closed after the test; undefined (the test skipped,
 * or failed under CI) when the package is not installed.
 */
export async function launchBrowser(t: Pick<TestContext, "skip" | "after">): Promise<Browser | undefined> {
  if (
    !need(
      t,
      `Chromium at ${CHROMIUM}`,
      existsSync(CHROMIUM),
      "run scripts/dev-tools/install-deps.sh, which installs Debian's chromium",
    )
  )
    return undefined;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  t.after(() => browser.close());
  return browser;
}

/**
 * resultsDir is where tests leave what a person looks at afterwards (screenshots):
 * test-results/<name> in the repository, kept after the run and ignored by git.
 */
export async function resultsDir(name: string): Promise<string> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test-results", name);
  await mkdir(dir, { recursive: true });
  return dir;
}

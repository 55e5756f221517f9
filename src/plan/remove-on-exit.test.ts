// Files registered to go with the process are gone after an exit that skipped every finally
// block; one handed back before is left alone.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "../../test/helpers/tmp.js";

const execFileP = promisify(execFile);
const MODULE = fileURLToPath(new URL("./remove-on-exit.ts", import.meta.url));

test("registered paths are removed when the process exits at once", async (t) => {
  const dir = await tempDir(t);
  const secret = join(dir, "values-dir");
  const kept = join(dir, "kept");
  await mkdir(secret);
  await writeFile(join(secret, "values.yaml"), "issuer key\n");
  await writeFile(kept, "");
  const script = [
    `const { removeOnExit } = await import(${JSON.stringify(MODULE)});`,
    `removeOnExit(${JSON.stringify(secret)});`,
    `removeOnExit(${JSON.stringify(kept)})();`,
    // Never settles: only the exit event can clean up.
    "await new Promise(() => setTimeout(() => process.exit(130), 10));",
  ].join("\n");
  const r = await execFileP(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]).catch(
    (e: { code?: number }) => e,
  );
  assert.equal((r as { code?: number }).code, 130);
  assert.equal(existsSync(secret), false);
  assert.equal(existsSync(kept), true);
});

// Records the commit the package is built from in dist/build-info.json, which `kubelab
// version` reads: the commit is known at build time, in the checkout, and never asked of git
// later from a user's directory. Outside a git checkout the commit is "unknown".
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "HEAD"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
  const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  if (dirty.trim() !== "") commit += "-dirty";
} catch {
  // Not a git checkout (a source tarball): nothing to record.
}
writeFileSync(new URL("../dist/build-info.json", import.meta.url), `${JSON.stringify({ commit }, null, 2)}\n`);

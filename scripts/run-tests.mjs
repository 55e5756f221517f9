#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ (but test/vagrant/) with node:test (Node 20 does
// not expand globs itself). Extra arguments are passed to node, e.g. `npm test -- --test-name-pattern=plan`.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const VAGRANT = join("test", "vagrant");

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    // test/vagrant boots VMs under software emulation: `npm run test:vagrant` runs it.
    if (e.isDirectory()) return ["fixtures", "node_modules"].includes(e.name) || p === VAGRANT ? [] : find(p);
    return e.name.endsWith(".test.ts") ? [p] : [];
  });
}

const files = ["src", "test"].flatMap((d) => find(d)).sort();
// --test-timeout: a stuck test fails (after 15 min) instead of holding CI until its limit.
// --test-force-exit: once every test and its after-hooks have run (machines, bridges and
// servers are removed there), do not wait for stray sockets to nodes that no longer exist.
const args = [
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  "--test-timeout=900000",
  "--test-force-exit",
  ...process.argv.slice(2),
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);

#!/usr/bin/env node
// Runs kubelab's tests with node:test, by tier (Node 20 does not expand test globs itself):
//
//   node scripts/run-tests.mjs unit          the hermetic tier: every *.test.ts under src/ and
//                                            test/ (not *.int.test.ts, test/e2e, test/vagrant, test/lab,
//                                            test/upgrade):
//                                            no root, network, real tools or files outside the repo
//   node scripts/run-tests.mjs integration   *.int.test.ts and test/e2e: real containerd, kubeadm,
//                                            API server, sshd, nspawn nodes (the dev cache)
//   node scripts/run-tests.mjs all           unit, then integration (npm test; what CI runs)
//
// Arguments after the tier go to node, e.g. `npm run test:unit -- --test-name-pattern=plan`.
// test/vagrant (real VMs under software emulation), test/lab (the full default lab, Calico
// included, on nspawn nodes) and test/upgrade (a cluster upgraded in place, from a second
// pinned release built first) have their own scripts: npm run test:vagrant, npm run test:lab,
// npm run test:upgrade.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

const OWN_SUITES = [join("test", "vagrant"), join("test", "lab"), join("test", "upgrade")];
const E2E = join("test", "e2e");

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return ["fixtures", "node_modules"].includes(e.name) || OWN_SUITES.includes(p) ? [] : find(p);
    return e.name.endsWith(".test.ts") ? [p] : [];
  });
}

const all = ["src", "test"].flatMap((d) => find(d)).sort();
const isIntegration = (f) => f.endsWith(".int.test.ts") || f.startsWith(`${E2E}/`);
const TIERS = {
  unit: {
    files: all.filter((f) => !isIntegration(f)),
    // Hermetic tests are CPU-bound: one file per core.
    args: [`--test-concurrency=${availableParallelism()}`, "--test-timeout=120000"],
  },
  integration: {
    files: all.filter(isIntegration),
    // --test-timeout: a stuck test fails (after 15 min) instead of holding CI until its limit.
    // --test-force-exit: once every test and its after-hooks have run (machines, bridges and
    // servers are removed there), do not wait for stray sockets to nodes that no longer exist.
    args: ["--test-concurrency=2", "--test-timeout=900000", "--test-force-exit"],
  },
};

const [tier = "all", ...extra] = process.argv.slice(2);
const order = tier === "all" ? ["unit", "integration"] : [tier];
if (!order.every((t) => t in TIERS)) {
  process.stderr.write(`usage: node scripts/run-tests.mjs [unit|integration|all] [node args...]\n`);
  process.exit(2);
}

function run(args, env = {}) {
  const r = spawnSync(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...env } });
  return r.status ?? 1;
}

let status = 0;
for (const t of order) {
  process.stderr.write(`\n== ${t} tier: ${TIERS[t].files.length} files\n`);
  if (t === "integration") {
    // The pinned upstream files the integration tests read, through kubelab's download cache.
    const code = run(["--import", "tsx", join("scripts", "dev-tools", "upstream.ts"), "fixtures"]);
    if (code !== 0) {
      status = code;
      break;
    }
  }
  const code = run(["--import", "tsx", "--test", ...TIERS[t].args, ...extra, ...TIERS[t].files], {
    KUBELAB_TEST_TIER: t,
  });
  if (code !== 0) status = code;
}
process.exit(status);

/**
 * Fuzzing the cluster file the way a user meets it: generated files (test/helpers/cluster-fuzz.ts,
 * the unit tier's generator) each go through `kubelab validate -f FILE` and
 * `kubelab plan -f FILE -o json`, in-process, and each outcome is counted: valid (both exit 0,
 * plan's output is JSON), a clear error (exit 2, no stack trace, not reported as a bug, at most a
 * screen), or a failure, printed with its case and seed so it can be made again alone.
 * Not part of any test tier: it takes minutes.
 * Run: npx tsx bench/fuzz.ts [--count 10000] [--seed N] [--case I] [--show]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { run } from "../src/cli/main.js";
import { printable } from "../src/errors.js";
import { caseSeed, fuzzCluster, rng } from "../test/helpers/cluster-fuzz.js";

/** At most this many lines on stderr: an error a person reads must fit a screen. */
const SCREEN_LINES = 60;
/** …and lines no longer than this (a value echoed back is cut). */
const SCREEN_WIDTH = 500;

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "10000" },
    seed: { type: "string", default: "20261207" },
    case: { type: "string" },
    show: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);

interface Outcome {
  code: number;
  out: string;
  err: string;
}

async function kubelab(...argv: string[]): Promise<Outcome> {
  let out = "";
  let err = "";
  const code = await run(argv, {
    out: (s) => {
      out += s.endsWith("\n") ? s : `${s}\n`;
    },
    err: (s) => {
      err += s.endsWith("\n") ? s : `${s}\n`;
    },
    stdin: async () => "",
  });
  return { code, out, err };
}

/** Why an outcome is neither valid nor a clear error; undefined when it is one of those. */
function unclear(what: string, o: Outcome): string | undefined {
  if (o.code === 0) return undefined;
  if (o.code !== 2) return `${what}: exit ${o.code}`;
  if (/looks like a bug/.test(o.err)) return `${what}: reported as a bug`;
  if (/^\s+at .+:\d+:\d+\)?$/m.test(o.err)) return `${what}: stack trace`;
  if (!/^error: /m.test(o.err)) return `${what}: no error line`;
  if (printable(o.err) !== o.err) return `${what}: a control character reaches the terminal`;
  if (/YAML\.\w+\(|mapAsMap/.test(o.err)) return `${what}: the YAML library's advice to programmers`;
  const lines = o.err.trimEnd().split("\n");
  if (lines.length > SCREEN_LINES) return `${what}: ${lines.length} lines`;
  if (lines.some((l) => l.length > SCREEN_WIDTH)) return `${what}: a line over ${SCREEN_WIDTH} characters`;
  return undefined;
}

/** Process warnings (emitWarning) printed while a case ran. */
const warnings: string[] = [];
process.on("warning", (w) => warnings.push(w.message));

/** classify runs one file through both commands. */
async function classify(file: string): Promise<{ kind: "valid" | "clear" | "failure"; why?: string; err?: string }> {
  warnings.length = 0;
  const validate = await kubelab("validate", "-f", file);
  const plan = await kubelab("plan", "-f", file, "-o", "json");
  const why = unclear("validate", validate) ?? unclear("plan -o json", plan);
  // A process warning goes straight to the user's terminal, past kubelab's own output.
  if (warnings.length > 0) return { kind: "failure", why: `process warning: ${warnings[0]}` };
  if (why) return { kind: "failure", why, err: `${validate.err}\n${plan.err}` };
  if ((validate.code === 0) !== (plan.code === 0))
    return { kind: "failure", why: `validate exit ${validate.code}, plan exit ${plan.code}`, err: plan.err };
  if (plan.code !== 0) return { kind: "clear", err: `${validate.err}\n${plan.err}` };
  try {
    JSON.parse(plan.out);
  } catch {
    return { kind: "failure", why: "plan -o json printed no JSON", err: plan.out.slice(0, 2000) };
  }
  return { kind: "valid" };
}

const dir = await mkdtemp(join(tmpdir(), "kubelab-fuzz-"));
const file = join(dir, "kubelab.yaml");
const started = process.hrtime.bigint();
const tally = { valid: 0, clear: 0, failure: 0 };
const only = values.case === undefined ? undefined : Number(values.case);
try {
  for (let i = only ?? 0; i < (only === undefined ? count : only + 1); i++) {
    const { text, damage } = fuzzCluster(rng(caseSeed(seed, i)), i);
    await writeFile(file, text);
    const result = await classify(file);
    tally[result.kind]++;
    if (result.kind === "failure" || values.show) {
      console.log(
        `--- case ${i} (npx tsx bench/fuzz.ts --seed ${seed} --case ${i})${damage ? `, ${damage}` : ""}: ${result.why ?? result.kind}`,
      );
      console.log(text.length > 4000 ? `${text.slice(0, 4000)}\n… (${text.length} characters)` : text);
      if (result.err) console.log(`--- output:\n${result.err.slice(0, 4000)}`);
    }
    if (only === undefined && (i + 1) % 1000 === 0) console.error(`${i + 1} cases: ${JSON.stringify(tally)}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const total = tally.valid + tally.clear + tally.failure;
console.log(
  `${total} files (seed ${seed}): ${tally.valid} valid, ${tally.clear} clear errors, ${tally.failure} failures, ${seconds.toFixed(1)} s`,
);
process.exitCode = tally.failure > 0 ? 1 : 0;

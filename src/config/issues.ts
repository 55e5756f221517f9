/**
 * Config issues: one shape for schema errors, semantic errors and warnings, each able
 * to name `file:line:col`, what is wrong, and the fix.
 */
import { printable } from "../errors.js";
import { type ConfigPath, formatPath, type Position, type PositionedDocument, positionOf } from "./positions.js";

/** One problem (or warning) found in a cluster file. */
export interface ConfigIssue {
  readonly path: ConfigPath;
  readonly message: string;
  /** What to do about it. */
  readonly fix?: string;
  /** Point at the key rather than its value (unknown keys). */
  readonly atKey?: boolean;
}

/** Where a cluster file came from, for messages. */
export interface ConfigSource {
  /** File name as the user gave it, or "(embedded default)". */
  readonly file: string;
  /** Present for YAML sources: lets messages carry line:col. */
  readonly positions?: PositionedDocument;
}

/** A ConfigIssue placed in its source. */
export interface LocatedIssue extends ConfigIssue {
  readonly file: string;
  readonly position?: Position;
}

/** locate attaches file and line:col to issues. */
export function locate(issues: readonly ConfigIssue[], source: ConfigSource): LocatedIssue[] {
  return issues.map((i) => ({
    ...i,
    file: source.file,
    position: source.positions ? positionOf(source.positions, i.path, i.atKey) : undefined,
  }));
}

/**
 * formatIssue prints `file:line:col: path: message` and, indented, the fix. Keys and values
 * echoed from the file are made printable: a file's bytes never drive the terminal.
 */
export function formatIssue(issue: LocatedIssue, kind: "error" | "warning" = "error"): string {
  const where = issue.position ? `${issue.file}:${issue.position.line}:${issue.position.col}` : issue.file;
  const head = printable(`${where}: ${kind}: ${formatPath(issue.path)}: ${issue.message}`);
  return issue.fix ? `${head}\n  fix: ${printable(issue.fix)}` : head;
}

/** closest returns the candidate nearest to `word` by edit distance, if it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

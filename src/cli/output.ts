/**
 * What commands print for people and for scripts: `-o json|yaml` data through one formatter,
 * and text fitted to the terminal's width (never changed under a pipe).
 */
import { stringify } from "yaml";
import type { LocatedIssue } from "../config/issues.js";
import { formatPath } from "../config/positions.js";
import type { Io } from "./io.js";

/** OUTPUT_FORMATS are the values of -o/--output: text for people, json and yaml for scripts. */
export const OUTPUT_FORMATS = ["text", "json", "yaml"] as const;

/** One of OUTPUT_FORMATS. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** isData says whether a format is one for scripts (json, yaml); absent means text. */
export const isData = (format: OutputFormat | undefined): format is "json" | "yaml" =>
  format === "json" || format === "yaml";

/**
 * formatData writes data as JSON or YAML. YAML gets what JSON gets (undefined fields dropped,
 * dates as strings), so the two formats never disagree.
 */
export function formatData(format: "json" | "yaml", data: unknown): string {
  const json = JSON.stringify(data, null, 2);
  return format === "json" ? json : stringify(JSON.parse(json), { lineWidth: 0 }).trimEnd();
}

/** printOutput prints `data` for -o json|yaml, or `text()` (fitted to the terminal) for -o text. */
export function printOutput(
  io: Io,
  format: OutputFormat,
  data: unknown,
  text: () => string,
  fitting: Fitting = "wrap",
): void {
  io.out(format === "text" ? fit(io, text(), fitting) : formatData(format, data));
}

/** How a line wider than the terminal is fitted: wrapped (prose) or cut with `…` (table rows). */
export type Fitting = "wrap" | "cut";

/** fit makes each line of `text` as wide as the terminal at most; unchanged when io has no width. */
export function fit(io: Io, text: string, fitting: Fitting = "wrap"): string {
  const width = io.columns;
  if (!width || width < 20) return text;
  return text
    .split("\n")
    .flatMap((line) =>
      line.length <= width ? [line] : fitting === "cut" ? [cutLine(line, width)] : wrapLine(line, width),
    )
    .join("\n");
}

/** cutLine ends a line at `width` characters, the last one `…`. */
export function cutLine(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/** wrapLine breaks a line at spaces; continuation lines are indented two more than the first. */
export function wrapLine(line: string, width: number): string[] {
  // At most half the width, so every continuation line carries some of the text.
  const indent = " ".repeat(Math.min((/^ */.exec(line)?.[0].length ?? 0) + 2, Math.floor(width / 2)));
  const lines: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const head = lines.length === 0 ? 0 : indent.length;
    let at = rest.lastIndexOf(" ", width);
    // No space to break at after the indent: cut the word.
    if (at <= head) at = width;
    lines.push(rest.slice(0, at).trimEnd());
    rest = indent + rest.slice(at).trimStart();
  }
  lines.push(rest);
  return lines;
}

/** IssueData is a cluster-file error or warning as data: where (file, line, col, path), what, and the fix. */
export interface IssueData {
  readonly file: string;
  readonly line?: number;
  readonly col?: number;
  readonly path: string;
  readonly message: string;
  readonly fix?: string;
}

/** issueData turns a located issue into IssueData (the path as written in messages, like nodes[1].role). */
export function issueData(issue: LocatedIssue): IssueData {
  return {
    file: issue.file,
    line: issue.position?.line,
    col: issue.position?.col,
    path: formatPath(issue.path),
    message: issue.message,
    fix: issue.fix,
  };
}

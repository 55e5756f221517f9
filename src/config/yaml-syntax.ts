/**
 * YAML syntax errors as a user reads them: one parse mistake makes the parser report a cascade
 * of follow-on errors (an unquoted `{n}` inside a flow mapping gave dozens), so only the first
 * is reported, where it starts, with the mistake that most often causes it.
 */
import type { LineCounter, YAMLError } from "yaml";
import type { LocatedIssue } from "./issues.js";

/** Characters that end a plain value inside `{...}` or `[...]`. */
const FLOW_CHARS = /[{}[\],]/;

/** Messages of yaml's that address a programmer using the library, said for the user instead. */
const MESSAGES: Partial<Record<YAMLError["code"], string>> = {
  MULTIPLE_DOCS: "the file holds more than one document (a --- line starts the next)",
};

/** likelyCause names the usual mistake behind a YAML error, from its code and the line it is on. */
export function likelyCause(error: YAMLError, line: string): string {
  switch (error.code) {
    case "DUPLICATE_KEY":
      return "remove one of the two keys";
    case "MULTIPLE_DOCS":
      return "a cluster file is one document: remove the --- line and what follows it, or move that to a file of its own";
    case "TAB_AS_INDENT":
      return "indent with spaces; YAML does not allow tabs";
    case "BLOCK_AS_IMPLICIT_KEY":
    case "MULTILINE_IMPLICIT_KEY":
      return 'a value holding ": " must be quoted ("a: b"), or put the nested mapping on its own lines';
    case "BAD_SCALAR_START":
      return 'quote a value that starts with @ or ` ("@value")';
    case "MISSING_CHAR":
      if (/quote/i.test(error.message)) return "close the quote, or quote the whole value";
      return "check this line's indentation and its - or : against the lines above";
    default:
      if (FLOW_CHARS.test(line))
        return 'quote a value holding {, }, [, ] or "," (name: "worker-{n}"), or close the bracket it opens';
      return "check this line's indentation against the lines above: siblings line up, with spaces only";
  }
}

/**
 * syntaxIssues turns a document's errors into issues: every duplicate key, but only the first
 * syntax error, since the ones after it follow from it.
 */
export function syntaxIssues(
  errors: readonly YAMLError[],
  text: string,
  lines: LineCounter,
  file: string,
): LocatedIssue[] {
  const syntax = errors.filter((e) => e.code !== "DUPLICATE_KEY").sort((a, b) => a.pos[0] - b.pos[0]);
  const shown = syntax.length > 0 ? syntax.slice(0, 1) : errors;
  return shown.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    const line = text.split("\n")[pos.line - 1] ?? "";
    return {
      file,
      path: [],
      position: { line: pos.line, col: pos.col },
      message: `YAML: ${MESSAGES[e.code] ?? e.message.split("\n")[0]}`,
      fix: likelyCause(e, line),
    };
  });
}

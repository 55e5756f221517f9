/**
 * How deep YAML text nests, measured on the text before any parser sees it. yaml's parser
 * recurses once per level, and running out of stack inside it is not always an exception one
 * can catch (V8 may abort the process when it happens while compiling a regular expression),
 * so a file nested far deeper than any cluster file is refused before parsing.
 */

/** A line whose value starts a block scalar: `key: |`, `- >-`, `key: |2 # comment`. */
const BLOCK_SCALAR = /(?:^|[:-]\s)\s*[|>][0-9+-]*\s*(?:#.*)?$/;

/** nestingOf estimates the deepest nesting in `text`: block indentation levels plus open [ and {. */
export function nestingOf(text: string): number {
  const indents: number[] = [];
  let flow = 0;
  let deepest = 0;
  let quote: "'" | '"' | undefined;
  // Inside a block scalar (`key: |`), lines more indented than its key are text, not YAML.
  let scalarIndent: number | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    let i = 0;
    if (quote === undefined && flow === 0) {
      const indent = line.length - line.trimStart().length;
      const rest = line.slice(indent);
      if (rest === "" || rest.startsWith("#")) continue;
      if (scalarIndent !== undefined && indent > scalarIndent) continue;
      scalarIndent = BLOCK_SCALAR.test(rest) ? indent : undefined;
      while (indents.length > 0 && (indents.at(-1) ?? 0) >= indent) indents.pop();
      indents.push(indent);
      i = indent;
      // Compact sequences (`- - - x`) nest on one line.
      deepest = Math.max(deepest, indents.length + countDashes(rest));
    }
    for (; i < line.length; i++) {
      const c = line[i];
      if (quote !== undefined) {
        if (c === "\\" && quote === '"') i++;
        else if (c === quote) {
          if (quote === "'" && line[i + 1] === "'") i++;
          else quote = undefined;
        }
        continue;
      }
      const before = i === 0 ? " " : line[i - 1];
      if (c === "#" && (before === " " || before === "\t")) break;
      if ((c === "'" || c === '"') && /[\s[{,:]/.test(before ?? " ")) quote = c;
      else if (c === "[" || c === "{") {
        flow++;
        deepest = Math.max(deepest, indents.length + flow);
      } else if ((c === "]" || c === "}") && flow > 0) flow--;
    }
  }
  return deepest;
}

/** countDashes counts the sequence entries a line opens at its start (`- - x` opens two). */
function countDashes(rest: string): number {
  let n = 0;
  for (let i = 0; i < rest.length; ) {
    const c = rest[i];
    if ((c === "-" || c === "?") && (i + 1 === rest.length || rest[i + 1] === " ")) {
      n++;
      i++;
      while (rest[i] === " ") i++;
    } else break;
  }
  return n;
}

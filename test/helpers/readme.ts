// README.md read as the tests check it: its sections and the code shown in them.
import { readFile } from "node:fs/promises";

/** readme is README.md's text. */
export function readme(): Promise<string> {
  return readFile(new URL("../../README.md", import.meta.url), "utf8");
}

/** readmeSection is the text under `## heading`, up to the next `## ` heading; it throws when there is none. */
export function readmeSection(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** codeBlocks are the fenced blocks of `lang` (```js ...```) in `text`, without their fences. */
export function codeBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, "gm"))].map((m) => m[1] ?? "");
}

// src/ keeps the layer order of test/helpers/layer-order.ts: no folder imports one above it,
// and no folders import each other in a circle. The check itself is shown to catch both on a
// small tree written here.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkLayers, findImports } from "./helpers/layer-check.js";
import { LAYER_ORDER } from "./helpers/layer-order.js";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

test("src/ imports only downward (or beside, without cycles) in the layer order", () => {
  const problems = checkLayers(SRC, LAYER_ORDER);
  assert.equal(problems.length, 0, `\n${problems.join("\n")}`);
});

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "kubelab-layers-"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

test("the check names an upward import, a cycle between folders and a folder on no floor", async (t) => {
  const order = [["app"], ["left", "right"], ["base"]];
  const root = await tree({
    "app/main.ts": 'import { l } from "../left/l.js";\nexport const main = l;\n',
    // Beside each other is allowed, but not both ways: left -> right -> left.
    "left/l.ts": 'import type { R } from "../right/r.js";\nexport const l: R = 1;\n',
    "right/r.ts": 'export type R = number;\nexport const load = () => import("../left/l.js");\n',
    // Upward, twice: a static import, and an import() in a type.
    "base/b.ts":
      'import { main } from "../app/main.js";\nexport type M = typeof import("../right/r.js");\nexport const b = main;\n',
    // Not imports: a comment and a string. Test files are not read at all.
    "base/quiet.ts": '// import { main } from "../app/main.js";\nexport const s = \'import("../app/main.js")\';\n',
    "base/b.test.ts": 'import { main } from "../app/main.js";\n',
    "stray/s.ts": "export const s = 1;\n",
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const at = (path: string) => join(basename(root), path);

  assert.deepEqual(checkLayers(root, order), [
    `${at("base/b.ts")}:1 imports "../app/main.js" upward: base is below app`,
    `${at("base/b.ts")}:2 imports "../right/r.js" upward: base is below right`,
    `${at("stray/s.ts")}: stray is on no floor of the layer order`,
    `cycle between folders left -> right -> left: ${at("left/l.ts")}:1 imports "../right/r.js"; ${at("right/r.ts")}:2 imports "../left/l.js"`,
  ]);
});

test("imports are found in every form, and never in comments, strings or regular expressions", () => {
  const text = [
    'import {\n  a,\n  type B,\n} from "./multi.js";',
    'import * as ns from "../star.js";',
    'import "./side-effect.js";',
    'export * from "./re-export.js";',
    'export type { T } from "./types.js";',
    'const quoted = /["\'\\/]/; // import("./after-regex.js")',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal, on purpose
    'const tpl = `${"//"} ${`nested ${1}`}`; /* import("./in-block.js") */',
    'const late = await import("./dynamic.js");',
    'import base from "node:path";',
  ].join("\n");
  assert.deepEqual(
    findImports(text).map((i) => `${i.line} ${i.specifier}`),
    ["1 ./multi.js", "5 ../star.js", "6 ./side-effect.js", "7 ./re-export.js", "8 ./types.js", "11 ./dynamic.js"],
  );
});

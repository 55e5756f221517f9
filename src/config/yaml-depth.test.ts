import assert from "node:assert/strict";
import { it } from "node:test";
import { clusterTemplate, TEMPLATE_PROVIDERS } from "./default-cluster.js";
import { nestingOf } from "./yaml-depth.js";

it("nestingOf counts block levels, compact sequences and open brackets", () => {
  assert.equal(nestingOf("a: 1\n"), 1);
  assert.equal(nestingOf("a:\n  b:\n    c: 1\n  d: 2\n"), 3);
  assert.equal(nestingOf("a:\n  - - - x\n"), 5);
  assert.equal(nestingOf("a: [[1], {b: [2]}]\n"), 4);
  assert.equal(nestingOf(`a: ${"[".repeat(500)}`), 501);
});

it("nestingOf skips brackets in quotes and comments, and the lines of a flow collection", () => {
  assert.equal(nestingOf('a: \'[[[[\' # [[[[\nb: "{{\\"{{"\n'), 1);
  assert.equal(nestingOf("a: [\n      1,\n          2]\nb: 1\n"), 2);
  assert.equal(nestingOf("a: it's [x]\n"), 2);
});

it("nestingOf reads a block scalar's lines as text, and what follows it as YAML again", () => {
  const script = "run: |\n  echo 'it\n      [[[[ {{{{\n";
  assert.equal(nestingOf(script), 1);
  assert.equal(nestingOf(`${script}b: ${"[".repeat(300)}\n`), 301);
  assert.equal(nestingOf("- >-\n  text [[[\n- a:\n    b: 1\n"), 2);
});

it("every template kubelab init writes nests a few levels, far below the limit", () => {
  for (const provider of TEMPLATE_PROVIDERS) assert.ok(nestingOf(clusterTemplate(provider)) < 10, provider);
});

// Every command's help ends with examples: a command added without any fails here.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { kubelab } from "../../test/helpers/cli.js";
import { buildProgram } from "./main.js";

/** Every command path of the program: [] for kubelab itself, ["bundle", "create"], ... */
function commandPaths(cmd: CommandUnknownOpts, path: string[] = []): string[][] {
  return [path, ...cmd.commands.flatMap((sub) => commandPaths(sub, [...path, sub.name()]))];
}

describe("help", () => {
  const paths = commandPaths(buildProgram({ out: () => {}, err: () => {} }));

  it("walks the sub-commands too", () => {
    const names = paths.map((p) => p.join(" "));
    for (const want of ["plan", "bundle create", "image bake", "doctor dump"]) assert.ok(names.includes(want), want);
  });

  for (const path of paths) {
    it(`kubelab ${path.join(" ")} --help ends with examples`, async () => {
      const r = await kubelab(...path, "--help");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /\nExamples:\n( {2}kubelab .*\n)+/, r.out);
      const examples = r.out.slice(r.out.indexOf("Examples:"));
      assert.ok(examples.includes(`kubelab ${path.join(" ")}`.trim()), `examples use the command itself:\n${examples}`);
    });
  }

  for (const command of ["validate", "plan"]) {
    it(`kubelab ${command} --help says that a TypeScript cluster file is run as code`, async () => {
      const r = await kubelab(command, "--help");
      const text = r.out.replace(/\s+/g, " ");
      assert.match(text, /kubelab\.config\.ts/);
      assert.match(text, /a \.ts file is run as code/, r.out);
    });
  }
});

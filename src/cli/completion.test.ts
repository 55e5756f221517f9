// kubelab completion: the scripts come from the program's own commands, so every command is in them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { kubelab } from "../../test/helpers/cli.js";
import { allCommands, commandSpec } from "./completion/spec.js";
import { buildProgram } from "./main.js";

const silent = { out: () => {}, err: () => {} };
const spec = commandSpec(buildProgram(silent) as unknown as CommandUnknownOpts);

describe("kubelab completion", () => {
  it("walks every command, subcommands and aliases included", () => {
    const paths = allCommands(spec).map((c) => c.path.join(" "));
    for (const p of ["kubelab get clusters", "kubelab doctor dump", "kubelab bundle create", "kubelab version"]) {
      assert.ok(paths.includes(p), p);
    }
    const clusters = allCommands(spec).find((c) => c.path.join(" ") === "kubelab get clusters");
    assert.deepEqual(clusters?.names, ["clusters", "cluster"]);
    const status = allCommands(spec).find((c) => c.path.join(" ") === "kubelab status");
    const value = (flag: string) => status?.options.find((o) => o.flags.includes(flag));
    assert.equal(value("--file")?.value, "file");
    assert.equal(value("--name")?.value, "cluster");
    assert.deepEqual(value("--output")?.choices, ["text", "json", "yaml"]);
  });

  for (const shell of ["bash", "zsh", "fish"]) {
    it(`${shell}: names every command and every option`, async () => {
      const r = await kubelab("completion", shell);
      assert.equal(r.code, 0, r.err);
      for (const c of allCommands(spec).slice(1)) {
        assert.ok(r.out.includes(c.path.join(" ")), `${shell}: ${c.path.join(" ")}`);
        for (const o of c.options) for (const f of o.flags) assert.ok(r.out.includes(f.replace(/^--?/, "")), f);
      }
    });
  }

  it("an unknown shell is a usage error naming the choices", async () => {
    const r = await kubelab("completion", "tcsh");
    assert.equal(r.code, 2);
    assert.match(r.err, /bash, zsh, fish/);
  });
});

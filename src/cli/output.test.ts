// The shared output pieces: data formats, fitting text to a terminal, and `-o=json` in argv.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command, Option } from "@commander-js/extra-typings";
import { parse } from "yaml";
import { splitShortValues } from "./options.js";
import { cutLine, fit, formatData, wrapLine } from "./output.js";

describe("output", () => {
  it("json and yaml carry the same data, undefined fields left out", () => {
    const data = { a: 1, b: undefined, c: [{ d: "x: y" }], e: new Date(0) };
    const json = JSON.parse(formatData("json", data));
    assert.deepEqual(parse(formatData("yaml", data)), json);
    assert.equal("b" in json, false);
    assert.equal(json.e, "1970-01-01T00:00:00.000Z");
  });

  it("a wrapped line keeps its words and indents what follows", () => {
    const line = "    fix: set addons.metallb.enabled to true, or give the UI service another way in";
    const lines = wrapLine(line, 30);
    assert.ok(
      lines.every((l) => l.length <= 30),
      lines.join("\n"),
    );
    assert.ok(lines.slice(1).every((l) => l.startsWith("      ")));
    assert.equal(lines.map((l) => l.trim()).join(" "), line.trim());
    assert.deepEqual(wrapLine("x".repeat(50), 20), ["x".repeat(20), `  ${"x".repeat(18)}`, `  ${"x".repeat(12)}`]);
  });

  it("a cut line ends in … at the width", () => {
    assert.equal(cutLine("abcdef", 4), "abc…");
    assert.equal(cutLine("abc", 4), "abc");
  });

  it("fit changes nothing without a terminal width", () => {
    const text = `${"word ".repeat(40)}\nshort`;
    const io = { out: () => {}, err: () => {} };
    assert.equal(fit(io, text), text);
    const fitted = fit({ ...io, columns: 40 }, text, "cut").split("\n");
    assert.deepEqual(
      fitted.map((l) => l.length),
      [40, 5],
    );
  });

  it("-o=json is -o json for short options with a value, and nothing after --", () => {
    const program = new Command("p").option("-q").addOption(new Option("-o, --output <f>"));
    program.command("ssh").option("-f, --file <file>");
    assert.deepEqual(splitShortValues(program, ["plan", "-o=json", "-f=a=b", "-q=x", "--output=yaml"]), [
      "plan",
      "-o",
      "json",
      "-f",
      "a=b",
      "-q=x",
      "--output=yaml",
    ]);
    assert.deepEqual(splitShortValues(program, ["ssh", "n", "--", "ls", "-o=x"]), ["ssh", "n", "--", "ls", "-o=x"]);
  });
});

// Cluster files that cannot be read as one: each is one clear error (syntax, alias bombs, size,
// a kubelab.config.ts that throws or does not compile), never a stack trace.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { loadCluster } from "../plan/load-cluster.js";
import { formatResult, validateCluster } from "../plan/validate.js";
import { MAX_FILE_BYTES, parseYamlSource } from "./load.js";

const errorsOf = (text: string) => {
  const r = parseYamlSource(text, "lab.yaml");
  assert.ok("errors" in r, "expected errors");
  return r.errors;
};

describe("YAML syntax errors", () => {
  it("an unquoted {n} in a flow mapping is one error, where it starts, saying to quote it", () => {
    const errors = errorsOf("name: lab\nnodes:\n  - {name: worker-{n}, role: worker, count: 2}\n");
    assert.equal(errors.length, 1);
    assert.deepEqual(errors[0]?.position, { line: 3, col: 19 });
    assert.match(errors[0]?.fix ?? "", /quote a value holding \{/);
  });

  it("names the usual cause: tabs, nested compact mappings, an open quote", () => {
    assert.match(errorsOf("a:\n\tb: 1\n")[0]?.fix ?? "", /spaces/);
    assert.match(errorsOf("a: b: c\n")[0]?.fix ?? "", /must be quoted/);
    assert.match(errorsOf("a: 'x\n")[0]?.fix ?? "", /close the quote/);
  });

  // Found by the fuzzer: yaml's own advice (YAML.parseAllDocuments()) was passed on to the user.
  it("a second document is one error saying to remove the --- line", () => {
    const errors = errorsOf("name: lab\n---\nname: other\n");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.message, "YAML: the file holds more than one document (a --- line starts the next)");
    assert.match(errors[0]?.fix ?? "", /remove the --- line/);
  });

  it("still reports every duplicate key", () => {
    assert.equal(errorsOf("a: 1\na: 2\nb: 1\nb: 2\n").length, 2);
  });

  it("an alias bomb is an error, not a resource exhaustion", () => {
    const rows = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [i, name] of ["b", "c", "d", "e", "f", "g", "h"].entries()) {
      const prev = String.fromCharCode(97 + i);
      rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const errors = errorsOf(`${rows.join("\n")}\n`);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? "", /aliases .* expand too far/);
  });

  // Found by the fuzzer: yaml's parser recursed until the stack ran out (a "looks like a bug").
  it("values nested thousands of levels deep are one error, not a stack overflow", () => {
    const deep = [
      `name: ${"[".repeat(20000)}1${"]".repeat(20000)}\n`,
      `name: ${"{a: ".repeat(20000)}1${"}".repeat(20000)}\n`,
      `name:\n${Array.from({ length: 1000 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")} 1\n`,
      `name: ${"[".repeat(100)}1${"]".repeat(100)}\n`,
      "a: &a [*a]\n",
    ];
    for (const text of deep) {
      const errors = errorsOf(text);
      assert.equal(errors.length, 1, text.slice(0, 80));
      assert.match(errors[0]?.message ?? "", /nest more than 64 levels/);
    }
  });

  // Found by the fuzzer: stray bytes in a key were echoed raw, and an escape sequence drives a terminal.
  it("control characters and bidirectional overrides in an echoed key are escaped", () => {
    const r = parseYamlSource('"na\\u001b[2Jme\\u202e": lab\n', "lab.yaml");
    assert.ok(!("errors" in r));
    const text = formatResult(validateCluster(r.raw, r.source));
    assert.match(text, /unknown key "na\\u001b\[2Jme\\u202e"/);
    assert.ok(!text.includes("\u001b") && !text.includes("\u202e"), text);
  });

  // Found by the fuzzer: yaml printed a process warning to the terminal for `? [a]`.
  it("a mapping or list as a key is an unknown key, with no process warning", async () => {
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on("warning", listen);
    try {
      const r = parseYamlSource("? [a]\n: b\n", "lab.yaml");
      assert.ok(!("errors" in r));
      const result = validateCluster(r.raw, r.source);
      assert.ok(!result.ok);
      assert.ok(result.errors.some((e) => /unknown key "\[ a \]"/.test(e.message)));
      await new Promise((done) => setImmediate(done));
      assert.deepEqual(warnings, []);
    } finally {
      process.off("warning", listen);
    }
  });
});

describe("cluster files that cannot be read", () => {
  const userError = async (file: string, message: RegExp) => {
    await assert.rejects(loadCluster(file), (e) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, message);
      assert.ok(e.hint, "a hint says what to do");
      return true;
    });
  };

  it("a file over 1 MiB, or a directory", async (t) => {
    const dir = await tempDir(t);
    const big = join(dir, "big.yaml");
    await writeFile(big, `# ${"x".repeat(MAX_FILE_BYTES)}\n`);
    await userError(big, /at most 1048576/);
    await userError(dir, /is a directory/);
  });

  it("a kubelab.config.ts that throws, or does not compile", async (t) => {
    const dir = await tempDir(t);
    const throws = join(dir, "throws.config.ts");
    await writeFile(throws, 'throw new Error("no cluster today");\n');
    await userError(throws, /failed to load: no cluster today/);
    const broken = join(dir, "broken.config.ts");
    await writeFile(broken, "export default {{{\n");
    await userError(broken, /failed to load: .*broken\.config\.ts:1:\d+/);
  });
});

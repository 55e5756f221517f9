// Cluster files that cannot be read as one: each is one clear error (syntax, alias bombs, size,
// a kubelab.config.ts that throws or does not compile), never a stack trace.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/tmp.js";
import { UserError } from "../errors.js";
import { loadCluster } from "../plan/load-cluster.js";
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

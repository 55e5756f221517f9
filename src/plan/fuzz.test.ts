import assert from "node:assert/strict";
import { it } from "node:test";
import { caseSeed, fuzzCluster, rng } from "../../test/helpers/cluster-fuzz.js";
import { parseYamlSource } from "../config/load.js";
import { validateCluster } from "./validate.js";

/** The unit tier's seed; bench/fuzz.ts runs many more cases from the same generator. */
const SEED = 20261128;

it("2,400 mutated cluster files each give a plan or config errors, never a crash", () => {
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < 2400; i++) {
    const { text, damage } = fuzzCluster(rng(caseSeed(SEED, i)), i);
    const context = `case ${i} (seed ${SEED}${damage ? `, ${damage}` : ""}):\n${text.slice(0, 4000)}`;
    let loaded: ReturnType<typeof parseYamlSource>;
    try {
      loaded = parseYamlSource(text, "fuzz.yaml");
    } catch (e) {
      assert.fail(`parse crashed: ${(e as Error).stack}\n${context}`);
    }
    if ("errors" in loaded) {
      assert.ok(loaded.errors.length > 0, context);
      invalid++;
      continue;
    }
    let result: ReturnType<typeof validateCluster>;
    try {
      result = validateCluster(loaded.raw, loaded.source);
    } catch (e) {
      assert.fail(`validateCluster threw ${(e as Error).stack}\n${context}`);
    }
    if (result.ok) {
      assert.ok(result.plan.nodes.length > 0, context);
      valid++;
    } else {
      assert.ok(result.errors.length > 0, context);
      for (const e of result.errors) assert.ok(typeof e.message === "string" && e.message.length > 0, context);
      invalid++;
    }
  }
  // The mutations must exercise both outcomes, or the test proves nothing.
  assert.ok(valid > 100 && invalid > 1000, `valid ${valid}, invalid ${invalid}`);
});

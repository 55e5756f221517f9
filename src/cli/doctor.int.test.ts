// `kubelab doctor dump` of an nspawn cluster whose machines do not exist: it says what it could
// not read, and --from still checks the file.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parse, stringify } from "yaml";
import { kubelab } from "../../test/helpers/cli.js";
import { requireNspawn } from "../../test/helpers/nspawn.js";
import { tempDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import type { Evidence } from "../doctor/types.js";

test("doctor dump of a cluster that is not up: says what it could not read, masks secrets, and --from checks the file", async (t) => {
  if (!requireNspawn(t)) return;
  const dir = await tempDir(t);
  const raw = parse(DEFAULT_CLUSTER_YAML);
  raw.metadata.name = `doc${Math.floor(Math.random() * 1e6)}`;
  raw.provider = { name: "nspawn" };
  const file = join(dir, "kubelab.yaml");
  await writeFile(file, stringify(raw));
  const dumped = await kubelab("doctor", "dump", "-f", file, "--out", join(dir, "dump"));
  assert.equal(dumped.code, 0, dumped.err);
  assert.match(dumped.err, /not collected: nodes: no machine of this cluster is running/);
  assert.match(dumped.err, /not collected: api: no kubeconfig at/);
  const evidence = JSON.parse(await readFile(join(dir, "dump", "evidence.json"), "utf8")) as Evidence;
  assert.equal((evidence.file as { metadata: { name: string } }).metadata.name, raw.metadata.name);
  const checked = await kubelab("doctor", "--from", join(dir, "dump"));
  assert.equal(checked.code, 0, checked.out);
  assert.match(checked.out, /0 failed/);
});

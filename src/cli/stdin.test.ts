// `-f -`: the cluster file from standard input, YAML only, its problems at <stdin>:line:col.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { kubelabIn } from "../../test/helpers/cli.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";
import { clusterDir } from "../plan/cluster-dir.js";
import { validateCluster } from "../plan/validate.js";

describe("-f - reads the cluster file from stdin", () => {
  it("plan and validate read it", async () => {
    const stdin = DEFAULT_CLUSTER_YAML.replace("name: lab", "name: piped");
    const r = await kubelabIn({ stdin }, "plan", "-f", "-", "-o", "json");
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).context, "kubelab-piped");
    assert.equal(r.err, "", "no note about the built-in lab");
    const v = await kubelabIn({ stdin }, "validate", "-f", "-");
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /^<stdin>: valid \(3 nodes\)/);
  });

  it("its problems are at <stdin>:line:col", async () => {
    const stdin = DEFAULT_CLUSTER_YAML.replace("role: worker", "role: wrker");
    const r = await kubelabIn({ stdin }, "plan", "-f", "-");
    assert.equal(r.code, 2);
    assert.match(r.err, /^<stdin>:21:11: error: nodes\[1\]\.role/m);
    assert.match(r.err, /error: <stdin> has 1 error/);
    const syntax = await kubelabIn({ stdin: "nodes: [\n" }, "validate", "-f", "-");
    assert.equal(syntax.code, 2);
    assert.match(syntax.err, /^<stdin>:\d+:\d+: error: /m);
  });

  it("a TypeScript config is refused by name", async () => {
    const stdin = 'import { defineCluster } from "kubelab";\nexport default defineCluster({});\n';
    const r = await kubelabIn({ stdin }, "validate", "-f", "-");
    assert.equal(r.code, 2);
    assert.match(r.err, /error: <stdin> looks like a TypeScript config; -f - reads YAML only/);
    assert.match(r.err, /hint: pass the \.ts file by name/);
  });

  it("the cluster directory of stdin is the working directory's", () => {
    const result = validateCluster(parse(DEFAULT_CLUSTER_YAML));
    assert.ok(result.ok);
    assert.equal(clusterDir(result.plan, "-", "/work/here"), "/work/here/.kubelab/lab");
    assert.equal(clusterDir(result.plan, "labs/a.yaml", "/work/here"), "/work/here/labs/.kubelab/lab");
  });
});

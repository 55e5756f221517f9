// The kubelab CLI in-process, on the embedded default file and files written to a temporary
// directory: plan, validate, init, schema, usage errors.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { kubelab } from "../../test/helpers/cli.js";
import { withDir } from "../../test/helpers/tmp.js";
import { DEFAULT_CLUSTER_YAML } from "../config/default-cluster.js";

describe("kubelab CLI", () => {
  it("plan prints the default lab with its network map", async () => {
    assert.equal((await kubelab("plan", "-f", "/nonexistent/kubelab.yaml")).code, 2, "a missing file is invalid input");
    const r = await withDir(async (dir) => {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        return await kubelab("plan");
      } finally {
        process.chdir(cwd);
      }
    });
    assert.equal(r.code, 0, r.err);
    for (const want of [
      "master-1",
      "192.168.56.11",
      "worker-2",
      "192.168.56.13",
      ".46-.56",
      "MetalLB pool (11 addresses)",
      "DHCP range",
      "192.168.112.0/20",
      "10.96.0.0/12",
      "v1.37.2",
    ]) {
      assert.ok(r.out.includes(want), `missing ${want} in:\n${r.out}`);
    }
  });

  it("plan --output json is the plan", async () => {
    await withDir(async (dir) => {
      const file = join(dir, "lab.yaml");
      await writeFile(file, DEFAULT_CLUSTER_YAML);
      const r = await kubelab("plan", "-f", file, "--output", "json");
      assert.equal(r.code, 0, r.err);
      const plan = JSON.parse(r.out);
      assert.equal(plan.nodes.length, 3);
      assert.equal(plan.context, "kubelab-lab");
      assert.equal(plan.addons.cni.encapsulation, "ipip");
    });
  });

  it("validate: 0 for a good file, 2 with every error for a bad one", async () => {
    await withDir(async (dir) => {
      const good = join(dir, "good.yaml");
      await writeFile(good, DEFAULT_CLUSTER_YAML);
      assert.equal((await kubelab("validate", "-f", good)).code, 0);
      const bad = join(dir, "bad.yaml");
      await writeFile(
        bad,
        DEFAULT_CLUSTER_YAML.replace("role: worker", "role: wrker").replace(
          "cidr: 192.168.56.0/24",
          "cidr: 192.168.56.0/33",
        ),
      );
      const r = await kubelab("validate", "-f", bad);
      assert.equal(r.code, 2);
      assert.match(r.err, /bad\.yaml:21:11: error: nodes\[1\]\.role: string "wrker" is not allowed/);
      assert.match(r.err, /bad\.yaml:27:9: error: network\.cidr: must be an IPv4 CIDR/);
      assert.match(r.err, /error: .*bad\.yaml has 2 errors/);
      assert.doesNotMatch(r.err, /at .*\.ts:\d+/, "no stack trace for user errors");
    });
  });

  it("init writes the default file once; it parses to the default", async () => {
    await withDir(async (dir) => {
      const file = join(dir, "kubelab.yaml");
      assert.equal((await kubelab("init", "-f", file)).code, 0);
      assert.deepEqual(parse(await readFile(file, "utf8")), parse(DEFAULT_CLUSTER_YAML));
      const again = await kubelab("init", "-f", file);
      assert.equal(again.code, 2);
      assert.match(again.err, /already exists/);
      assert.equal((await kubelab("init", "-f", file, "--force")).code, 0);
    });
  });

  it("init --provider writes the same lab for each provider, and each file validates and plans", async () => {
    await withDir(async (dir) => {
      const plans = [];
      for (const provider of ["vagrant", "nspawn", "ssh"]) {
        const file = join(dir, `${provider}.yaml`);
        const init = await kubelab("init", "--provider", provider, "-f", file);
        assert.equal(init.code, 0, init.err);
        assert.match(init.out, new RegExp(`provider ${provider}`));
        const validate = await kubelab("validate", "-f", file);
        assert.equal(validate.code, 0, validate.err);
        assert.doesNotMatch(validate.err, /warning/, `${provider}: the template has nothing to warn about`);
        const plan = JSON.parse((await kubelab("plan", "-f", file, "-o", "json")).out);
        assert.equal(plan.provider.name, provider);
        plans.push({ nodes: plan.nodes.map((n: { name: string; ip: string }) => [n.name, n.ip]), addons: plan.addons });
      }
      assert.deepEqual(plans[1], plans[0], "nspawn: the same nodes, addresses and addons");
      assert.deepEqual(plans[2], plans[0], "ssh: the same nodes, addresses and addons");
      const bad = await kubelab("init", "--provider", "docker", "-f", join(dir, "x.yaml"));
      assert.equal(bad.code, 2);
      assert.match(bad.err, /vagrant, nspawn, ssh/);
    });
  });

  it("a file that changes network.cidr and sets no pool gets its pool in the new network", async () => {
    await withDir(async (dir) => {
      const file = join(dir, "lab.yaml");
      assert.equal((await kubelab("init", "--provider", "nspawn", "-f", file)).code, 0);
      const text = (await readFile(file, "utf8")).replaceAll("192.168.56.", "10.20.30.");
      await writeFile(file, text);
      const r = await kubelab("plan", "-f", file, "-o", "json");
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out).addons.metallb.pools, ["10.20.30.46-10.20.30.56"]);
      await writeFile(file, text.replace("10.20.30.0/24", "10.20.30.0/27").replace("10.20.30.11", "10.20.30.2"));
      const small = await kubelab("validate", "-f", file);
      assert.equal(small.code, 2);
      assert.match(small.err, /too small for the default LoadBalancer pool/);
      assert.match(small.err, /set addons\.metallb\.pools/);
    });
  });

  it("usage errors exit 2; --help exits 0", async () => {
    assert.equal((await kubelab("frobnicate")).code, 2);
    assert.equal((await kubelab("plan", "--output", "xml")).code, 2);
    assert.equal((await kubelab("--help")).code, 0);
  });

  it("schema prints a JSON Schema", async () => {
    const r = await kubelab("schema");
    assert.equal(JSON.parse(r.out).$schema, "https://json-schema.org/draft/2020-12/schema");
  });

  it("ui with ui: none says the cluster has no UI and how to get one (exit 2, before any connection)", async () => {
    await withDir(async (dir) => {
      const file = join(dir, "lab.yaml");
      const raw = parse(DEFAULT_CLUSTER_YAML) as { addons: Record<string, unknown> };
      raw.addons.ui = "none";
      await writeFile(file, JSON.stringify(raw));
      const r = await kubelab("ui", "-f", file, "--open");
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /no web UI: its file says addons\.ui: none/);
      assert.match(r.err, /set addons\.ui to headlamp/);
      assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    });
  });

  it("without a cluster file, a command says once that it uses the built-in lab; init and schema do not", async () => {
    const note = "no kubelab.yaml here; using the built-in lab (kubelab init writes it)";
    const count = (text: string) => text.split(note).length - 1;
    await withDir(async (dir) => {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        for (const argv of [["plan"], ["validate"]]) {
          const r = await kubelab(...argv);
          assert.equal(r.code, 0, r.err);
          assert.equal(count(r.err), 1, `${argv.join(" ")}: the note once on stderr:\n${r.err}`);
          assert.equal(count(r.out), 0, "stdout stays the command's output");
        }
        assert.equal(count((await kubelab("schema")).err), 0);
        const init = await kubelab("init");
        assert.equal(init.code, 0, init.err);
        assert.equal(count(init.err), 0);
        const found = await kubelab("plan");
        assert.equal(found.code, 0, found.err);
        assert.equal(count(found.err), 0, "a kubelab.yaml here is used, without the note");
      } finally {
        process.chdir(cwd);
      }
    });
  });
});

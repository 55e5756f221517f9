// The real-tool harness itself: Debian's containerd 1.6 and a containerd 2.x
// build load configs in their own layout, and a broken file is rejected.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "smol-toml";
import { containerdConfigDump, requireTool } from "./helpers/tools.js";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubelab-tools-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

// An untyped TOML tree: the assertions themselves check its shape.
type Tree = any;

test("containerd 1.x loads a version = 2 config", async (t) => {
  const bin = requireTool(t, "containerd1");
  if (!bin) return;
  const cfg = await writeConfig(
    "v2.toml",
    `version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
`,
  );
  const dump = await containerdConfigDump(bin, cfg);
  assert.match(dump, /SystemdCgroup = true/);
  const tree: Tree = parse(dump);
  assert.equal(tree.plugins["io.containerd.grpc.v1.cri"].containerd.runtimes.runc.options.SystemdCgroup, true);
});

test("containerd 2.x loads a version = 3 config", async (t) => {
  const bin = requireTool(t, "containerd2");
  if (!bin) return;
  const cfg = await writeConfig(
    "v3.toml",
    `version = 3

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = 'registry.k8s.io/pause:3.10.1'
`,
  );
  const dump = await containerdConfigDump(bin, cfg);
  assert.match(dump, /SystemdCgroup = true/);
  assert.match(dump, /sandbox = 'registry\.k8s\.io\/pause:3\.10\.1'/);
  const tree: Tree = parse(dump);
  assert.equal(tree.plugins["io.containerd.cri.v1.runtime"].containerd.runtimes.runc.options.SystemdCgroup, true);
  assert.equal(tree.plugins["io.containerd.cri.v1.images"].pinned_images.sandbox, "registry.k8s.io/pause:3.10.1");
});

for (const tool of ["containerd1", "containerd2"] as const) {
  test(`a broken TOML file makes containerdConfigDump reject (${tool})`, async (t) => {
    const bin = requireTool(t, tool);
    if (!bin) return;
    const cfg = await writeConfig(`broken-${tool}.toml`, "version = 2\n[plugins.'io.containerd\nSystemdCgroup = \n");
    await assert.rejects(containerdConfigDump(bin, cfg), /config dump failed/);
    // containerd itself would silently dump its defaults for a missing file.
    await assert.rejects(containerdConfigDump(bin, join(dir, "missing.toml")), /no such file/);
  });
}

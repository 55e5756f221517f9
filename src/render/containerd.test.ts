import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { parse as parseToml } from "smol-toml";
import { parseAllDocuments } from "yaml";
import { containerdConfigDump, requireTool } from "../../test/helpers/tools.js";
import { loadCluster } from "../config/load.js";
import type { Plan } from "../plan/types.js";
import { containerdConfig, kubeletCgroupDriver, renderContainerdConfig } from "./containerd.js";
import { renderKubeadmInit } from "./kubeadm.js";
import { type NodeEnvironment, PLAIN_NODE } from "./node-environment.js";

const execFileP = promisify(execFile);
const CONTAINER: NodeEnvironment = { container: true, cgroupV1: false };

async function defaultPlan(): Promise<Plan> {
  const r = await loadCluster(undefined);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

type Line = "2.x" | "1.7";
type Driver = "systemd" | "cgroupfs";
const VARIANTS = (["2.x", "1.7"] as const).flatMap((line) =>
  (["systemd", "cgroupfs"] as const).map((driver) => ({ line, driver })),
);

/** The default plan switched to another containerd line and cgroup driver (as buildPlan would). */
function variant(plan: Plan, line: Line, driver: Driver, pause = plan.kubernetes.images.pause): Plan {
  return {
    ...plan,
    kubernetes: { ...plan.kubernetes, images: { ...plan.kubernetes.images, pause } },
    containerd: { ...plan.containerd, line, configVersion: line === "2.x" ? 3 : 2, cgroupDriver: driver },
  };
}

/** Walks a parsed TOML/YAML tree; undefined when any step is missing. */
function at(tree: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined),
    tree,
  );
}

/** Where each schema keeps the CRI settings kubelab writes. */
const KEYS = {
  "2.x": {
    runc: ["plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", "runc"],
    sandbox: ["plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"],
    oom: ["plugins", "io.containerd.cri.v1.runtime", "restrict_oom_score_adj"],
    cniBin: ["plugins", "io.containerd.cri.v1.runtime", "cni", "bin_dirs"],
    cniBinValue: ["/opt/cni/bin"] as unknown,
  },
  "1.7": {
    runc: ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc"],
    sandbox: ["plugins", "io.containerd.grpc.v1.cri", "sandbox_image"],
    oom: ["plugins", "io.containerd.grpc.v1.cri", "restrict_oom_score_adj"],
    cniBin: ["plugins", "io.containerd.grpc.v1.cri", "cni", "bin_dir"],
    cniBinValue: "/opt/cni/bin" as unknown,
  },
} as const;

test("runc SystemdCgroup and kubelet cgroupDriver agree for both drivers and both containerd lines", async () => {
  const plan = await defaultPlan();
  for (const { line, driver } of VARIANTS) {
    const p = variant(plan, line, driver);
    const toml = parseToml(renderContainerdConfig(p).content);
    assert.equal(toml.version, line === "2.x" ? 3 : 2);
    assert.equal(at(toml, ...KEYS[line].runc, "runtime_type"), "io.containerd.runc.v2");
    assert.equal(at(toml, ...KEYS[line].runc, "options", "SystemdCgroup"), driver === "systemd", `${line} ${driver}`);
    // kubelet's side, read back from the rendered kubeadm file rather than trusted.
    const kubelet = parseAllDocuments(renderKubeadmInit(p).content)
      .map((d) => d.toJS() as Record<string, unknown>)
      .find((d) => d.kind === "KubeletConfiguration");
    assert.equal(kubelet?.cgroupDriver, driver, `${line} ${driver}`);
    assert.equal(kubeletCgroupDriver(p), driver);
  }
});

test("sandbox image is the pause image kubeadm expects; CNI dirs are the standard ones", async () => {
  const plan = await defaultPlan();
  for (const line of ["2.x", "1.7"] as const) {
    const cfg = containerdConfig(variant(plan, line, "systemd"));
    assert.equal(at(cfg, ...KEYS[line].sandbox), plan.kubernetes.images.pause);
    assert.deepEqual(at(cfg, ...KEYS[line].cniBin), KEYS[line].cniBinValue);
  }
});

test("restrict_oom_score_adj only on container nodes, whatever the provider", async () => {
  const plan = await defaultPlan();
  const nspawn: Plan = { ...plan, provider: { name: "nspawn", release: "bookworm" } };
  for (const line of ["2.x", "1.7"] as const) {
    assert.equal(at(containerdConfig(variant(plan, line, "systemd")), ...KEYS[line].oom), undefined);
    assert.equal(at(containerdConfig(variant(plan, line, "systemd"), CONTAINER), ...KEYS[line].oom), true);
    assert.equal(at(containerdConfig(variant(nspawn, line, "systemd"), CONTAINER), ...KEYS[line].oom), true);
    assert.equal(at(containerdConfig(variant(nspawn, line, "systemd"), PLAIN_NODE), ...KEYS[line].oom), undefined);
  }
  assert.equal(renderContainerdConfig(plan).path, "/etc/containerd/config.toml");
});

async function writeTemp(t: TestContext, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-containerd-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "config.toml");
  await writeFile(path, content);
  return path;
}

/**
 * Real containerd loads each rendered file and `config dump` shows the merged result. The
 * pause image is a made-up one so a mistyped key cannot pass by matching containerd's own
 * default; `restrict_oom_score_adj` is on for the same reason (default false).
 */
async function checkDump(t: TestContext, bin: string, line: Line, driver: Driver): Promise<string> {
  const pause = "registry.example/kubelab-test/pause:9.9";
  const path = await writeTemp(
    t,
    renderContainerdConfig(variant(await defaultPlan(), line, driver, pause), CONTAINER).content,
  );
  const dump = await containerdConfigDump(bin, path);
  const tree = parseToml(dump);
  // containerd 2 dumps its latest schema whatever it read; 1.6 keeps version 2.
  const keys = KEYS[at(tree, "plugins", "io.containerd.cri.v1.runtime") ? "2.x" : "1.7"];
  assert.equal(at(tree, ...keys.runc, "options", "SystemdCgroup"), driver === "systemd", `${line} ${driver}`);
  assert.equal(at(tree, ...keys.runc, "runtime_type"), "io.containerd.runc.v2");
  assert.equal(at(tree, ...keys.sandbox), pause);
  assert.equal(at(tree, ...keys.oom), true);
  assert.deepEqual(at(tree, ...keys.cniBin), keys.cniBinValue);
  assert.match(dump, new RegExp(`^\\s*SystemdCgroup = ${driver === "systemd"}$`, "m"));
  return path;
}

for (const driver of ["systemd", "cgroupfs"] as const) {
  test(`containerd 2 reads the version 3 config (${driver})`, async (t) => {
    const bin = requireTool(t, "containerd2");
    if (!bin) return;
    const path = await checkDump(t, bin, "2.x", driver);
    // containerd 2 decodes plugin tables strictly on `config migrate` and warns about every key
    // it does not know: the typo check `config dump` alone cannot give.
    const { stderr } = await execFileP(bin, ["--config", path, "config", "migrate"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.doesNotMatch(stderr, /unknown key/i);
  });

  test(`containerd 2 migrates the 1.7 (version 2) config to the same settings (${driver})`, async (t) => {
    const bin = requireTool(t, "containerd2");
    if (!bin) return;
    await checkDump(t, bin, "1.7", driver);
  });

  test(`Debian containerd 1.6 reads the version 2 config (${driver})`, async (t) => {
    const bin = requireTool(t, "containerd1");
    if (!bin) return;
    const path = await checkDump(t, bin, "1.7", driver);
    assert.match(
      await containerdConfigDump(bin, path),
      /^\s*sandbox_image = "registry\.example\/kubelab-test\/pause:9\.9"$/m,
    );
  });
}

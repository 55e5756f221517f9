// The rendered containerd config, parsed: runc's cgroup setting agrees with kubelet's for both
// drivers and both containerd lines, the sandbox image and CNI directories, and when
// restrict_oom_score_adj is set.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse as parseToml } from "smol-toml";
import { parseAllDocuments } from "yaml";
import { at, CONTAINER, defaultPlan, KEYS, variant } from "../../test/helpers/containerd-config.js";
import type { Plan } from "../plan/types.js";
import { containerdConfig, kubeletCgroupDriver, renderContainerdConfig } from "./containerd.js";
import { renderKubeadmInit } from "./kubeadm.js";
import { PLAIN_NODE } from "./node-environment.js";

const VARIANTS = (["2.x", "1.7"] as const).flatMap((line) =>
  (["systemd", "cgroupfs"] as const).map((driver) => ({ line, driver })),
);

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

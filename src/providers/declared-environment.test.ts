/**
 * What each provider declares about its machines, and what that does to the files rendered
 * for them before any facts are gathered (`kubelab render`).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import type { Plan } from "../plan/types.js";
import { renderNodeFiles } from "../render/node-files.js";
import { nspawnProvider } from "./nspawn/provider.js";
import { sshProvider } from "./ssh.js";
import type { MachineProvider } from "./types.js";
import { vagrantProvider } from "./vagrant/provider.js";

const contents = (plan: Plan, node: string, provider: MachineProvider) =>
  renderNodeFiles(plan, node, provider.nodeEnvironment)
    .map((f) => f.content)
    .join("\n");

test("nspawn declares container nodes: an nspawn plan never renders a config runc cannot start", () => {
  assert.deepEqual(nspawnProvider.nodeEnvironment, { container: true, cgroupV1: false });
  const plan: Plan = { ...defaultPlan(), provider: { name: "nspawn", release: "bookworm" } };
  const text = contents(plan, "master-1", nspawnProvider);
  assert.match(text, /restrict_oom_score_adj = true/);
  assert.match(text, /conntrack:\n {2}maxPerCore: 0/);
  assert.match(contents(plan, "worker-1", nspawnProvider), /restrict_oom_score_adj = true/);
});

test("vagrant and ssh declare plain machines; an existing host's facts say more later", () => {
  const plan = defaultPlan();
  for (const provider of [vagrantProvider, sshProvider]) {
    assert.deepEqual(provider.nodeEnvironment, { container: false, cgroupV1: false }, provider.name);
    assert.doesNotMatch(contents(plan, "master-1", provider), /restrict_oom_score_adj|maxPerCore|failCgroupV1/);
  }
});

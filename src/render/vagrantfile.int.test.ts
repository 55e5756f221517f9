// The rendered Vagrantfile, checked by the real `vagrant validate` (Debian's vagrant 2.3 with
// vagrant-libvirt) for both hypervisors across several plans; a misspelt setting shows the
// validator is really reading it; a hostile box name stays a string.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { planWith } from "../../test/helpers/fixtures.js";
import { requireTool } from "../../test/helpers/tools.js";
import type { Plan } from "../plan/types.js";
import { renderVagrantfile, rubyString, vmName } from "./vagrantfile.js";

const execFileP = promisify(execFile);

const nodes = (cp: number, workers: number) => (raw: Record<string, any>) => {
  raw.nodes[0].count = cp;
  if (workers === 0) raw.nodes.splice(1);
  else raw.nodes[1].count = workers;
  if (cp > 1) raw.kubernetes.controlPlaneEndpoint = "192.168.56.10:6443";
};

const PLANS: Record<string, (raw: Record<string, any>) => void> = {
  "1 node": nodes(1, 0),
  "1+2 (default)": () => {},
  "3+5": nodes(3, 5),
  "custom CIDR": (raw) => {
    raw.network = { cidr: "10.77.0.0/24", firstAddress: "10.77.0.11" };
    raw.addons.metallb.pools = ["10.77.0.46-10.77.0.56"];
  },
};

async function validate(t: TestContext, vagrant: string, text: string, provider: "virtualbox" | "libvirt") {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-vagrant-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // VirtualBox is not in Debian, so it cannot load the machines here ("not usable"): for its
  // Vagrantfiles a second configure block names libvirt too (Vagrant merges the blocks and
  // loads the machines with the first usable provider), and --ignore-provider leaves out the
  // virtualbox block's settings; Ruby still parses and runs that block.
  const extra = provider === "virtualbox" ? '\nVagrant.configure("2") { |c| c.vm.provider "libvirt" }\n' : "";
  await writeFile(join(dir, "Vagrantfile"), text + extra);
  const env = {
    ...process.env,
    VAGRANT_HOME: join(dir, ".vagrant.d"),
    VAGRANT_DEFAULT_PROVIDER: "libvirt",
    VAGRANT_CHECKPOINT_DISABLE: "1",
  };
  const args = provider === "virtualbox" ? ["validate", "--ignore-provider"] : ["validate"];
  return execFileP(vagrant, args, { cwd: dir, env }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

for (const hypervisor of ["virtualbox", "libvirt"] as const) {
  test(`vagrant validate accepts every rendered Vagrantfile (${hypervisor}): ${Object.keys(PLANS).join(", ")}`, async (t) => {
    const vagrant = requireTool(t, "vagrant");
    if (!vagrant) return;
    for (const [name, change] of Object.entries(PLANS)) {
      const plan = planWith((raw) => {
        change(raw);
        raw.provider.hypervisor = hypervisor;
      });
      const text = renderVagrantfile(plan);
      const r = await validate(t, vagrant, text, hypervisor);
      assert.equal(r.code, 0, `${name}: ${r.out}\n${text}`);
      assert.match(r.out, /Vagrantfile validated successfully/);
      for (const n of plan.nodes)
        assert.match(
          text,
          new RegExp(`name: "${n.name}", vm: "${vmName(plan, n.name)}", ip: "${n.ip.replaceAll(".", "\\.")}"`),
        );
    }
  });
}

test("the validator reads kubelab's settings: a misspelt one is refused", async (t) => {
  const vagrant = requireTool(t, "vagrant");
  if (!vagrant) return;
  const plan = planWith((raw) => {
    raw.provider.hypervisor = "libvirt";
  });
  const broken = renderVagrantfile(plan).replace("lv.cpus = node[:cpus]", "lv.cpuz = node[:cpus]");
  const r = await validate(t, vagrant, broken, "libvirt");
  assert.notEqual(r.code, 0);
  assert.match(r.out, /shouldn't exist: cpuz/);
});

test("a hostile box name stays a Ruby string: nothing in it runs", async (t) => {
  const vagrant = requireTool(t, "vagrant");
  if (!vagrant) return;
  const marker = join(tmpdir(), `kubelab-pwned-${process.pid}`);
  const box = `evil#{File.write(${JSON.stringify(marker)}, "x")}"; system("touch ${marker}"); "`;
  assert.equal(rubyString('a#{b}"c'), '"a\\#{b}\\"c"');
  // The cluster file refuses such a box now; the Vagrantfile must still quote one that gets here.
  assert.throws(() =>
    planWith((raw) => {
      raw.provider.box = box;
    }),
  );
  const base = planWith();
  const plan = { ...base, provider: { ...base.provider, box } } as Plan;
  const r = await validate(t, vagrant, renderVagrantfile(plan), "virtualbox");
  assert.equal(r.code, 0, r.out);
  assert.equal(existsSync(marker), false, "the box name was executed");
});

// What the vagrant provider tests start from: a project directory holding an empty cluster
// directory, a host check that passes, and machine states as pairs to compare.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { ProviderContext } from "../../src/providers/types.js";
import { vagrantPaths } from "../../src/providers/vagrant/cli.js";
import { createVagrantProvider } from "../../src/providers/vagrant/provider.js";
import { tempDir } from "./tmp.js";

/**
 * project makes a project directory with an empty cluster directory in it (removed after the
 * test); vagrant gets a VAGRANT_HOME of its own, and the provider's log lines are kept.
 */
export async function project(t: TestContext) {
  const root = await tempDir(t, "kubelab-vagrant-provider-");
  const dir = join(root, ".kubelab", "lab");
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  const ctx: ProviderContext = { clusterDir: dir, log: (l) => lines.push(l) };
  return { root, dir, ctx, lines, env: { ...process.env, VAGRANT_HOME: join(root, "vagrant.d") } };
}

/** noHostCheck is a host check that finds no problem. */
export const noHostCheck = async () => [];

/** states is each machine as a [node, state] pair. */
export const states = (machines: readonly { node: string; state: string }[]) => machines.map((m) => [m.node, m.state]);

/**
 * fakeVagrant is a project whose `vagrant` is `script` (a stand-in shell script that logs its
 * argv to $FAKE_LOG), with a cluster Vagrantfile, and the provider that runs it with `env`.
 * `argv()` reads back the logged calls, without those `skip` says are queries.
 */
export async function fakeVagrant(
  t: TestContext,
  script: string,
  env: Readonly<Record<string, string>>,
  skip: (line: string) => boolean,
) {
  const p = await project(t);
  const bin = join(p.root, "bin");
  await mkdir(bin);
  await writeFile(join(bin, "vagrant"), script);
  await chmod(join(bin, "vagrant"), 0o755);
  await writeFile(vagrantPaths(p.dir).vagrantfile, "# the cluster's Vagrantfile\n");
  const log = join(p.root, "argv.log");
  await writeFile(log, "");
  const provider = createVagrantProvider({
    env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_LOG: log, ...env },
    checkHost: noHostCheck,
    bakedBoxes: false,
  });
  const argv = async () =>
    (await readFile(log, "utf8"))
      .trim()
      .split("\n")
      .filter((l) => l !== "" && !skip(l));
  return { ...p, provider, argv };
}

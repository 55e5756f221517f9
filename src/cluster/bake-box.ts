/**
 * `kubelab image bake`: one VM from the base box, node preparation exactly as `up` runs it,
 * every image the cluster needs put into containerd (imported from a bundle, or pulled by
 * containerd from the registries or their mirrors), the VM sealed (bake-guest.ts: no host
 * keys, no machine-id, Vagrant's insecure key as the only login key) and powered off, then
 * `vagrant package` into a box that Vagrant keeps and kubelab records
 * (providers/vagrant/baked-boxes.ts), with no private key in it. The baking VM is removed
 * whatever happens.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { PackageSource } from "../artifacts/package-source.js";
import { canonicalName } from "../oci/registry.js";
import { importImagesPhase } from "../phases/images.js";
import type { Status } from "../phases/phase.js";
import { bakePlan } from "../plan/bake.js";
import type { Plan } from "../plan/types.js";
import { which } from "../providers/host.js";
import type { Machine, MachineProvider } from "../providers/types.js";
import { type BakedBox, bakedBoxName, bakeKey, boxesDir, recordBakedBox } from "../providers/vagrant/baked-boxes.js";
import { runVagrant, vagrantPaths } from "../providers/vagrant/cli.js";
import { vagrantInsecurePublicKeys } from "../providers/vagrant/insecure-key.js";
import { parseStatus } from "../providers/vagrant/parse-output.js";
import { createVagrantProvider } from "../providers/vagrant/provider.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import { fingerprint } from "../remote/known-hosts.js";
import type { Remote } from "../remote/types.js";
import { PINNED } from "../versions.js";
import { sealGuestScript } from "./bake-guest.js";
import { PREPARE_PHASES, up } from "./up.js";
import { withStatus } from "./with-status.js";

/** Options of {@link bakeBox}. */
export interface BakeOptions {
  /** Where packages come from: upstream, or a bundle (whose images are then imported). */
  readonly packages: PackageSource;
  /** Images to pull on the VM when the package source carries none (online). */
  readonly pull: readonly string[];
  /** Registries to pull from instead (registry host -> base URL, e.g. registry.k8s.io -> http://10.0.0.1:5000). */
  readonly mirrors?: ReadonlyMap<string, string>;
  /** The environment vagrant runs with. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly status: Status;
  readonly signal?: AbortSignal;
}

/**
 * vagrant-libvirt's `package` runs virt-sysprep and virt-sparsify (guestfs-tools) on the
 * copied disk. Where they are not installed, `package` would fail; kubelab has generalised
 * the guest itself (bake-guest.ts), so it stands in for them for that one command: sysprep with
 * nothing left to do, sparsify with `qemu-img convert`, which drops unallocated clusters.
 */
const STAND_INS: Record<string, string> = {
  "virt-sysprep":
    "#!/bin/sh\n# kubelab: the guest was generalised before it was halted (see kubelab's cluster/bake-box.ts)\nexit 0\n",
  "virt-sparsify":
    '#!/bin/sh\n# kubelab: virt-sparsify --in-place FILE, done with qemu-img convert\nset -e\nf="$2"\nqemu-img convert -O qcow2 "$f" "$f.sparse"\nmv "$f.sparse" "$f"\n',
};

async function packageEnv(
  hypervisor: "virtualbox" | "libvirt",
  dir: string,
  env: NodeJS.ProcessEnv | undefined,
  log: (line: string) => void,
): Promise<NodeJS.ProcessEnv | undefined> {
  const missing = Object.keys(STAND_INS).filter((tool) => !which(tool));
  if (hypervisor !== "libvirt" || missing.length === 0) return env;
  const bin = join(dir, "bin");
  await mkdir(bin, { recursive: true });
  for (const tool of missing) await writeFile(join(bin, tool), STAND_INS[tool] ?? "", { mode: 0o755 });
  log(`bake: ${missing.join(" and ")} not installed (guestfs-tools): the guest is generalised by kubelab instead`);
  const base = env ?? process.env;
  return { ...base, PATH: [bin, base.PATH ?? ""].join(delimiter) };
}

/**
 * pullCommands are the commands that put one image into a node's containerd (namespace
 * k8s.io, the CRI's) under its canonical name, the one kubelet looks up: a plain pull, or,
 * through a mirror, a pull from the mirror, then the canonical name given to it. An image with
 * a pinned digest is pulled by that digest (containerd checks the content against it) and
 * then given its canonical name. Pure.
 */
export function pullCommands(
  image: string,
  mirrors: ReadonlyMap<string, string> = new Map(),
  digests: Readonly<Partial<Record<string, string>>> = PINNED.imageDigests,
): string[][] {
  const canonical = canonicalName(image);
  const digest = digests[canonical];
  const slash = canonical.indexOf("/");
  const mirror = mirrors.get(canonical.slice(0, slash));
  const ctr = ["ctr", "-n", "k8s.io", "images"];
  // By digest: the repository without its tag, then @sha256:...
  const path = digest ? `${canonical.slice(slash + 1).replace(/:[^/:]*$/, "")}@${digest}` : canonical.slice(slash + 1);
  if (!mirror && !digest) return [[...ctr, "pull", canonical]];
  const url = mirror ? new URL(mirror) : undefined;
  const host = url ? `${url.host}${url.pathname.replace(/\/+$/, "")}` : canonical.slice(0, slash);
  const from = `${host}/${path}`;
  return [
    [...ctr, "pull", ...(url?.protocol === "http:" ? ["--plain-http"] : []), from],
    [...ctr, "tag", "--force", from, canonical],
    [...ctr, "rm", from],
  ];
}

/**
 * prepareBakingMachine makes the baking machine and prepares it as `up` would (node
 * preparation, and the package source's images imported), has its containerd pull the
 * images the source did not carry (through the mirrors when given), then hands its
 * connection to `seal`, which ends the bake on it; the connection is closed after. Every
 * provider's bake starts this way.
 */
export async function prepareBakingMachine(
  baking: Plan,
  provider: MachineProvider,
  clusterDir: string,
  opts: Pick<BakeOptions, "packages" | "pull" | "mirrors" | "log" | "status" | "signal">,
  seal: (node: Remote, machines: readonly Machine[]) => Promise<void>,
): Promise<void> {
  const images = opts.packages.images ?? [];
  await up(baking, {
    provider,
    packages: opts.packages,
    clusterDir,
    phases: [...PREPARE_PHASES, ...(images.length > 0 ? [importImagesPhase] : [])],
    kubeconfig: false,
    addons: false,
    log: opts.log,
    status: opts.status,
    signal: opts.signal,
  });
  const machines = await provider.list(baking, { clusterDir, log: opts.log, signal: opts.signal });
  const hosts = await connectAll(baking, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 1 });
  const node = hosts.get("bake");
  if (!node) throw new Error("the baking machine is not reachable");
  try {
    const pulls = images.length > 0 ? [] : opts.pull;
    if (pulls.length > 0)
      await withStatus(opts.status, `Pull ${pulls.length} images`, async () => {
        for (const image of pulls) {
          opts.log(`bake: pulling ${image}`);
          for (const argv of pullCommands(image, opts.mirrors)) await node.run(argv, { timeoutMs: 900_000 });
        }
      });
    await seal(node, machines);
  } finally {
    await node.close();
  }
}

/** How long the sealed VM may take to power off (QEMU without KVM is slow). */
const POWEROFF_WAIT_MS = 600_000;

/**
 * insertedKeyPath is where Vagrant keeps the private key it put into the baking VM
 * (`config.ssh.insert_key`), which `vagrant package` would put into the box. Pure.
 */
export const insertedKeyPath = (clusterDir: string, hypervisor: "virtualbox" | "libvirt") =>
  join(vagrantPaths(clusterDir).state, "machines", "bake", hypervisor, "private_key");

/**
 * waitStopped waits until `state` (the baking VM's vagrant state) is no longer `running`;
 * past `timeoutMs` it throws.
 */
export async function waitStopped(
  state: () => Promise<string | undefined>,
  timeoutMs: number,
  intervalMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await state()) !== "running") return;
    if (Date.now() >= deadline)
      throw new Error(`the baking VM did not power off within ${timeoutMs / 1000} s after it was sealed`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** bakeBox makes the plan's baked box and records it; it returns the record. */
export async function bakeBox(plan: Plan, opts: BakeOptions): Promise<BakedBox> {
  if (plan.provider.name !== "vagrant") throw new Error("bakeBox needs a vagrant plan");
  const hypervisor = plan.provider.hypervisor;
  const key = bakeKey(plan);
  const name = bakedBoxName(plan);
  const baking = bakePlan(plan);
  const clusterDir = join(boxesDir(), `${key.slice(0, 12)}.d`);
  await rm(clusterDir, { recursive: true, force: true });
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  // The base box, never an earlier baked one.
  const provider = createVagrantProvider({ env: opts.env, bakedBoxes: false });
  const pctx = { clusterDir, log: opts.log, signal: opts.signal };
  let record: BakedBox;
  const vagrant = (argv: string[], timeoutMs?: number, env = opts.env) =>
    runVagrant(argv, { clusterDir, env, signal: opts.signal, timeoutMs, onLine: (l) => opts.log(l) });
  try {
    const images = opts.packages.images ?? [];
    await prepareBakingMachine(baking, provider, clusterDir, opts, async (vm, machines) => {
      const hostKey = (await vm.readFile("/etc/ssh/ssh_host_ed25519_key.pub"))?.split(/\s+/)[1];
      if (hostKey)
        opts.log(`bake: removing the baking VM's host keys (ed25519 ${fingerprint(Buffer.from(hostKey, "base64"))})`);
      const user = machines.find((m) => m.node === "bake")?.endpoint?.user ?? "vagrant";
      await vm.run(["sh", "-c", sealGuestScript(user, await vagrantInsecurePublicKeys())]);
    });
    const file = join(clusterDir, "baked.box");
    await withStatus(opts.status, "Package the box", async () => {
      // The guest powers itself off. Not `vagrant halt`: its graceful way logs in first, which
      // the sealed guest refuses (no host key), or, once the inserted key below is gone,
      // allows with the insecure key, which Vagrant would then replace again.
      // `vagrant status` only: `ssh-config` (which the provider's list adds) fails on a VM
      // that is shutting down.
      const state = async () =>
        parseStatus(
          (
            await runVagrant(["status", "bake", "--machine-readable"], {
              clusterDir,
              env: opts.env,
              signal: opts.signal,
              timeoutMs: 120_000,
            })
          ).stdout,
        ).get("bake");
      await waitStopped(state, POWEROFF_WAIT_MS);
      // `vagrant package` copies the key Vagrant inserted at the VM's first boot into the box
      // (and makes the box's Vagrantfile use it): the guest no longer accepts it anyway.
      await rm(insertedKeyPath(clusterDir, hypervisor), { force: true });
      await vagrant(
        ["package", "bake", "--output", file, "--no-color"],
        undefined,
        await packageEnv(hypervisor, clusterDir, opts.env, opts.log),
      );
      await vagrant(["box", "add", "--force", "--name", name, "--provider", hypervisor, file, "--no-color"]);
    });
    record = {
      name,
      key,
      hypervisor,
      base: { box: plan.provider.box, ...(plan.provider.boxVersion ? { version: plan.provider.boxVersion } : {}) },
      kubernetes: plan.kubernetes.version,
      containerd: plan.containerd.version,
      images: images.length > 0 ? images.map((i) => i.name) : [...opts.pull],
      created: new Date().toISOString(),
    };
    await recordBakedBox(record);
  } finally {
    await provider
      .destroy(baking, pctx)
      .catch((e: Error) => opts.log(`bake: could not remove the baking VM: ${e.message}`));
  }
  // Only after success: a failure leaves the directory, whose logs/ has vagrant's full output.
  await rm(clusterDir, { recursive: true, force: true });
  return record;
}

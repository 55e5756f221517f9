/**
 * `kubelab image bake`: one VM from the base box, node preparation exactly as `up` runs it,
 * every image the cluster needs put into containerd (imported from a bundle, or pulled by
 * containerd from the registries or their mirrors), the VM generalised (no machine-id, so
 * clones get their own DHCP leases), then `vagrant package` into a box that Vagrant keeps and
 * kubelab records (providers/vagrant/baked-boxes.ts). The baking VM is removed whatever happens.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { PackageSource } from "../artifacts/package-source.js";
import { canonicalName } from "../oci/registry.js";
import { importImagesPhase } from "../phases/images.js";
import type { Status } from "../phases/phase.js";
import type { Plan } from "../plan/types.js";
import { which } from "../providers/host.js";
import {
  type BakedBox,
  bakedBoxName,
  bakeKey,
  bakePlan,
  boxesDir,
  recordBakedBox,
} from "../providers/vagrant/baked-boxes.js";
import { runVagrant } from "../providers/vagrant/cli.js";
import { createVagrantProvider } from "../providers/vagrant/provider.js";
import { connectAll, hostKeyPolicy } from "../remote/connect-all.js";
import { PINNED } from "../versions.js";
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
 * The commands that make the VM a template: a new machine-id at each clone's first boot
 * (systemd makes one when the file is empty; DHCP client ids derive from it), no leftovers
 * of kubelab's spool or apt's cache, and the disk synced before it is copied.
 */
const GENERALIZE = [
  "rm -rf /var/cache/kubelab /var/lib/apt/lists/*",
  "apt-get clean",
  "truncate -s 0 /etc/machine-id",
  "rm -f /var/lib/dbus/machine-id",
  "sync",
].join(" && ");

/**
 * vagrant-libvirt's `package` runs virt-sysprep and virt-sparsify (guestfs-tools) on the
 * copied disk. Where they are not installed, `package` would fail; kubelab has generalised
 * the guest itself (GENERALIZE), so it stands in for them for that one command: sysprep with
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
    const machines = await provider.list(baking, pctx);
    const hosts = await connectAll(baking, machines, { clusterDir, policy: hostKeyPolicy(), concurrency: 1 });
    const vm = hosts.get("bake");
    if (!vm) throw new Error("the baking VM is not reachable");
    try {
      const pulls = images.length > 0 ? [] : opts.pull;
      if (pulls.length > 0)
        await withStatus(opts.status, `Pull ${pulls.length} images`, async () => {
          for (const image of pulls) {
            opts.log(`bake: pulling ${image}`);
            for (const argv of pullCommands(image, opts.mirrors)) await vm.run(argv, { timeoutMs: 900_000 });
          }
        });
      await vm.run(["sh", "-c", GENERALIZE]);
    } finally {
      await vm.close();
    }
    const file = join(clusterDir, "baked.box");
    await withStatus(opts.status, "Package the box", async () => {
      await vagrant(["halt", "bake", "--no-color"], 600_000);
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

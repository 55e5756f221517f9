/**
 * Helpers for the tests that run a real `vagrant up` with vagrant-libvirt: a libvirt daemon
 * (started here when none answers: PID 1 is not systemd on these machines), the storage
 * pool, an isolated management network, and the box built from a debootstrap rootfs
 * (scripts/dev-tools/vagrant-box.sh). There is no usable KVM here, so VMs run under QEMU's
 * software emulation (`libvirtDriver: qemu`).
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import { freeThirdOctet, NO_ADDONS } from "./nspawn.js";
import { outsideHermetic, unavailable } from "./prereq.js";
import { cacheDir, findOnPath } from "./tools.js";

const execFileP = promisify(execFile);

/** The test box: its file (scripts/dev-tools/vagrant-box.sh) and the name it is added under. */
export const TEST_BOX = {
  file: cacheDir("vagrant", "debian-12-v1", "kubelab-dev-debian-12.box"),
  name: "kubelab-dev/debian-12",
};

/** VAGRANT_HOME of the tests: outside the clone, so the added box is kept between runs. */
export const TEST_VAGRANT_HOME = cacheDir("vagrant", "home");

const MANAGEMENT = { name: "vagrant-libvirt", bridge: "virbr-kltest", address: "192.168.121.1" };

/**
 * requireVagrantLibvirt returns true when a real vagrant-libvirt VM can be made here;
 * otherwise it is {@link unavailable}.
 */
export function requireVagrantLibvirt(t: TestContext): boolean {
  outsideHermetic("vagrant, libvirt and QEMU");
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const tool of ["vagrant", "virsh", "libvirtd", "virtlogd", "qemu-system-x86_64"])
    if (!findOnPath(tool)) missing.push(tool);
  if (!existsSync(TEST_BOX.file)) missing.push(`the test box (${TEST_BOX.file})`);
  if (missing.length === 0) return true;
  unavailable(t, `a real vagrant up needs ${missing.join(", ")}`, "run scripts/dev-tools/install-deps.sh as root");
  return false;
}

const virsh = (...args: string[]) =>
  execFileP("virsh", ["-c", "qemu:///system", ...args], { encoding: "utf8", timeout: 60_000 }).then((r) => r.stdout);
/** The names a `virsh ... --name` listing prints (padded with spaces). */
const names = (out: string) =>
  out
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
const answers = () =>
  virsh("uri").then(
    () => true,
    () => false,
  );

/**
 * ensureLibvirt makes the system libvirt ready for vagrant-libvirt: the daemons (started
 * here when none answers), the `default` storage pool, and the management network
 * vagrant-libvirt attaches every VM to, created isolated (no forwarding: VMs reach nothing but
 * this host) unless it exists. It returns `release`, which stops what it started and removes
 * what it made; call it after the test's VMs are gone (node:test runs `after` hooks in the
 * order they were registered, so it cannot be a hook of its own).
 */
export async function ensureLibvirt(): Promise<() => Promise<void>> {
  const undo: (() => Promise<unknown> | void)[] = [];
  const release = async () => {
    for (const step of undo.reverse()) await step();
  };
  if (!(await answers())) {
    // pgrep exits 1 when nothing matches.
    const virtlogd = spawnSync("pgrep", ["-x", "virtlogd"]).status !== 0;
    if (virtlogd) execFileSync("virtlogd", ["--daemon"]);
    execFileSync("libvirtd", ["--daemon"]);
    undo.push(() => {
      for (const d of virtlogd ? ["libvirtd", "virtlogd"] : ["libvirtd"]) execFileSync("pkill", ["-x", d]);
    });
    for (let i = 0; i < 100 && !(await answers()); i++) await new Promise((r) => setTimeout(r, 100));
    if (!(await answers())) throw new Error("libvirtd started but does not answer on qemu:///system");
  }
  if (!names(await virsh("pool-list", "--all", "--name")).includes("default")) {
    await virsh("pool-define-as", "default", "dir", "--target", "/var/lib/libvirt/images");
    await virsh("pool-build", "default");
  }
  if (!names(await virsh("pool-list", "--name")).includes("default")) await virsh("pool-start", "default");
  if (!names(await virsh("net-list", "--all", "--name")).includes(MANAGEMENT.name)) {
    const xml = `<network><name>${MANAGEMENT.name}</name><bridge name="${MANAGEMENT.bridge}"/><ip address="${MANAGEMENT.address}" netmask="255.255.255.0"><dhcp><range start="192.168.121.2" end="192.168.121.254"/></dhcp></ip></network>`;
    const file = `/tmp/kubelab-${process.pid}-mgmt.xml`;
    await writeFile(file, xml);
    await virsh("net-define", file);
    await rm(file, { force: true });
    undo.push(async () => {
      await virsh("net-destroy", MANAGEMENT.name).catch(() => "");
      await virsh("net-undefine", MANAGEMENT.name).catch(() => "");
    });
  }
  if (!names(await virsh("net-list", "--name")).includes(MANAGEMENT.name)) await virsh("net-start", MANAGEMENT.name);
  return release;
}

/** ensureTestBox adds the test box to TEST_VAGRANT_HOME once. */
export async function ensureTestBox(): Promise<void> {
  const env = { ...process.env, VAGRANT_HOME: TEST_VAGRANT_HOME, VAGRANT_CHECKPOINT_DISABLE: "1" };
  const list = await execFileP("vagrant", ["box", "list"], { env, cwd: "/", encoding: "utf8" });
  if (list.stdout.split("\n").some((l) => l.startsWith(`${TEST_BOX.name} `))) return;
  await execFileP("vagrant", ["box", "add", "--name", TEST_BOX.name, TEST_BOX.file], {
    env,
    cwd: "/",
    timeout: 600_000,
  });
}

/** What is left of a cluster in libvirt: its domains and the networks on its lab CIDR. */
export async function libvirtLeftovers(plan: Plan): Promise<string[]> {
  // `<cluster>.<node>`, or `<cluster>-<node>` as machines were named before.
  const domains = names(await virsh("list", "--all", "--name")).filter(
    (d) => d.startsWith(`${plan.name}.`) || d.startsWith(`${plan.name}-`),
  );
  const nets: string[] = [];
  for (const n of names(await virsh("net-list", "--all", "--name"))) {
    const xml = await virsh("net-dumpxml", n);
    if (xml.includes(`address='${plan.network.gateway}'`)) nets.push(`network ${n}`);
  }
  return [...domains.map((d) => `domain ${d}`), ...nets];
}

/** removeLeftovers force-removes what libvirtLeftovers finds (after a failed test). */
export async function removeLeftovers(plan: Plan): Promise<void> {
  for (const l of await libvirtLeftovers(plan)) {
    const [kind, name] = l.split(" ") as [string, string];
    const verb = kind === "domain" ? "" : "net-";
    await virsh(`${verb}destroy`, name).catch(() => "");
    await virsh(`${verb}undefine`, name, ...(kind === "domain" ? ["--remove-all-storage"] : [])).catch(() => "");
  }
}

/**
 * vagrantTestCluster is a cluster file (and its plan) of one control-plane node, and `workers`
 * workers of its size, on the libvirt provider with the test box, under QEMU's software
 * emulation, on a /24 under 10.232.0.0/16 no interface of this host uses.
 */
export function vagrantTestCluster(prefix: string, workers = 0): { raw: Record<string, unknown>; plan: Plan } {
  const third = freeThirdOctet("10.232");
  const raw = {
    apiVersion: "kubelab.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: `${prefix}${Math.floor(Math.random() * 1e6)}` },
    provider: { name: "vagrant", hypervisor: "libvirt", box: TEST_BOX.name, libvirtDriver: "qemu" },
    nodes: [
      { name: "master-{n}", role: "control-plane", count: 1, cpus: 2, memory: 2048 },
      ...(workers > 0 ? [{ name: "worker-{n}", role: "worker", count: workers, cpus: 2, memory: 2048 }] : []),
    ],
    network: { cidr: `10.232.${third}.0/24` },
    addons: NO_ADDONS,
  };
  const result = validateCluster(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return { raw, plan: result.plan };
}

/** boxFiles lists the files of a box added to TEST_VAGRANT_HOME (every version and provider), relative to its directory. */
export async function boxFiles(name: string): Promise<string[]> {
  const dir = join(TEST_VAGRANT_HOME, "boxes", name.replaceAll("/", "-VAGRANTSLASH-"));
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * removeBox removes a box from TEST_VAGRANT_HOME and the volume vagrant-libvirt uploaded it
 * to in the `default` pool (`vagrant box remove` leaves that one).
 */
export async function removeBox(name: string): Promise<void> {
  const env = { ...process.env, VAGRANT_HOME: TEST_VAGRANT_HOME, VAGRANT_CHECKPOINT_DISABLE: "1" };
  await execFileP("vagrant", ["box", "remove", "--force", "--all", name], { env, cwd: "/" }).catch(() => undefined);
  const prefix = `${name.replaceAll("/", "-VAGRANTSLASH-")}_vagrant_box_image_`;
  for (const vol of names(await virsh("vol-list", "default").catch(() => "")))
    if (vol.startsWith(prefix))
      await virsh("vol-delete", vol.split(/\s+/)[0] ?? "", "--pool", "default").catch(() => "");
}

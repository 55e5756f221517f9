/**
 * The node image: a Debian (or Ubuntu) root filesystem built once per release with
 * debootstrap and cached at ${XDG_CACHE_HOME:-~/.cache}/kubelab/images/<distro>-<release>-v<RECIPE>/rootfs.
 * Every node starts as a copy of it (machine.ts).
 *
 * The build goes into a temp directory next to the final one and is renamed into place at
 * the end, so a crashed build never looks complete; a lock file keeps two builds (two
 * kubelab processes) from colliding.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { UserError } from "../../errors.js";
import { cmdline, errno, imagesRoot, run, sleep, unmountUnder } from "./host.js";

/** Bump when the recipe below changes: a new version is a new cache directory (old ones are left). */
export const IMAGE_RECIPE_VERSION = 3;

/**
 * Packages on top of minbase. containerd is NOT here: node preparation installs the version
 * the plan pins. What kubeadm's preflight checks look for is: iptables, conntrack, socat,
 * ethtool, ebtables (all in bookworm and trixie), plus mount/nsenter (util-linux, in minbase).
 */
export const IMAGE_PACKAGES = [
  "systemd",
  "systemd-sysv", // /sbin/init
  "dbus", // systemd cgroup driver: runc talks to the node's systemd over D-Bus
  "openssh-server",
  "iproute2",
  "iptables",
  "ca-certificates",
  "gnupg",
  "curl",
  "procps",
  "kmod",
  "runc",
  "conntrack",
  "socat",
  "ethtool",
  "ebtables",
  "apt-transport-https",
  "iputils-ping", // lab debugging, and the tests' node-to-node check
  // The control-plane VIP (controlPlane.endpoint): nspawn nodes reach no archive of their own,
  // so the image carries them; they stay disabled until node preparation configures them.
  "keepalived",
  "haproxy",
] as const;

export const DEFAULT_MIRROR = "http://deb.debian.org/debian";

/** A release kubelab can build node images of, and where its packages come from. */
export interface Distribution {
  readonly distro: "debian" | "ubuntu";
  /** Human name, for messages. */
  readonly name: string;
  /** Mirror used unless $KUBELAB_<DISTRO>_MIRROR says otherwise. */
  readonly mirror: string;
  readonly components: readonly string[];
  /** Keyring debootstrap verifies the archive with (Debian's is debootstrap's default). */
  readonly keyring?: string;
}

/**
 * Releases by codename. Ubuntu's archive is verified with Ubuntu's keyring, which the host
 * must have (Ubuntu hosts do; on Debian it comes from Ubuntu's ubuntu-keyring package).
 */
export const DISTRIBUTIONS: Readonly<Record<string, Distribution>> = {
  bookworm: { distro: "debian", name: "Debian 12", mirror: DEFAULT_MIRROR, components: ["main"] },
  trixie: { distro: "debian", name: "Debian 13", mirror: DEFAULT_MIRROR, components: ["main"] },
  jammy: {
    distro: "ubuntu",
    name: "Ubuntu 22.04",
    mirror: "http://archive.ubuntu.com/ubuntu",
    components: ["main", "universe"],
    keyring: "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
  },
  noble: {
    distro: "ubuntu",
    name: "Ubuntu 24.04",
    mirror: "http://archive.ubuntu.com/ubuntu",
    components: ["main", "universe"],
    keyring: "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
  },
};

/** distribution returns a release's entry, or throws for one kubelab does not know. */
export function distribution(release: string): Distribution {
  const d = DISTRIBUTIONS[release];
  if (!d) throw new Error(`no node image recipe for release ${release}`);
  return d;
}

/** The fixed early-boot fixup every node runs before containerd (why: see the script). */
export const FIXUP_SCRIPT = `#!/bin/sh
# kubelab: early-boot fixups for a systemd-nspawn node.
# - nspawn mounts the cgroup v1 controller hierarchies read-only; kubelet and runc must create
#   cgroups in them. With cgroup namespaces only the node's own subtree is visible, so making
#   them writable does not expose the host's tree.
# - kubelet and containerd need / to be a shared mount (mount propagation for volumes).
# - Calico's calico-node mounts /sys/fs/bpf (a hostPath that must be a directory) and keeps its
#   BPF maps there. nspawn's /sys is a read-only tmpfs holding only parts of sysfs, without
#   /sys/fs/bpf: the node gets the directory and a BPF filesystem of its own on it (not the
#   host's, so no node sees another's pinned maps).
set -eu
awk '$3 == "cgroup" { print $2 }' /proc/self/mounts | while read -r m; do
  mount -o remount,rw "$m" 2>/dev/null || mount -o remount,bind,rw "$m"
done
if [ ! -d /sys/fs/bpf ]; then
  mount -o remount,rw /sys
  mkdir /sys/fs/bpf
  mount -o remount,ro /sys
fi
awk '$2 == "/sys/fs/bpf" { found = 1 } END { exit !found }' /proc/self/mounts || mount -t bpf bpf /sys/fs/bpf
mount --make-rshared /
`;

export const FIXUP_UNIT = `[Unit]
Description=kubelab: cgroup v1 hierarchies read-write, a BPF filesystem, / shared (systemd-nspawn node)
DefaultDependencies=no
ConditionVirtualization=container
Before=sysinit.target containerd.service kubelet.service
After=systemd-remount-fs.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/kubelab-node-fixup

[Install]
WantedBy=sysinit.target
`;

/** The sshd drop-in: keys only (each node gets the cluster key in authorized_keys). */
const SSHD_CONFIG = `# kubelab node: root logs in with the cluster key only.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
`;

/** Keep the persistent journal (read by `logs`) small. */
const JOURNALD_CONFIG = `[Journal]
Storage=persistent
SystemMaxUse=64M
`;

export interface ImageOptions {
  readonly release: string;
  readonly log: (line: string) => void;
  /** Archive mirror. @default $KUBELAB_DEBIAN_MIRROR / $KUBELAB_UBUNTU_MIRROR, else the distribution's own */
  readonly mirror?: string;
  /** Give up waiting for another process's build after this long. @default 30 min */
  readonly lockTimeoutMs?: number;
}

/** imageDir is the cache directory of a release's image (the rootfs is `rootfs/` inside). */
export function imageDir(release: string): string {
  return join(imagesRoot(), `${distribution(release).distro}-${release}-v${IMAGE_RECIPE_VERSION}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await readdir(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * ensureImage returns the rootfs of the release's image, building it first when the cache
 * has none.
 */
export async function ensureImage(opts: ImageOptions): Promise<string> {
  const dir = imageDir(opts.release);
  const rootfs = join(dir, "rootfs");
  if (await exists(rootfs)) return rootfs;
  await mkdir(dir, { recursive: true });
  const release = await lockFile(`${dir}.lock`, opts.log, opts.lockTimeoutMs);
  try {
    // Another process may have finished the build while we waited for the lock.
    if (await exists(rootfs)) return rootfs;
    await build(dir, opts);
    return rootfs;
  } finally {
    await release();
  }
}

/**
 * lockFile takes an exclusive lock file holding our pid, waiting while another live process
 * holds it; a lock whose process is gone is stale and removed. Returns the release function.
 */
export async function lockFile(
  path: string,
  log: (line: string) => void,
  timeoutMs = 30 * 60_000,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, "wx");
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await unlink(path).catch(() => {});
      };
    } catch (err) {
      if (errno(err) !== "EEXIST") throw err;
    }
    let holder = await lockHolder(path);
    // An empty file is a lock being written right now: look again before judging it.
    if (holder === 0) {
      await sleep(200);
      holder = await lockHolder(path);
    }
    if (holder <= 0 || cmdline(holder) === undefined) {
      // The build that held it died (a crashed kubelab): the lock is stale. Remove and retry.
      log(`removing a stale lock ${path}`);
      await unlink(path).catch(() => {});
      continue;
    }
    if (!told) log(`waiting for another kubelab (pid ${holder}) holding ${path}: building the node image`);
    told = true;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${path} (held by pid ${holder})`);
    await sleep(Math.min(1000, Math.max(10, deadline - Date.now())));
  }
}

/** lockHolder reads the pid in a lock file: 0 when empty or unreadable. */
async function lockHolder(path: string): Promise<number> {
  const n = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

async function build(dir: string, opts: ImageOptions): Promise<void> {
  const d = distribution(opts.release);
  const mirror = opts.mirror ?? (process.env[`KUBELAB_${d.distro.toUpperCase()}_MIRROR`] || d.mirror);
  if (d.keyring && !existsSync(d.keyring)) {
    throw new UserError(`building a ${d.name} node image needs Ubuntu's archive keyring ${d.keyring}`, {
      hint: "install Ubuntu's ubuntu-keyring package on this host, or use release bookworm or trixie",
      exitCode: 1,
    });
  }
  // Leftovers of crashed builds (we hold the lock: nobody else is building).
  // debootstrap mounts /proc and /sys in its target: a crashed one can leave them mounted, and
  // rm must never recurse into them.
  for (const e of await readdir(dir)) if (e.startsWith("rootfs.tmp-")) await removeTree(join(dir, e));
  const tmp = join(dir, `rootfs.tmp-${process.pid}`);
  const logPath = join(dir, "build.log");
  const started = Date.now();
  opts.log(`building the node image (${d.name} ${opts.release}, debootstrap from ${mirror}; about a minute, once)`);
  try {
    const out = await run(
      "debootstrap",
      [
        "--variant=minbase",
        `--components=${d.components.join(",")}`,
        ...(d.keyring ? [`--keyring=${d.keyring}`] : []),
        `--include=${IMAGE_PACKAGES.join(",")}`,
        opts.release,
        tmp,
        mirror,
      ],
      { timeoutMs: 30 * 60_000 },
    );
    await writeFile(logPath, out);
  } catch (err) {
    // debootstrap's own log of the failure is in the target.
    const detail = await readFile(join(tmp, "debootstrap", "debootstrap.log"), "utf8").catch(() => "");
    await writeFile(logPath, `${String(err)}\n${detail}`).catch(() => {});
    await removeTree(tmp);
    const tail = detail.trimEnd().split("\n").slice(-15).join("\n");
    throw new Error(
      `building the ${d.name} ${opts.release} node image failed (log: ${logPath})${tail ? `:\n${tail}` : ""}`,
      {
        cause: err,
      },
    );
  }
  await customize(tmp, opts.release, mirror, d.components);
  await rename(tmp, join(dir, "rootfs"));
  opts.log(`node image ready in ${((Date.now() - started) / 1000).toFixed(0)} s: ${join(dir, "rootfs")}`);
}

/** removeTree unmounts what is mounted below dir, then removes it. */
async function removeTree(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}

async function put(root: string, path: string, content: string, mode = 0o644): Promise<void> {
  const full = join(root, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, content);
  await chmod(full, mode);
}

/** customize makes the changes every node shares, once, in the image. */
async function customize(root: string, release: string, mirror: string, components: readonly string[]): Promise<void> {
  // Every node gets its own machine-id and SSH host keys (machine.ts); the image has none.
  // An empty /etc/machine-id (not a missing one) is the "not yet initialized" state.
  await writeFile(join(root, "etc/machine-id"), "");
  await rm(join(root, "var/lib/dbus/machine-id"), { force: true });
  await mkdir(join(root, "var/lib/dbus"), { recursive: true });
  await symlink("/etc/machine-id", join(root, "var/lib/dbus/machine-id"));
  for (const e of await readdir(join(root, "etc/ssh"))) {
    if (e.startsWith("ssh_host_")) await rm(join(root, "etc/ssh", e));
  }
  await put(root, "etc/ssh/sshd_config.d/kubelab.conf", SSHD_CONFIG);
  await put(root, "etc/systemd/journald.conf.d/kubelab.conf", JOURNALD_CONFIG);
  await mkdir(join(root, "var/log/journal"), { recursive: true });
  await put(root, "usr/local/sbin/kubelab-node-fixup", FIXUP_SCRIPT, 0o755);
  await put(root, "etc/systemd/system/kubelab-node-fixup.service", FIXUP_UNIT);
  // The hostname and the static address are per node (machine.ts).
  await writeFile(join(root, "etc/hostname"), "localhost\n");
  await writeFile(join(root, "etc/apt/sources.list"), `deb ${mirror} ${release} ${components.join(" ")}\n`);
  // systemctl --root works offline on the tree: networkd brings up host0 with the node's
  // static address, ssh is how kubelab reaches the node, the fixup runs before sysinit.
  await run("systemctl", [
    `--root=${root}`,
    "enable",
    "systemd-networkd.service",
    "ssh.service",
    "kubelab-node-fixup.service",
  ]);
  // Installed for the control-plane VIP, started only where node preparation writes their config.
  await run("systemctl", [`--root=${root}`, "disable", "keepalived.service", "haproxy.service"]);
  // Units that cannot work in a container without a real /sys or console, masked so
  // `systemctl --failed` stays meaningful.
  if (MASKED_UNITS.length > 0) await run("systemctl", [`--root=${root}`, "mask", ...MASKED_UNITS]);
  // Downloaded .debs are not needed in every copy.
  await rm(join(root, "var/cache/apt/archives"), { recursive: true, force: true });
  await mkdir(join(root, "var/cache/apt/archives/partial"), { recursive: true });
  await put(
    root,
    "etc/kubelab/image.json",
    `${JSON.stringify({ release, recipe: IMAGE_RECIPE_VERSION, mirror, packages: IMAGE_PACKAGES, built: new Date().toISOString() }, null, 2)}\n`,
  );
}

/**
 * Units masked in the image because they fail or hang in a systemd-nspawn container. None so
 * far: bookworm and trixie nodes boot to `running` with `systemctl --failed` empty (measured).
 */
export const MASKED_UNITS: readonly string[] = [];

/**
 * The control plane images built from source (scripts/dev-tools/k8s-images.sh) in a REAL
 * containerd: a private containerd v2 daemon (own root, state and socket, no CRI) imports
 * every archive with `ctr -n k8s.io images import`, lists exactly the names kubeadm asks for,
 * and runs each image with the host's runc the way kubeadm's manifests use it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { unmountUnder } from "../../src/providers/nspawn/host.js";
import { KUBERNETES_MINORS } from "../../src/versions.js";
import { unavailable } from "../helpers/prereq.js";
import { steps } from "../helpers/steps.js";
import { cacheDir, findOnPath, KUBERNETES_VERSION, requireTool } from "../helpers/tools.js";

const execFileP = promisify(execFile);

const IMAGES_DIR = cacheDir("images", KUBERNETES_VERSION);
const NS = "k8s.io";

interface ImagesIndex {
  images: { name: string; file: string; sha256: string; manifestDigest: string }[];
}

/** The archives and their index, or a skip (a throw under CI=true) naming what is missing. */
async function requireImages(t: TestContext): Promise<ImagesIndex | undefined> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (containerd and runc)");
  if (!findOnPath("runc")) missing.push("runc");
  let index: ImagesIndex | undefined;
  try {
    index = JSON.parse(await readFile(join(IMAGES_DIR, "images.json"), "utf8")) as ImagesIndex;
    for (const i of index.images) if (!existsSync(join(IMAGES_DIR, i.file))) missing.push(join(IMAGES_DIR, i.file));
  } catch {
    missing.push(join(IMAGES_DIR, "images.json"));
  }
  if (missing.length === 0) return index;
  unavailable(t, `needs ${missing.join(", ")}`, "run scripts/dev-tools/k8s-images.sh as root");
  return undefined;
}

interface Containerd {
  /** `ctr --address <socket> -n k8s.io ...args`; rejects with ctr's stderr. */
  ctr(args: string[], timeoutMs?: number): Promise<string>;
  /** Flags for `ctr run` that keep runc's state and cgroups ours. */
  runFlags(id: string): string[];
  dir: string;
  log(): string;
}

/**
 * startContainerd runs the containerd binary as a child with everything under a temp dir.
 * Teardown (registered on t first, so it runs even when start-up fails) removes every task
 * and container, stops the daemon and the shims it started, unmounts and deletes the dir.
 */
async function startContainerd(t: TestContext, bin: string): Promise<Containerd> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-containerd-"));
  const socket = join(dir, "containerd.sock");
  const ctrBin = join(dirname(bin), "ctr");
  const cgroupParent = `kubelab-test-${dir.slice(-6)}`;
  let child: ChildProcess | undefined;
  let logText = "";

  const ctr = async (args: string[], timeoutMs = 60_000) => {
    try {
      const { stdout } = await execFileP(ctrBin, ["--address", socket, "--namespace", NS, ...args], {
        encoding: "utf8",
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`ctr ${args.join(" ")}: ${e.stderr?.trim() || e.message}\n${e.stdout ?? ""}`, { cause: err });
    }
  };

  t.after(async () => {
    if (child && child.exitCode === null) {
      for (const id of (await ctr(["tasks", "ls", "-q"]).catch(() => "")).split("\n").filter(Boolean)) {
        await ctr(["tasks", "kill", "-s", "SIGKILL", id]).catch(() => {});
        await waitStopped(ctr, id).catch(() => {});
        await ctr(["tasks", "delete", "-f", id]).catch(() => {});
      }
      for (const id of (await ctr(["containers", "ls", "-q"]).catch(() => "")).split("\n").filter(Boolean)) {
        await ctr(["containers", "delete", id]).catch(() => {});
      }
      const c = child;
      const exited = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 15_000);
        c.once("exit", () => {
          clearTimeout(timer); // a pending timer would keep the test process alive
          resolve(true);
        });
      });
      c.kill("SIGTERM");
      if (!(await exited)) c.kill("SIGKILL");
    }
    // Shims outlive containerd; ours are the ones given our socket address.
    for (const pid of await processesWith(socket)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
    // runc removes each container's cgroup on delete; the parent is ours to remove.
    for (const controller of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
      await rmdir(join("/sys/fs/cgroup", controller, cgroupParent)).catch(() => {});
    }
    await rmdir(join("/sys/fs/cgroup", cgroupParent)).catch(() => {}); // cgroup v2
  });

  const config = join(dir, "config.toml");
  await writeFile(
    config,
    [
      "version = 4",
      `root = '${dir}/root'`,
      `state = '${dir}/state'`,
      `temp = '${dir}/tmp'`,
      "imports = []",
      // No CRI (no kubelet here), no NRI (its socket path is global).
      "disabled_plugins = ['io.containerd.grpc.v1.cri', 'io.containerd.cri.v1.images', 'io.containerd.cri.v1.runtime',",
      "  'io.containerd.podsandbox.controller.v1.podsandbox', 'io.containerd.nri.v1.nri']",
      "[plugins.'io.containerd.server.v1.grpc']",
      `  address = '${socket}'`,
      "[plugins.'io.containerd.server.v1.ttrpc']",
      `  address = '${socket}.ttrpc'`,
      "[plugins.'io.containerd.internal.v1.opt']",
      `  path = '${dir}/opt'`,
      "[plugins.'io.containerd.image-verifier.v1.bindir']",
      `  bin_dir = '${dir}/image-verifier'`,
      "",
    ].join("\n"),
  );
  await mkdir(join(dir, "tmp"));
  // The shim is found on PATH next to containerd; runc on PATH is the host's.
  const path = [dirname(bin), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":");
  const c = spawn(bin, ["--config", config, "--log-level", "info"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, PATH: path },
  });
  child = c;
  c.stderr?.on("data", (b: Buffer) => {
    logText += b.toString("utf8");
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (c.exitCode !== null || c.signalCode !== null)
      throw new Error(`containerd exited (${c.exitCode ?? c.signalCode}) before serving:\n${logText}`);
    if (
      await ctr(["version"], 5_000).then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`containerd did not serve ${socket} within 30 s:\n${logText}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    ctr,
    runFlags: (id) => ["--runc-root", join(dir, "runc"), "--cgroup", `/${cgroupParent}/${id}`],
    dir,
    log: () => logText,
  };
}

/** PIDs of processes whose command line mentions `needle` (our daemon's shims). */
async function processesWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const e of await readdir("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const cmdline = await readFile(`/proc/${e}/cmdline`, "utf8").catch(() => "");
    if (cmdline.split("\0").includes(needle)) pids.push(Number(e));
  }
  return pids;
}

/** Columns of `ctr tasks ls`: TASK PID STATUS. */
async function task(ctr: Containerd["ctr"], id: string): Promise<{ pid: number; status: string } | undefined> {
  for (const line of (await ctr(["tasks", "ls"])).split("\n").slice(1)) {
    const [name, pid, status] = line.trim().split(/\s+/);
    if (name === id) return { pid: Number(pid), status: status ?? "" };
  }
  return undefined;
}

async function waitStopped(ctr: Containerd["ctr"], id: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await task(ctr, id))?.status !== "STOPPED") {
    if (Date.now() > deadline) throw new Error(`task ${id} did not stop within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls fn until it returns a value (not undefined) or the deadline passes (then throws its last error). */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: gave up after ${timeoutMs / 1000} s`, { cause: last });
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `uid gid` of a host process (real ids, from /proc). */
async function processIds(pid: number): Promise<[number, number]> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  return [field("Uid"), field("Gid")];
}

test("kubeadm's images built from source: a real containerd imports them under kubeadm's names and runs them", {
  timeout: 15 * 60_000,
}, async (t) => {
  const index = await requireImages(t);
  const containerdBin = index && requireTool(t, "containerd2");
  const kubeadm = containerdBin && requireTool(t, "kubeadm");
  if (!index || !containerdBin || !kubeadm) return;

  // What this kubeadm pulls: the names must be exactly these.
  const { stdout } = await execFileP(kubeadm, ["config", "images", "list", "--kubernetes-version", KUBERNETES_VERSION]);
  const expected = stdout.trim().split("\n").sort();
  const tags = KUBERNETES_MINORS[KUBERNETES_VERSION.replace(/^v(\d+\.\d+)\..*$/, "$1") as "1.37"];
  assert.deepEqual(
    expected,
    [
      `registry.k8s.io/coredns/coredns:${tags.coredns}`,
      `registry.k8s.io/etcd:${tags.etcd}`,
      `registry.k8s.io/kube-apiserver:${KUBERNETES_VERSION}`,
      `registry.k8s.io/kube-controller-manager:${KUBERNETES_VERSION}`,
      `registry.k8s.io/kube-proxy:${KUBERNETES_VERSION}`,
      `registry.k8s.io/kube-scheduler:${KUBERNETES_VERSION}`,
      `registry.k8s.io/pause:${tags.pause}`,
    ],
    "kubeadm and src/versions.ts agree",
  );
  assert.deepEqual(index.images.map((i) => i.name).sort(), expected, "images.json holds kubeadm's images");

  const d = await startContainerd(t, containerdBin);
  const step = steps(t);
  const { ctr } = d;
  const image = (prefix: string) => expected.find((n) => n.startsWith(`registry.k8s.io/${prefix}:`)) as string;

  await step("ctr images import registers every archive under its full name", async () => {
    const started = Date.now();
    for (const i of index.images) await ctr(["images", "import", join(IMAGES_DIR, i.file)], 5 * 60_000);
    t.diagnostic(`imported and unpacked ${index.images.length} archives in ${(Date.now() - started) / 1000} s`);
    assert.deepEqual((await ctr(["images", "ls", "-q"])).trim().split("\n").sort(), expected);
    // REF TYPE DIGEST ...: the manifest each name points at is the one images.json recorded.
    const listed = new Map(
      (await ctr(["images", "ls"]))
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/))
        .map(([ref, type, digest]) => [ref, { type, digest }]),
    );
    for (const i of index.images) {
      assert.deepEqual(listed.get(i.name), {
        type: "application/vnd.oci.image.manifest.v1+json",
        digest: i.manifestDigest,
      });
    }
  });

  // `ctr run` with COMMAND replaces the image's entrypoint; the image's Env (PATH) still applies,
  // so a bare name resolves as in kubeadm's static pod manifests (command: [etcd, ...]).
  const run = (ref: string, id: string, args: string[], extra: string[] = []) =>
    ctr(["run", "--rm", ...d.runFlags(id), ...extra, ref, id, ...args], 120_000);

  await step("every binary runs from PATH and reports its version", async () => {
    for (const name of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
      assert.equal(
        (await run(image(name), `${name}-version`, [name, "--version"])).trim(),
        `Kubernetes ${KUBERNETES_VERSION}`,
      );
    }
    const coredns = await run(image("coredns/coredns"), "coredns-version", ["/coredns", "-version"]);
    assert.match(coredns, new RegExp(`^CoreDNS-${tags.coredns.slice(1).replaceAll(".", "\\.")}$`, "m"));
  });

  await step("pause: runs as 65535 as the sandbox's first process and exits 0 on SIGTERM", async () => {
    const ref = image("pause");
    assert.equal(
      (await run(ref, "pause-version", ["/pause", "-v"])).trim(),
      `pause.c v${tags.pause}-${KUBERNETES_VERSION}`,
    );
    const id = "pause-sandbox";
    await ctr(["run", "-d", ...d.runFlags(id), ref, id]);
    const running = await eventually("pause running", async () => {
      const s = await task(ctr, id);
      return s?.status === "RUNNING" ? s : undefined;
    });
    assert.deepEqual(await processIds(running.pid), [65535, 65535], "the image's User");
    await ctr(["tasks", "kill", id]); // SIGTERM
    await waitStopped(ctr, id);
    await ctr(["tasks", "delete", id]); // fails with the exit status unless it is 0
    await ctr(["containers", "delete", id]);
  });

  await step("etcd: reports 3.7.0, serves, and its etcdctl talks to it", async () => {
    const ref = image("etcd");
    const version = await run(ref, "etcd-version", ["etcd", "--version"]);
    assert.match(version, new RegExp(`^etcd Version: ${tags.etcd.replace(/-\d+$/, "").replaceAll(".", "\\.")}$`, "m"));
    const id = "etcd-server";
    // The flags kubeadm's etcd manifest uses that matter here (own network namespace: loopback only).
    await ctr([
      "run",
      "-d",
      ...d.runFlags(id),
      ref,
      id,
      "etcd",
      "--name=cp-1",
      "--data-dir=/var/lib/etcd",
      "--listen-client-urls=http://127.0.0.1:2379",
      "--advertise-client-urls=http://127.0.0.1:2379",
      "--listen-peer-urls=http://127.0.0.1:2380",
      "--initial-advertise-peer-urls=http://127.0.0.1:2380",
      "--initial-cluster=cp-1=http://127.0.0.1:2380",
    ]);
    const exec = (n: string, ...args: string[]) => ctr(["tasks", "exec", "--exec-id", n, id, "etcdctl", ...args]);
    await eventually("etcdctl put", async () =>
      (await exec("put", "put", "/kubelab", "ok")).trim() === "OK" ? true : undefined,
    );
    assert.equal((await exec("get", "get", "/kubelab", "--print-value-only")).trim(), "ok");
    await ctr(["tasks", "kill", id]);
    await waitStopped(ctr, id);
    await ctr(["tasks", "delete", id]);
    await ctr(["containers", "delete", id]);
  });

  await step("coredns: binds :53 as its non-root user (the file capability survived import)", async () => {
    const id = "coredns-server";
    const logFile = join(d.dir, "coredns.log");
    // No Corefile in the image: CoreDNS serves its default (whoami) zone on :53.
    await ctr(["run", "-d", ...d.runFlags(id), "--log-uri", `file://${logFile}`, image("coredns/coredns"), id]);
    const text = await eventually("coredns started", async () => {
      const s = await readFile(logFile, "utf8").catch(() => "");
      if (/bind: permission denied|Error/.test(s)) throw new Error(s);
      return /CoreDNS-/.test(s) ? s : undefined;
    });
    assert.match(text, /^\.:53$/m, text);
    const s = await task(ctr, id);
    assert.equal(s?.status, "RUNNING", text);
    assert.deepEqual(await processIds(s?.pid ?? 0), [65532, 65532]);
    await ctr(["tasks", "kill", id]);
    await waitStopped(ctr, id);
    await ctr(["tasks", "delete", "-f", id]).catch(() => {});
    await ctr(["containers", "delete", id]);
  });

  await step("kube-proxy: its binary and the tools it runs (iptables, nft, conntrack, ipset) work", async () => {
    const out = await run(
      image("kube-proxy"),
      "kube-proxy-tools",
      [
        "sh",
        "-ec",
        "kube-proxy --version; iptables --version; iptables -S; ip6tables -S >/dev/null; nft list ruleset; conntrack --version; ipset --version",
      ],
      ["--privileged"], // NET_ADMIN, as the DaemonSet's privileged container has (own network namespace here)
    );
    assert.match(out, new RegExp(`^Kubernetes ${KUBERNETES_VERSION.replaceAll(".", "\\.")}$`, "m"));
    assert.match(out, /^iptables v1\.8\.\d+ \(nf_tables\)$/m);
    assert.match(out, /^-P INPUT ACCEPT$/m);
    assert.match(out, /^conntrack v1\.4\.\d+/m);
    assert.match(out, /^ipset v7\.\d+/m);
  });
});

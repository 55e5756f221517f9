/**
 * A real Kubernetes API server for tests that need the API but no nodes: etcd and
 * kube-apiserver (both built from source here, scripts/dev-tools/k8s-images.sh) started as
 * processes on 127.0.0.1, with certificates and an admin kubeconfig made by the real kubeadm
 * (`kubeadm init phase certs` / `kubeconfig admin`), flags as kubeadm's static pod manifest
 * sets them. Stopped, and its files removed, when the test ends.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { kubeConfig, waitApiReady } from "../../src/kube/client.js";
import { freePort } from "./net.js";
import { unavailable } from "./prereq.js";
import { cacheDir, isExecutable, KUBERNETES_VERSION, requireTool } from "./tools.js";

const execFileP = promisify(execFile);

export interface ApiServer {
  /** Admin kubeconfig (client certificate), server https://127.0.0.1:<port>. */
  readonly kubeconfig: string;
  readonly url: string;
}

/** startApiServer starts etcd + kube-apiserver; undefined (skipped) when a binary is missing outside CI. */
export async function startApiServer(t: TestContext): Promise<ApiServer | undefined> {
  const kubeadm = requireTool(t, "kubeadm");
  if (!kubeadm) return undefined;
  const apiserver = cacheDir("kubernetes", KUBERNETES_VERSION, "bin", "kube-apiserver");
  const etcd = cacheDir("etcd", "v3.7.0", "bin", "etcd");
  const missing = [apiserver, etcd].filter((p) => !isExecutable(p));
  if (missing.length > 0) {
    unavailable(t, `${missing.join(" and ")} missing`, "run scripts/dev-tools/k8s-images.sh");
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), "kubelab-apiserver-"));
  const children: ChildProcess[] = [];
  const logs = new Map<string, string>();
  t.after(async () => {
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      if (c.exitCode === null) c.kill("SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  });
  const start = (name: string, bin: string, args: string[]) => {
    const c = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    logs.set(name, "");
    const keep = (d: Buffer) => logs.set(name, `${logs.get(name) ?? ""}${d}`.slice(-20_000));
    c.stdout?.on("data", keep);
    c.stderr?.on("data", keep);
    children.push(c);
    return c;
  };

  const [port, etcdPort, peerPort] = [await freePort(), await freePort(), await freePort()];
  const pki = join(dir, "pki");
  await writeFile(
    join(dir, "kubeadm.yaml"),
    `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
# kubeadm refuses a loopback advertise address; this one (TEST-NET-1) is only written into
# certificates and never contacted: clients use 127.0.0.1 (a certificate SAN).
localAPIEndpoint: {advertiseAddress: 192.0.2.1, bindPort: ${port}}
nodeRegistration: {name: test-control-plane}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: test
kubernetesVersion: ${KUBERNETES_VERSION}
certificatesDir: ${pki}
apiServer: {certSANs: [127.0.0.1, localhost]}
`,
  );
  const cfg = ["--config", join(dir, "kubeadm.yaml")];
  for (const cert of ["ca", "apiserver", "sa"]) await execFileP(kubeadm, ["init", "phase", "certs", cert, ...cfg]);
  // super-admin.conf (group system:masters): admin.conf's group gets its rights from a
  // ClusterRoleBinding that only a full `kubeadm init` creates.
  await execFileP(kubeadm, ["init", "phase", "kubeconfig", "super-admin", ...cfg, "--kubeconfig-dir", dir]);

  start("etcd", etcd, [
    `--data-dir=${join(dir, "etcd")}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    "--log-level=warn",
  ]);
  start("kube-apiserver", apiserver, [
    "--advertise-address=127.0.0.1",
    // The kubernetes Service's endpoints would be this loopback address, which the API server
    // refuses to publish; nothing here needs that Service.
    "--endpoint-reconciler-type=none",
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    "--allow-privileged=true",
    "--authorization-mode=Node,RBAC",
    `--client-ca-file=${join(pki, "ca.crt")}`,
    "--enable-admission-plugins=NodeRestriction",
    "--enable-bootstrap-token-auth=true",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${join(pki, "sa.pub")}`,
    `--service-account-signing-key-file=${join(pki, "sa.key")}`,
    "--service-cluster-ip-range=10.96.0.0/12",
    `--tls-cert-file=${join(pki, "apiserver.crt")}`,
    `--tls-private-key-file=${join(pki, "apiserver.key")}`,
  ]);
  const kubeconfig = (await readFile(join(dir, "super-admin.conf"), "utf8")).replace(
    `server: https://192.0.2.1:${port}`,
    `server: https://127.0.0.1:${port}`,
  );
  if (!kubeconfig.includes(`https://127.0.0.1:${port}`))
    throw new Error("super-admin.conf has an unexpected server line");
  try {
    const exited = children.map(
      (c) =>
        new Promise<never>((_, reject) =>
          c.once("exit", (code) => reject(new Error(`${c.spawnfile} exited (${code}) before the API was ready`))),
        ),
    );
    await Promise.race([waitApiReady(kubeConfig(kubeconfig), { timeoutMs: 120_000, intervalMs: 250 }), ...exited]);
  } catch (e) {
    const tails = [...logs].map(([n, l]) => `--- ${n}:\n${l.split("\n").slice(-15).join("\n")}`).join("\n");
    throw new Error(`${(e as Error).message}\n${tails}`);
  }
  return { kubeconfig, url: `https://127.0.0.1:${port}` };
}

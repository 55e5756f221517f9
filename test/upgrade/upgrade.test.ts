/**
 * An in-place upgrade for real, on nspawn machines, offline: a 1+2 cluster made at v1.36.3
 * (kubeadm, kubelet, kubectl and the control plane images built from the k8s.io/kubernetes
 * module of that release), a Deployment of two web pods behind a MetalLB LoadBalancer address
 * with a PodDisruptionBudget, then the file raised to v1.37.2. The dry run shows the steps;
 * `up` is stopped once (worker-1's `kubeadm upgrade node` made to fail) and the next `up`
 * continues from what the nodes and the cluster report. Requests from this host run through
 * the upgrade and the failed ones are counted. Afterwards every node runs v1.37.2, kubeadm has
 * nothing left to upgrade, a further `up` changes nothing, and going back is refused.
 *
 * Needs what `npm run test:upgrade`'s pretest builds (v1.36.3's packages and images, the
 * tests' toolbox image) besides install-deps.sh's substrate.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AppsV1Api, CoreV1Api, type KubeConfig, PolicyV1Api } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { kubeConfig, listNodes, poll, waitNodes } from "../../src/kube/client.js";
import { ADMIN_CONF } from "../../src/phases/kubeadm.js";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { httpFromHost, loadBalancerAddress } from "../helpers/loadbalancer.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";
import { toolboxImage, WEB_PORT } from "../helpers/toolbox.js";

const FROM = "v1.36.3";
const TO = "v1.37.2";
const NODES = ["master-1", "worker-1", "worker-2"];

/** A wrapper kubeadm on PATH before the packaged one: `kubeadm upgrade node` fails, anything else runs. */
const FAILING_UPGRADE_NODE = `#!/bin/sh
if [ "$1" = upgrade ] && [ "$2" = node ]; then echo "kubeadm upgrade node stopped by the test" >&2; exit 1; fi
exec /usr/bin/kubeadm "$@"
`;
const WRAPPER = "/usr/local/bin/kubeadm";

function planOf(raw: Record<string, unknown>): Plan {
  const r = validateCluster(raw);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.plan;
}

/** The run log an `up` names in its summary line. */
async function runLog(out: string): Promise<string> {
  const file = /log: (\S+)\)/.exec(out)?.[1];
  assert.ok(file, `no run log named in: ${out}`);
  return readFile(file, "utf8");
}

/** indexOfLine is where `pattern` first matches in `text`, failing when it does not. */
function at(text: string, pattern: RegExp): number {
  const i = text.search(pattern);
  assert.ok(i >= 0, `${pattern} not in:\n${text}`);
  return i;
}

/**
 * A bounded request loop from this host: GET `url` every 250 ms (each with a 2 s limit) until
 * stopped or `maxRequests` are sent; counts the answers that were not 200.
 */
function requestLoop(url: string, maxRequests = 20_000) {
  let running = true;
  let sent = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const done = (async () => {
    while (running && sent < maxRequests) {
      sent++;
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch((e: Error) => e);
      const why = res instanceof Error ? res.message : res.status === 200 ? undefined : `HTTP ${res.status}`;
      if (!(res instanceof Error)) await res.text().catch(() => "");
      if (why) {
        failed++;
        failures.set(why, (failures.get(why) ?? 0) + 1);
      }
      await sleep(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { sent, failed, failures };
    },
  };
}

describe("Kubernetes upgraded in place", () => {
  it(`${FROM} -> ${TO} node by node under traffic, stopped once and continued; a second up changes nothing`, async (t) => {
    if (!requireNspawn(t)) return;
    const made = nspawnTestCluster("up", { workers: 2 });
    const pool = (made.raw.addons as { metallb: { pools: string[] } }).metallb.pools[0] ?? "";
    const addons = { ...NO_ADDONS, metallb: { enabled: true, pools: [pool] } };
    const at136 = { ...made.raw, kubernetes: { version: FROM }, addons };
    const at137 = { ...made.raw, kubernetes: { version: TO }, addons };
    const bare136 = { ...at136, addons: NO_ADDONS };
    const plan136 = planOf(at136);
    const plan137 = planOf(at137);
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "upgrade-e2e");
    // One bundle per release, as a user would make one for each: packages, images, MetalLB.
    const bundle136 = join(dir, "bundle-136");
    const bundle137 = join(dir, "bundle-137");
    if (!(await createTestBundle(t, plan136, bundle136, { toolbox: true }))) return;
    const step = steps(t);
    let kc: KubeConfig;
    let url: string;
    let loop: ReturnType<typeof requestLoop> | undefined;
    t.after(async () => {
      await loop?.stop();
    });
    const master = () => hosts.get("master-1") as Remote;
    const nodeVersions = async () =>
      Object.fromEntries((await listNodes(kc)).map((n) => [n.metadata?.name, n.status?.nodeInfo?.kubeletVersion]));
    const clusterVersion = async () => {
      const cm = await kc
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
      return (parse(cm.data?.ClusterConfiguration ?? "") as { kubernetesVersion?: string }).kubernetesVersion;
    };

    await step(`up at ${FROM} without addons, the test pod network, then MetalLB: every node Ready`, async () => {
      await writeFile(file, stringify(bare136));
      const first = await kubelab("up", "-f", file, "--bundle", bundle136);
      assert.equal(first.code, 0, `${first.out}\n${first.err}`);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      await connectNodes(plan136, { file, hosts });
      await installTestCni(plan136, hosts, await listNodes(kc));
      await waitNodes(kc, NODES, { ready: true, timeoutMs: 240_000 });
      await writeFile(file, stringify(at136));
      const second = await kubelab("up", "-f", file, "--bundle", bundle136);
      assert.equal(second.code, 0, `${second.out}\n${second.err}`);
      assert.deepEqual(await nodeVersions(), Object.fromEntries(NODES.map((n) => [n, FROM])));
      assert.equal(await clusterVersion(), FROM);
    });

    await step("two web pods behind a LoadBalancer address, a PodDisruptionBudget keeping one", async () => {
      const image = await toolboxImage();
      const labels = { app: "web" };
      await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
        namespace: "default",
        body: {
          metadata: { name: "web" },
          spec: {
            replicas: 2,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                terminationGracePeriodSeconds: 2,
                // One on each worker while both are schedulable.
                affinity: {
                  podAntiAffinity: {
                    preferredDuringSchedulingIgnoredDuringExecution: [
                      {
                        weight: 100,
                        podAffinityTerm: {
                          topologyKey: "kubernetes.io/hostname",
                          labelSelector: { matchLabels: labels },
                        },
                      },
                    ],
                  },
                },
                containers: [
                  {
                    name: "web",
                    image,
                    imagePullPolicy: "IfNotPresent",
                    command: [
                      "/bin/sh",
                      "-c",
                      `mkdir -p /www && echo "web on $(hostname)" > /www/index.html && exec httpd -f -p ${WEB_PORT} -h /www`,
                    ],
                    ports: [{ containerPort: WEB_PORT, name: "http" }],
                    readinessProbe: { tcpSocket: { port: WEB_PORT }, periodSeconds: 2 },
                  },
                ],
              },
            },
          },
        },
      });
      await kc.makeApiClient(PolicyV1Api).createNamespacedPodDisruptionBudget({
        namespace: "default",
        body: { metadata: { name: "web" }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
      });
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedService({
        namespace: "default",
        body: {
          metadata: { name: "web" },
          spec: {
            type: "LoadBalancer",
            externalTrafficPolicy: "Cluster",
            selector: labels,
            ports: [{ name: "http", port: 80, targetPort: WEB_PORT, protocol: "TCP" }],
          },
        },
      });
      const ip = await loadBalancerAddress(core, "default", "web", pool);
      url = `http://${ip}/`;
      await poll(
        "web available",
        async () => {
          const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "web", namespace: "default" });
          return d.status?.availableReplicas === 2
            ? { done: true, value: undefined }
            : { done: false, pending: `${d.status?.availableReplicas ?? 0} of 2 available` };
        },
        { timeoutMs: 180_000 },
      );
      assert.match(await httpFromHost(url), /^web on /);
    });

    await step(
      `${TO} in the file: the dry run shows the upgrade node by node, in order, and changes nothing`,
      async () => {
        if (!(await createTestBundle(t, plan137, bundle137, { toolbox: true }))) assert.fail("no bundle for v1.37.2");
        await writeFile(file, stringify(at137));
        const dry = await kubelab("up", "-f", file, "--bundle", bundle137, "--dry-run");
        assert.equal(dry.code, 0, `${dry.out}\n${dry.err}`);
        const text = `${dry.out}\n${dry.err}`;
        const apply = at(
          text,
          new RegExp(`master-1: would kubeadm upgrade apply -y ${TO} \\(control plane ${FROM} -> ${TO}\\)`),
        );
        const w1 = at(text, new RegExp(`worker-1: would kubeadm upgrade node \\(worker, ${FROM} -> ${TO}\\)`));
        const w2 = at(text, new RegExp(`worker-2: would kubeadm upgrade node \\(worker, ${FROM} -> ${TO}\\)`));
        assert.ok(apply < w1 && w1 < w2, text);
        at(text, new RegExp(`worker-2: would drain \\(kubelet ${FROM} -> ${TO}\\)`));
        assert.equal(await clusterVersion(), FROM);
        assert.deepEqual(await nodeVersions(), Object.fromEntries(NODES.map((n) => [n, FROM])));
      },
    );

    await step(
      "up stops at worker-1's kubeadm upgrade node: the control plane is upgraded, the workers are not",
      async () => {
        loop = requestLoop(url);
        const worker1 = hosts.get("worker-1") as Remote;
        await worker1.writeFile(WRAPPER, FAILING_UPGRADE_NODE, 0o755);
        try {
          const r = await kubelab("up", "-f", file, "--bundle", bundle137);
          assert.equal(r.code, 1, `${r.out}\n${r.err}`);
          assert.match(r.err, /worker-1[\s\S]*kubeadm upgrade node/);
        } finally {
          await worker1.run(["rm", "-f", WRAPPER]);
        }
        assert.equal(await clusterVersion(), TO);
        const v = await nodeVersions();
        assert.deepEqual(v, { "master-1": TO, "worker-1": FROM, "worker-2": FROM });
      },
    );

    await step(
      "the next up continues: master-1 is left alone, worker-1 from its kubeadm upgrade node, then worker-2",
      async () => {
        const r = await kubelab("up", "-f", file, "--bundle", bundle137);
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        const log = await runLog(r.out);
        assert.doesNotMatch(log, /master-1: kubeadm upgrade apply/);
        assert.doesNotMatch(log, /worker-1: upgrade the kubeadm package/);
        const w1 = at(log, new RegExp(`worker-1: kubeadm upgrade node \\(worker, ${FROM} -> ${TO}\\)`));
        const w1back = at(log, /worker-1: uncordon/);
        const w2 = at(log, new RegExp(`worker-2: upgrade the kubeadm package ${FROM} -> ${TO}`));
        assert.ok(w1 < w1back && w1back < w2, log);
        const { sent, failed, failures } = await (loop as ReturnType<typeof requestLoop>).stop();
        loop = undefined;
        t.diagnostic(
          `requests to the LoadBalancer address during the upgrade: ${sent} sent, ${failed} failed${
            failed > 0 ? ` (${[...failures].map(([why, n]) => `${n}x ${why}`).join("; ")})` : ""
          }`,
        );
        assert.ok(sent > 0);
      },
    );

    await step(
      `every node runs ${TO}: Nodes, packages held, kubeadm-config; kubeadm has nothing to upgrade`,
      async () => {
        assert.deepEqual(await nodeVersions(), Object.fromEntries(NODES.map((n) => [n, TO])));
        assert.equal(await clusterVersion(), TO);
        for (const n of NODES) {
          const host = hosts.get(n) as Remote;
          // dpkg-query's default format: "<package>\t<version>" a line.
          const pkgs = await host.run(["dpkg-query", "-W", "kubeadm", "kubelet", "kubectl"]);
          assert.deepEqual(
            pkgs
              .trim()
              .split("\n")
              .map((l) => l.trim().split(/\s+/).join(" "))
              .sort(),
            ["kubeadm", "kubectl", "kubelet"].map((p) => `${p} ${plan137.kubernetes.packageVersion}`),
            n,
          );
          assert.deepEqual((await host.run(["apt-mark", "showhold"])).trim().split("\n").sort(), [
            "kubeadm",
            "kubectl",
            "kubelet",
          ]);
          // Nothing left cordoned.
          const node = (await listNodes(kc)).find((x) => x.metadata?.name === n);
          assert.notEqual(node?.spec?.unschedulable, true, `${n} is still cordoned`);
        }
        const plan = await master().exec(["kubeadm", "upgrade", "plan", "--v=1"], { timeoutMs: 300_000 });
        assert.equal(plan.code, 0, plan.stderr);
        assert.match(`${plan.stdout}\n${plan.stderr}`, /you're up-to-date/);
        assert.equal((await master().exec(["test", "-f", ADMIN_CONF])).code, 0);
        assert.match(await httpFromHost(url), /^web on /);
      },
    );

    await step("up again changes nothing", async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle137);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(r.out, /0 changes made/);
    });

    await step(
      `back to ${FROM} in the file: refused before anything changes (exit 2, the way that is allowed)`,
      async () => {
        await writeFile(file, stringify(at136));
        // No bundle: the check stops up before anything would be installed (and v1.36.3's bundle
        // is no longer trusted: the test trusts the last bundle it made).
        const r = await kubelab("up", "-f", file);
        assert.equal(r.code, 2, `${r.out}\n${r.err}`);
        assert.match(
          r.err,
          new RegExp(`${TO.replaceAll(".", "\\.")} -> ${FROM.replaceAll(".", "\\.")} is a downgrade`),
        );
        assert.deepEqual(await nodeVersions(), Object.fromEntries(NODES.map((n) => [n, TO])));
      },
    );
  });
});

/**
 * MetalLB for real, on nspawn machines: its controller and speaker built from
 * go.universe.tf/metallb at the pinned version, the pinned native manifest unchanged, the
 * pool on the test bridge. A cluster made without addons gets MetalLB from a later `up`
 * (the test pod network stands in for Calico, which test/lab runs for real); a
 * LoadBalancer Service then gets a pool address, and this host, on the test bridge, gets an
 * ARP answer for it from a node and a TCP answer from the pod behind it: the lab's classic
 * "LoadBalancer IP never answers from the host", shown working end to end.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { kubeConfig, listNodes, poll, waitNodes } from "../../src/kube/client.js";
import { clusterDir } from "../../src/plan/cluster-dir.js";
import { validateCluster } from "../../src/plan/validate.js";
import { bridgeName } from "../../src/providers/nspawn/network.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import { connectAll, hostKeyPolicy } from "../../src/remote/connect-all.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario } from "../helpers/cli-scenario.js";
import { announcer, httpFromHost, loadBalancerAddress } from "../helpers/loadbalancer.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";

describe("MetalLB on nspawn machines", () => {
  it("a LoadBalancer Service gets a pool address that answers ARP and TCP on the test bridge; up again changes nothing", async (t) => {
    if (!requireNspawn(t)) return;
    const made = nspawnTestCluster("m", { workers: 1 });
    const metallbSection = (made.raw.addons as { metallb: { pools: string[] } }).metallb;
    const pool = metallbSection.pools[0] ?? "";
    const bare = { ...made.raw, addons: NO_ADDONS };
    const withMetallb = { ...made.raw, addons: { ...NO_ADDONS, metallb: { enabled: true, pools: [pool] } } };
    const full = validateCluster(withMetallb);
    assert.ok(full.ok, JSON.stringify(!full.ok && full.errors));
    const plan = full.plan;
    const name = plan.name;
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "metallb-e2e");
    // One bundle for both runs: made for the plan with MetalLB (its manifest and images).
    const bundle = join(dir, "bundle");
    const manifest = await createTestBundle(t, plan, bundle);
    if (!manifest) return;
    assert.deepEqual(
      manifest.images.map((i) => i.name).filter((n) => n.includes("metallb")),
      ["quay.io/metallb/controller:v0.16.1", "quay.io/metallb/speaker:v0.16.1"],
    );

    const step = steps(t);
    // What one step finds and later ones use.
    let kc: KubeConfig;
    let core: CoreV1Api;
    let ip: string;
    let mac: string;
    let nodeMacs: string[];

    await step("up without addons, then the test pod network: every node Ready", async () => {
      await writeFile(file, stringify(bare));
      const first = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(first.code, 0, `${first.out}\n${first.err}`);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      const machines = await nspawnProvider.list(plan, { clusterDir: clusterDir(plan, file), log: () => {} });
      for (const [k, v] of await connectAll(plan, machines, {
        clusterDir: clusterDir(plan, file),
        policy: hostKeyPolicy(),
        concurrency: 2,
      }))
        hosts.set(k, v);
      await installTestCni(plan, hosts, await listNodes(kc));
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ready: true, timeoutMs: 240_000 },
      );
    });

    await step("MetalLB added to the file: the next up applies it, waits for it, then the pool", async () => {
      await writeFile(file, stringify(withMetallb));
      const second = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(second.code, 0, `${second.out}\n${second.err}`);
      assert.match(second.err, /✓ MetalLB v0\.16\.1/);
      assert.match(second.err, /✓ MetalLB address pool and L2 advertisement/);
    });

    await step("a LoadBalancer Service gets an address from the pool", async () => {
      // In front of CoreDNS's health endpoint (an image every node holds).
      core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedService({
        namespace: "kube-system",
        body: {
          metadata: { name: "lb-probe" },
          spec: {
            type: "LoadBalancer",
            externalTrafficPolicy: "Cluster",
            selector: { "k8s-app": "kube-dns" },
            ports: [{ name: "health", port: 80, targetPort: 8080, protocol: "TCP" }],
          },
        },
      });
      ip = await loadBalancerAddress(core, "kube-system", "lb-probe", pool);
    });

    await step("the address answers TCP from this host on the test bridge, after ARP from a node", async () => {
      // A TCP answer (CoreDNS says OK) ...
      const body = await httpFromHost(`http://${ip}/health`);
      assert.equal(body.trim(), "OK");
      // ... after an ARP answer from a node: the host's neighbour entry on the bridge is a node's MAC.
      ({ mac, nodeMacs } = await announcer(bridgeName(name), ip, hosts));
    });

    await step("up again changes nothing", async () => {
      const third = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(third.code, 0, third.err);
      assert.match(third.out, /0 changes made/);
    });

    await step("doctor passes every check that applies on the working cluster, the probe included", async () => {
      const green = await kubelab("doctor", "-f", file, "-v");
      assert.equal(green.code, 0, `${green.out}\n${green.err}`);
      assert.match(green.out, /^0 failed, 0 warned, \d+ passed/m);
      assert.match(
        green.out,
        new RegExp(
          `✓ probe\\.loadbalancer[\\s\\S]*Service kube-system/lb-probe ${ip.replaceAll(".", "\\.")}: ARP from node (master|worker)-1`,
        ),
      );
    });

    await step("doctor names a node that answers ARP for the address but drops the TCP SYNs to it", async () => {
      const announcer = [...hosts.values()][nodeMacs.indexOf(mac)] as Remote;
      const drop = ["PREROUTING", "-d", ip, "-p", "tcp", "-j", "DROP"];
      await announcer.run(["iptables", "-t", "raw", "-I", ...drop]);
      const silent = await kubelab("doctor", "-f", file, "--check", "probe.loadbalancer");
      assert.equal(silent.code, 1, silent.out);
      assert.match(
        silent.out,
        new RegExp(`ARP answered by .* but TCP SYNs to ${ip.replaceAll(".", "\\.")}:80 get no answer`),
      );
      await announcer.run(["iptables", "-t", "raw", "-D", ...drop]);
    });

    await step("doctor names kube-proxy switched to IPVS without strictARP", async () => {
      const proxy = await core.readNamespacedConfigMap({ name: "kube-proxy", namespace: "kube-system" });
      const conf = parse(proxy.data?.["config.conf"] ?? "") as { mode?: string; ipvs?: Record<string, unknown> };
      conf.mode = "ipvs";
      conf.ipvs = { ...conf.ipvs, strictARP: false };
      await core.replaceNamespacedConfigMap({
        name: "kube-proxy",
        namespace: "kube-system",
        body: { ...proxy, data: { ...proxy.data, "config.conf": stringify(conf) } },
      });
      const ipvs = await kubelab("doctor", "-f", file, "--check", "kube-proxy.mode");
      assert.equal(ipvs.code, 1, ipvs.out);
      assert.match(ipvs.out, /✗ kube-proxy\.mode[\s\S]*strictARP/);
    });

    await step("doctor names a node without localhost and an address no node may announce", async () => {
      // A node whose /etc/hosts lost `127.0.0.1 localhost`.
      const worker = hosts.get("worker-1") as Remote;
      await worker.run(["sed", "-i", "/^127\\.0\\.0\\.1/d", "/etc/hosts"]);
      // No node may announce LoadBalancer addresses any more: ARP goes unanswered from the host.
      for (const node of await listNodes(kc)) {
        const nodeName = node.metadata?.name ?? "";
        const fresh = await core.readNode({ name: nodeName });
        fresh.metadata = {
          ...fresh.metadata,
          labels: { ...fresh.metadata?.labels, "node.kubernetes.io/exclude-from-external-load-balancers": "" },
        };
        await core.replaceNode({ name: nodeName, body: fresh });
      }
      const broken = await poll(
        "doctor sees both breaks",
        async () => {
          const r = await kubelab("doctor", "-f", file);
          return /✗ probe\.loadbalancer/.test(r.out) ? { done: true, value: r } : { done: false, pending: r.out };
        },
        { timeoutMs: 120_000, intervalMs: 3_000 },
      );
      assert.equal(broken.code, 1);
      assert.match(broken.out, /✗ node\.hosts-localhost[\s\S]*worker-1: /);
      assert.match(broken.out, new RegExp(`no ARP reply for ${ip.replaceAll(".", "\\.")}`));
    });
  });
});

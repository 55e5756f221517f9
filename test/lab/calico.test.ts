/**
 * The default lab's network for real: Calico v3.32.1 (its node, cni and kube-controllers images
 * built from source, scripts/dev-tools/calico-images.sh) on 1 control plane + 2 workers as
 * nspawn nodes, offline from a test bundle, over VXLAN (this project's test machines have no
 * IPIP in their kernel), with MetalLB's pool on the test bridge. One scenario, in steps: the
 * cluster first without a CNI (doctor's node.ready names it), then Calico; pod-to-pod traffic
 * across nodes and DNS; a
 * NetworkPolicy enforced; MetalLB beside Calico; a second `up` that changes nothing; and felix's
 * health endpoint on nodes whose resolver cannot answer `localhost`, with and without kubelab's
 * FELIX_HEALTHHOST=127.0.0.1.
 *
 * Only addresses on the test bridge get traffic: the nodes, the pool, and the address the
 * broken resolver points at (a free one in the cluster's /24, which nothing answers).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  type V1Node,
  type V1Pod,
} from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { CheckResult } from "../../src/doctor/types.js";
import { kubeConfig, poll, waitNodes } from "../../src/kube/client.js";
import { containsAddress, parseCidr } from "../../src/net/ipv4.js";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import { bridgeName } from "../../src/providers/nspawn/network.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { kubectlWith } from "../helpers/kubectl.js";
import { announcer, httpFromHost, loadBalancerAddress } from "../helpers/loadbalancer.js";
import { appliedObjects } from "../helpers/managed-objects.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { clientPod, toolboxImage, WEB_PORT, webPod } from "../helpers/toolbox.js";

/** The doctor check that reads node conditions and names why a node is not Ready. */
const NODE_READY = "node.ready";
const FELIX_CHECK = "calico.felix-health-localhost";
/** felix's line when its health endpoint cannot resolve the name it binds (libcalico-go's health.go). */
const FELIX_LOOKUP_FAILED = /Health endpoint failed, trying to restart it\.\.\. error=listen tcp: lookup localhost/;
const NS = "lab";

const podReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
const restarts = (p: V1Pod) => p.status?.containerStatuses?.find((c) => c.name === "calico-node")?.restartCount ?? 0;
const noHealthHost = (p: V1Pod) =>
  !(p.spec?.containers ?? []).some((c) => c.env?.some((e) => e.name === "FELIX_HEALTHHOST"));
const kubeletReason = (n: V1Node) => {
  const c = n.status?.conditions?.find((x) => x.type === "Ready");
  return `${c?.status} ${c?.reason}: ${c?.message}`;
};

/** The findings of one check in `kubelab doctor -o json` output. */
function checkResult(out: string, id: string): CheckResult {
  const parsed = JSON.parse(out) as { results: CheckResult[] };
  const found = parsed.results.find((r) => r.id === id);
  assert.ok(found, `no ${id} in doctor's output: ${out.slice(0, 2000)}`);
  return found;
}

/** An address in the cluster's /24 that no node, pool address or the host has: nothing answers it. */
function silentAddress(plan: Plan, pool: string): string {
  const [from = "", to = ""] = pool.split("-");
  const octet = (a: string) => Number(a.split(".").at(-1));
  const prefix = plan.network.gateway.slice(0, plan.network.gateway.lastIndexOf(".") + 1);
  for (let last = 250; last > 1; last--) {
    const ip = `${prefix}${last}`;
    const taken =
      plan.nodes.some((n) => n.ip === ip) ||
      ip === plan.network.gateway ||
      (last >= octet(from) && last <= octet(to)) ||
      !containsAddress(plan.network.block, ip);
    if (!taken) return ip;
  }
  throw new Error(`no free address in ${plan.network.cidr}`);
}

describe("Calico on nspawn machines (the full default lab, offline)", () => {
  it("no CNI: nodes NotReady; Calico over VXLAN: pods talk across nodes, policy, MetalLB, idempotent, felix's localhost", async (t) => {
    if (!requireNspawn(t)) return;
    const made = nspawnTestCluster("cal", { workers: 2 });
    const defaults = made.raw.addons as { cni: Record<string, unknown>; metallb: { pools: string[] } };
    const pool = defaults.metallb.pools[0] ?? "";
    const full = { ...made.raw, addons: { ...defaults, ui: "none", linkerd: { enabled: false } } };
    const bare = { ...made.raw, addons: NO_ADDONS };
    const validated = validateCluster(full);
    assert.ok(validated.ok, JSON.stringify(!validated.ok && validated.errors));
    const plan = validated.plan;
    assert.equal(plan.addons.cni.plugin, "calico");
    assert.equal(plan.addons.cni.plugin === "calico" && plan.addons.cni.encapsulation, "vxlan");

    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "calico-lab");
    // One bundle for every run: made for the full plan (Calico's and MetalLB's images), plus
    // the toolbox the test pods run.
    const bundle = join(dir, "bundle");
    const manifest = await createTestBundle(t, plan, bundle, { toolbox: true });
    if (!manifest) return;
    assert.deepEqual(
      manifest.images
        .map((i) => i.name)
        .filter((n) => n.includes("calico"))
        .sort(),
      ["quay.io/calico/cni:v3.32.1", "quay.io/calico/kube-controllers:v3.32.1", "quay.io/calico/node:v3.32.1"],
    );
    const image = await toolboxImage();
    const kubectl = kubectlWith(kubeconfig);
    const step = steps(t);
    const up = async (...extra: string[]) => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle, ...extra);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      return r;
    };
    // What one step finds and later ones use.
    let kc: KubeConfig;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    let webIp: string;
    const calicoPods = async () =>
      (await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=calico-node" })).items;
    /** Every node has a Ready calico-node pod (and only one), none of them on its way out. */
    const calicoReadyEverywhere = () =>
      poll(
        "calico-node Ready on every node",
        async () => {
          const pods = (await calicoPods()).filter((p) => !p.metadata?.deletionTimestamp);
          const ready = pods.filter(podReady).map((p) => p.spec?.nodeName);
          const missing = plan.nodes.map((n) => n.name).filter((n) => !ready.includes(n));
          return missing.length === 0 && pods.length === plan.nodes.length
            ? { done: true, value: pods }
            : { done: false, pending: `not Ready on ${missing.join(", ")} (${pods.length} pods)` };
        },
        { timeoutMs: 300_000, intervalMs: 3_000 },
      );
    const exec = (pod: string, ...argv: string[]) => kubectl("-n", NS, "exec", pod, "--", ...argv);
    /** A request from the client pod: what it got, or the failure. */
    const fetchFromClient = (url: string) => exec("client", "timeout", "5", "wget", "-q", "-O", "-", url);

    await step("up without a CNI: every node registers NotReady, the kubelet naming the network plugin", async () => {
      await writeFile(file, stringify(bare));
      await up();
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      core = kc.makeApiClient(CoreV1Api);
      apps = kc.makeApiClient(AppsV1Api);
      await connectNodes(plan, { file, hosts });
      const nodes = await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { timeoutMs: 120_000 },
      );
      for (const n of nodes) {
        assert.match(kubeletReason(n), /^False KubeletNotReady: .*(NetworkPluginNotReady|cni)/, n.metadata?.name);
      }
      for (const h of hosts.values()) {
        const conf = await h.exec(["sh", "-c", "ls /etc/cni/net.d 2>/dev/null"]);
        assert.equal(conf.stdout.trim(), "", `${h.node} has a CNI configuration before Calico`);
      }
    });

    await step(`doctor ${NODE_READY} fails on every node, naming "no CNI"`, async () => {
      const r = await kubelab("doctor", "-f", file, "-o", "json", "--check", NODE_READY);
      assert.equal(r.code, 1, r.out);
      const result = checkResult(r.out, NODE_READY);
      assert.equal(result.verdict, "fail");
      for (const n of plan.nodes) {
        const f = result.findings.find((x) => x.subject?.includes(n.name));
        assert.ok(f, `no ${NODE_READY} finding for ${n.name}`);
        assert.equal(f.verdict, "fail");
        const text = f.evidence.join("\n");
        assert.match(text, /NetworkPluginNotReady|cni plugin not initialized|no networks found/i);
        assert.match(text, /no CNI/);
      }
    });

    await step(
      "up with Calico: nodes Ready, calico-node Ready on each, kube-controllers Available, CoreDNS Running",
      async () => {
        await writeFile(file, stringify(full));
        const r = await up();
        assert.match(r.err, /✓ Calico v3\.32\.1/);
        assert.match(r.err, /✓ MetalLB v0\.16\.1/);
        await waitNodes(
          kc,
          plan.nodes.map((n) => n.name),
          { ready: true, timeoutMs: 240_000 },
        );
        const pods = await calicoReadyEverywhere();
        assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), plan.nodes.map((n) => n.name).sort());
        const controllers = await apps.readNamespacedDeployment({
          name: "calico-kube-controllers",
          namespace: "kube-system",
        });
        assert.equal(controllers.status?.conditions?.find((c) => c.type === "Available")?.status, "True");
        const dns = await poll(
          "CoreDNS Running and Ready",
          async () => {
            const items = (
              await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=kube-dns" })
            ).items;
            const ok = items.length > 0 && items.every((p) => p.status?.phase === "Running" && podReady(p));
            return ok
              ? { done: true, value: items }
              : { done: false, pending: items.map((p) => p.status?.phase).join(", ") };
          },
          { timeoutMs: 180_000 },
        );
        assert.ok(dns.length >= 1);
        // Calico's own VXLAN device on every node, the tunnel pod traffic between nodes takes.
        for (const h of hosts.values()) {
          const link = await h.run(["ip", "-d", "link", "show", "vxlan.calico"]);
          assert.match(link, /vxlan id 4096/, `${h.node}: ${link}`);
        }
      },
    );

    await step(`doctor ${NODE_READY} passes on every node`, async () => {
      const r = await kubelab("doctor", "-f", file, "-o", "json", "--check", NODE_READY);
      assert.equal(r.code, 0, r.out);
      assert.equal(checkResult(r.out, NODE_READY).verdict, "pass");
    });

    await step(
      "pods on two workers reach each other by pod IP over VXLAN, and by Service name through CoreDNS",
      async () => {
        await core.createNamespace({ body: { metadata: { name: NS } } });
        await core.createNamespacedPod({ namespace: NS, body: webPod(image, "web", "worker-1", { app: "web" }) });
        await core.createNamespacedPod({ namespace: NS, body: clientPod(image, "client", "worker-2") });
        await core.createNamespacedService({
          namespace: NS,
          body: {
            metadata: { name: "web" },
            spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: WEB_PORT }] },
          },
        });
        const [web, client] = await poll(
          "web and client Ready",
          async () => {
            const items = (await core.listNamespacedPod({ namespace: NS })).items;
            const get = (n: string) => items.find((p) => p.metadata?.name === n);
            const pair = [get("web"), get("client")];
            return pair.every((p) => p && podReady(p))
              ? { done: true, value: pair as V1Pod[] }
              : { done: false, pending: pair.map((p) => p?.status?.phase).join(", ") };
          },
          { timeoutMs: 120_000 },
        );
        assert.notEqual(web?.spec?.nodeName, client?.spec?.nodeName);
        webIp = web?.status?.podIP ?? "";
        const pods = parseCidr(plan.kubernetes.podSubnet);
        assert.ok(
          pods && containsAddress(pods, webIp),
          `${webIp} is not in the pod subnet ${plan.kubernetes.podSubnet}`,
        );
        // worker-2 sends worker-1's pods' traffic into Calico's VXLAN device.
        const route = await (hosts.get("worker-2") as Remote).run(["ip", "route", "get", webIp]);
        assert.match(route, /dev vxlan\.calico/, route);
        const byIp = await fetchFromClient(`http://${webIp}:${WEB_PORT}/`);
        assert.equal(byIp.code, 0, byIp.err);
        assert.equal(byIp.out.trim(), "web on worker-1");
        const looked = await exec("client", "nslookup", `web.${NS}.svc.${plan.kubernetes.dnsDomain}`);
        assert.equal(looked.code, 0, `${looked.out}\n${looked.err}`);
        const svc = await core.readNamespacedService({ name: "web", namespace: NS });
        assert.match(looked.out, new RegExp(`Address:\\s*${(svc.spec?.clusterIP ?? "?").replaceAll(".", "\\.")}`));
        const byName = await fetchFromClient("http://web/");
        assert.equal(byName.code, 0, byName.err);
        assert.equal(byName.out.trim(), "web on worker-1");
      },
    );

    await step(
      "a default-deny ingress NetworkPolicy blocks the request; deleting it lets it through again",
      async () => {
        const net = kc.makeApiClient(NetworkingV1Api);
        await net.createNamespacedNetworkPolicy({
          namespace: NS,
          body: { metadata: { name: "default-deny-ingress" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } },
        });
        const blocked = await poll(
          "the request blocked",
          async () => {
            const r = await fetchFromClient(`http://${webIp}:${WEB_PORT}/`);
            return r.code !== 0 ? { done: true, value: r } : { done: false, pending: `answered: ${r.out.trim()}` };
          },
          { timeoutMs: 60_000, intervalMs: 1_000 },
        );
        assert.notEqual(blocked.code, 0);
        await net.deleteNamespacedNetworkPolicy({ name: "default-deny-ingress", namespace: NS });
        const open = await poll(
          "the request answered again",
          async () => {
            const r = await fetchFromClient(`http://${webIp}:${WEB_PORT}/`);
            return r.code === 0 ? { done: true, value: r } : { done: false, pending: r.err.trim() };
          },
          { timeoutMs: 60_000, intervalMs: 1_000 },
        );
        assert.equal(open.out.trim(), "web on worker-1");
      },
    );

    await step(
      "MetalLB with Calico: a LoadBalancer Service answers ARP and TCP from this host on the test bridge",
      async () => {
        await core.createNamespacedService({
          namespace: NS,
          body: {
            metadata: { name: "web-lb" },
            spec: {
              type: "LoadBalancer",
              externalTrafficPolicy: "Cluster",
              selector: { app: "web" },
              ports: [{ name: "http", port: 80, targetPort: WEB_PORT }],
            },
          },
        });
        const ip = await loadBalancerAddress(core, NS, "web-lb", pool);
        assert.equal((await httpFromHost(`http://${ip}/`)).trim(), "web on worker-1");
        await announcer(bridgeName(plan.name), ip, hosts);
      },
    );

    await step("doctor passes every check that applies on the working Calico lab", async () => {
      const r = await kubelab("doctor", "-f", file, "-v");
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.match(r.out, /^0 failed, 0 warned, \d+ passed/m);
      for (const id of [NODE_READY, FELIX_CHECK, "calico.node-address", "probe.loadbalancer"])
        assert.match(r.out, new RegExp(`✓ ${id.replaceAll(".", "\\.")}`));
    });

    await step("up again changes nothing: 0 changes, no object of kubelab's written", async () => {
      const before = await appliedObjects(kc);
      assert.ok(before.size > 20, `only ${before.size} objects carry kubelab's field manager`);
      const r = await up();
      assert.match(r.out, /\b0 changes made/);
      const after = await appliedObjects(kc);
      const changed = [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
      assert.deepEqual(changed, []);
      assert.equal(after.size, before.size);
    });

    await step(
      "felix on nodes that cannot resolve localhost: FELIX_HEALTHHOST=127.0.0.1 keeps calico-node Ready",
      async () => {
        const silent = silentAddress(plan, pool);
        t.diagnostic(`the nodes' resolver points at ${silent}, which nothing on the test bridge answers`);
        await Promise.all(
          [...hosts.values()].map(async (h) => {
            // Every localhost line goes (`::1 localhost` would do as well as 127.0.0.1 for felix).
            await h.run(["sed", "-i", "/\\blocalhost\\b/d", "/etc/hosts"]);
            // The file the kubelet gives host-network pods, and the node's own.
            const kubelet = (await h.readFile("/var/lib/kubelet/config.yaml")) ?? "";
            const resolvConf = /^resolvConf:\s*(\S+)/m.exec(kubelet)?.[1] ?? "/etc/resolv.conf";
            for (const path of new Set([resolvConf, "/etc/resolv.conf"]))
              await h.writeFile(path, `nameserver ${silent}\n`, 0o644);
          }),
        );
        // The kubelet copies a host-network pod's hosts and resolv.conf when it makes the pod.
        await core.deleteCollectionNamespacedPod({ namespace: "kube-system", labelSelector: "k8s-app=calico-node" });
        const pods = await calicoReadyEverywhere();
        const name = pods[0]?.metadata?.name ?? "";
        const inPod = (...argv: string[]) =>
          kubectl("-n", "kube-system", "exec", name, "-c", "calico-node", "--", ...argv);
        const hostsFile = await inPod("cat", "/etc/hosts");
        assert.doesNotMatch(hostsFile.out, /\blocalhost\b/);
        assert.match(
          (await inPod("cat", "/etc/resolv.conf")).out,
          new RegExp(`nameserver ${silent.replaceAll(".", "\\.")}`),
        );
        const lookup = await inPod("getent", "hosts", "localhost");
        assert.notEqual(lookup.code, 0, `localhost resolved in ${name}: ${lookup.out}`);
        // Past the liveness probe's patience (10 s delay + 6 failures 10 s apart): still Ready, never restarted.
        await new Promise((r) => setTimeout(r, 90_000));
        const later = await calicoPods();
        for (const p of later) {
          assert.ok(podReady(p), `${p.metadata?.name} not Ready`);
          assert.equal(restarts(p), 0, `${p.metadata?.name} restarted`);
        }
      },
    );

    await step(
      "FELIX_HEALTHHOST removed: calico-node fails its health checks and restarts; doctor names it from felix's log",
      async () => {
        const unset = await kubectl(
          "-n",
          "kube-system",
          "set",
          "env",
          "ds/calico-node",
          "-c",
          "calico-node",
          "FELIX_HEALTHHOST-",
        );
        assert.equal(unset.code, 0, unset.err);
        const broken = await poll(
          "a calico-node without FELIX_HEALTHHOST restarted",
          async () => {
            const pod = (await calicoPods()).find((p) => noHealthHost(p) && restarts(p) > 0);
            return pod ? { done: true, value: pod } : { done: false, pending: "no restart yet" };
          },
          { timeoutMs: 360_000, intervalMs: 5_000 },
        );
        const podName = broken.metadata?.name ?? "";
        const previous = await core.readNamespacedPodLog({
          name: podName,
          namespace: "kube-system",
          container: "calico-node",
          previous: true,
        });
        const felixLines = previous.split("\n").filter((l) => FELIX_LOOKUP_FAILED.test(l));
        t.diagnostic(`${podName}, previous container: ${felixLines.length} lines like ${felixLines[0]}`);
        assert.ok(
          felixLines.length > 0,
          `no "Health endpoint failed ... lookup localhost" in\n${previous.slice(-3000)}`,
        );
        // The kubelet killed it for its liveness probe (the probe asks felix at localhost:9099, too).
        const events = (
          await core.listNamespacedEvent({ namespace: "kube-system", fieldSelector: `involvedObject.name=${podName}` })
        ).items.map((e) => `${e.reason}: ${e.message}`);
        t.diagnostic(events.filter((e) => /Unhealthy|Killing/.test(e)).join(" | "));
        assert.ok(
          events.some((e) => /^Killing: .*failed liveness probe/.test(e)),
          events.join("\n"),
        );
        const r = await kubelab("doctor", "-f", file, "--check", FELIX_CHECK, "-v");
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, new RegExp(`✗ ${FELIX_CHECK.replaceAll(".", "\\.")}`));
        assert.match(r.out, new RegExp(`Pod kube-system/${podName}`));
        assert.match(r.out, FELIX_LOOKUP_FAILED);
        assert.match(r.out, /no FELIX_HEALTHHOST/);
        assert.match(r.out, /FELIX_HEALTHHOST=127\.0\.0\.1/);
      },
    );

    await step("up puts FELIX_HEALTHHOST back (taking the field back if need be): calico-node recovers", async () => {
      const plain = await kubelab("up", "-f", file, "--bundle", bundle);
      const conflict = plain.code !== 0 && /conflict/i.test(`${plain.out}\n${plain.err}`);
      t.diagnostic(
        conflict ? "up stopped on a field conflict: again with --force-conflicts" : "up without --force-conflicts",
      );
      const done = conflict ? await up("--force-conflicts") : plain;
      assert.equal(done.code, 0, `${done.out}\n${done.err}`);
      // Node preparation also put `127.0.0.1 localhost` back into every node's /etc/hosts.
      assert.match(done.out, /\b[1-9]\d* changes? made/);
      for (const h of hosts.values())
        assert.match((await h.readFile("/etc/hosts")) ?? "", /^127\.0\.0\.1\s+localhost\b/m);
      const ds = await apps.readNamespacedDaemonSet({ name: "calico-node", namespace: "kube-system" });
      const env = ds.spec?.template.spec?.containers.find((c) => c.name === "calico-node")?.env ?? [];
      assert.deepEqual(
        env.filter((e) => e.name === "FELIX_HEALTHHOST").map((e) => ({ name: e.name, value: e.value })),
        [{ name: "FELIX_HEALTHHOST", value: "127.0.0.1" }],
      );
      const pods = await calicoReadyEverywhere();
      for (const p of pods) {
        assert.ok(!noHealthHost(p), `${p.metadata?.name} runs without FELIX_HEALTHHOST`);
        assert.equal(restarts(p), 0, `${p.metadata?.name} restarted`);
      }
    });
  });
});

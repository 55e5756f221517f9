/**
 * The kubelab CLI on real nspawn machines, offline, with Kubernetes built from source here:
 * `up --bundle` from a cluster file makes a kubeadm cluster (1 control plane + 2 workers)
 * and merges its kubeconfig; with a test-only pod network the nodes become Ready, a pod runs
 * on a worker and answers from the control plane; a second `up` changes nothing; `status`,
 * `ssh`, `up --dry-run` (with --detailed-exitcode's 0 and 2); `down` leaves nothing behind and removes the context.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { CoreV1Api, type KubeConfig, type V1Node } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeConfig, listNodes, poll, waitNodes } from "../../src/kube/client.js";
import { clusterDir } from "../../src/plan/cluster-dir.js";
import type { Plan } from "../../src/plan/types.js";
import { validateCluster } from "../../src/plan/validate.js";
import { bridgeName } from "../../src/providers/nspawn/network.js";
import { nspawnProvider } from "../../src/providers/nspawn/provider.js";
import { connectAll, hostKeyPolicy } from "../../src/remote/connect-all.js";
import type { Remote } from "../../src/remote/types.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, OTHER_KUBECONFIG as OTHER } from "../helpers/cli-scenario.js";
import { NO_ADDONS, nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { installTestCni } from "../helpers/test-cni.js";
import { requireTool } from "../helpers/tools.js";

const execFileP = promisify(execFile);

describe("kubelab CLI on nspawn machines", () => {
  it("up --bundle makes a working cluster; up again changes nothing; an added worker joins; status, ssh, dry run; down removes it", async (t) => {
    if (!requireNspawn(t)) return;
    const kubectl = requireTool(t, "kubectl");
    if (!kubectl) return;
    // Addons come with the addons issue's tests; kubeadm's own images are all built here.
    const { raw, plan } = nspawnTestCluster("c", { workers: 2 }, { addons: NO_ADDONS });
    const name = plan.name;
    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "cli-e2e");
    await writeFile(file, stringify(raw));
    // The user's kubeconfig already holds another cluster's context.
    await writeFile(kubeconfig, OTHER);
    const bundle = join(dir, "bundle");
    if (!(await createTestBundle(t, plan, bundle))) return;

    const step = steps(t);
    // What one step finds and later ones use.
    let kc: KubeConfig;
    let nodes: V1Node[];
    let plan4: Plan;

    await step("up --bundle makes the cluster and merges its context into the user's kubeconfig", async () => {
      const first = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(first.code, 0, `${first.out}\n${first.err}`);
      assert.match(first.out, new RegExp(`cluster ${name}: 3 nodes joined, \\d+ changes made`));
      assert.match(first.out, new RegExp(`kubeconfig: context kubelab-${name} in ${kubeconfig} \\(current context\\)`));
      for (const title of [
        "Create machines",
        "Import container images",
        "Initialise the control plane",
        "Join nodes",
        "Wait for the API server",
      ])
        assert.match(first.err, new RegExp(`✓ ${title}`));
      assert.match(
        first.err,
        /✓ Install kubeadm, kubelet and kubectl \(.*\n {5}master-1 {2}2 changes\n {5}worker-1 {2}2 changes\n {5}worker-2 {2}2 changes\n/,
      );
      const logFile = /log: (\S+)\)/.exec(first.out)?.[1] ?? "";
      const log = await readFile(logFile, "utf8");
      assert.match(log, /master-1: install containerd v2\.3\.4/);
      assert.match(log, /worker-2: kubeadm join \(worker\)/);
      assert.doesNotMatch(log, /[a-z0-9]{6}\.[a-z0-9]{16}/, "no bootstrap token in the run log");
    });

    await step("the API answers this host with the merged kubeconfig; every node is at its plan address", async () => {
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      assert.equal(kc.getCurrentContext(), `kubelab-${name}`);
      nodes = await listNodes(kc);
      assert.deepEqual(
        nodes.map((n) => [n.metadata?.name, n.status?.addresses?.find((a) => a.type === "InternalIP")?.address]).sort(),
        plan.nodes.map((n) => [n.name, n.ip]).sort(),
      );
      const ctl = (...args: string[]) =>
        execFileP(kubectl, ["--context", `kubelab-${name}`, ...args], {
          env: { ...process.env, KUBECONFIG: kubeconfig },
        });
      assert.deepEqual((await ctl("get", "nodes", "-o", "name")).stdout.trim().split("\n").sort(), [
        "node/master-1",
        "node/worker-1",
        "node/worker-2",
      ]);
    });

    await step("kubelab kubeconfig fetches the context again from the control plane", async () => {
      const printed = await kubelab("kubeconfig", "-f", file, "--print");
      assert.equal(printed.code, 0, printed.err);
      assert.match(printed.out, new RegExp(`current-context: kubelab-${name}`));
      assert.match(printed.out, new RegExp(`server: https://${plan.nodes[0]?.ip.replaceAll(".", "\\.")}:6443`));
      const merged = await kubelab("kubeconfig", "-f", file);
      assert.equal(merged.code, 0, merged.err);
      assert.match(merged.out, new RegExp(`context kubelab-${name} written to ${kubeconfig}`));
    });

    await step("with a pod network (test-only bridge CNI) every node becomes Ready", async () => {
      const machines = await nspawnProvider.list(plan, {
        clusterDir: clusterDir(plan, file),
        log: () => {},
      });
      for (const [k, v] of await connectAll(plan, machines, {
        clusterDir: clusterDir(plan, file),
        policy: hostKeyPolicy(),
        concurrency: 3,
      }))
        hosts.set(k, v);
      await installTestCni(plan, hosts, nodes);
      await waitNodes(
        kc,
        plan.nodes.map((n) => n.name),
        { ready: true, timeoutMs: 240_000 },
      );
    });

    await step("a pod on worker-1 answers the control plane over the pod network", async () => {
      // A pod from an image built here (CoreDNS, which workers hold) on a worker, reached from
      // the control plane: its health endpoint over the pod network.
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "hello" }, data: { Corefile: ".:1053 {\n  health :8080\n  whoami\n}\n" } },
      });
      await core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "hello" },
          spec: {
            nodeName: "worker-1",
            containers: [
              {
                name: "dns",
                image: plan.kubernetes.images.coredns,
                imagePullPolicy: "Never",
                args: ["-conf", "/etc/hello/Corefile"],
                volumeMounts: [{ name: "corefile", mountPath: "/etc/hello" }],
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/health", port: 8080 } },
              },
            ],
            volumes: [{ name: "corefile", configMap: { name: "hello" } }],
          },
        },
      });
      const podIP = await poll(
        "pod hello Ready",
        async () => {
          const pod = await core.readNamespacedPod({ name: "hello", namespace: "default" });
          const ready = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
          return ready && pod.status?.podIP
            ? { done: true, value: pod.status.podIP }
            : {
                done: false,
                pending: `phase ${pod.status?.phase}, ${JSON.stringify(pod.status?.containerStatuses?.[0]?.state)}`,
              };
        },
        { timeoutMs: 180_000 },
      );
      const master = hosts.get("master-1") as Remote;
      assert.equal(await master.run(["curl", "-sS", "--max-time", "10", `http://${podIP}:8080/health`]), "OK");
    });

    await step("a second up changes nothing", async () => {
      const again = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, new RegExp(`cluster ${name}: 3 nodes joined, 0 changes made`));
      // terraform plan -detailed-exitcode's convention: 0 when nothing would change.
      const dry = await kubelab("up", "-f", file, "--bundle", bundle, "--dry-run", "--detailed-exitcode");
      assert.equal(dry.code, 0, dry.err);
    });

    await step(
      "a worker added to the file is created, prepared and joined; the others only learn its name",
      async () => {
        const grown = structuredClone(raw) as { nodes: { count: number }[] };
        (grown.nodes[1] as { count: number }).count = 3;
        await writeFile(file, stringify(grown));
        const validated = validateCluster(grown);
        assert.ok(validated.ok);
        plan4 = validated.plan;
        const more = await kubelab("up", "-f", file, "--bundle", bundle, "--verbose");
        assert.equal(more.code, 0, `${more.out}\n${more.err}`);
        assert.match(more.out, new RegExp(`cluster ${name}: 4 nodes joined`));
        assert.match(more.err, /worker-3: kubeadm join \(worker\)/);
        // The other nodes only learn the new worker's name (their /etc/hosts block).
        const others = more.err.split("\n").filter((l) => /^\s+(master-1|worker-1|worker-2): /.test(l));
        assert.deepEqual(others.map((l) => l.trim()).sort(), [
          "master-1: update /etc/hosts",
          "worker-1: update /etc/hosts",
          "worker-2: update /etc/hosts",
        ]);
        const machines4 = await nspawnProvider.list(plan4, {
          clusterDir: clusterDir(plan4, file),
          log: () => {},
        });
        hosts.set(
          "worker-3",
          (
            await connectAll({ ...plan4, nodes: plan4.nodes.filter((n) => n.name === "worker-3") }, machines4, {
              clusterDir: clusterDir(plan4, file),
              policy: hostKeyPolicy(),
              concurrency: 1,
            })
          ).get("worker-3") as Remote,
        );
        await installTestCni(plan4, hosts, await listNodes(kc));
        await waitNodes(
          kc,
          plan4.nodes.map((n) => n.name),
          { ready: true, timeoutMs: 240_000 },
        );
      },
    );

    await step("status lists every node running and prepared", async () => {
      const status = await kubelab("status", "-f", file, "-o", "json");
      assert.equal(status.code, 0, status.err);
      const listed = JSON.parse(status.out).nodes as { node: string; machine: string; prepared: boolean; ip: string }[];
      assert.deepEqual(
        listed.map((n) => [n.node, n.machine, n.prepared, n.ip]),
        plan4.nodes.map((n) => [n.name, "running", true, n.ip]),
      );
    });

    await step("kubelab ssh runs a command on a node and exits with its status", async () => {
      assert.equal(
        (await kubelab("ssh", "-f", file, "worker-2", "--", "test", "$(hostname)", "=", "worker-2")).code,
        0,
      );
      assert.equal((await kubelab("ssh", "-f", file, "worker-2", "--", "false")).code, 1);
      assert.equal((await kubelab("ssh", "-f", file, "worker-9")).code, 2);
    });

    await step("up --dry-run names the one file missing on master-1", async () => {
      await kubelab("ssh", "-f", file, "master-1", "--", "rm", "/etc/default/kubelet");
      const dry = await kubelab("up", "-f", file, "--dry-run");
      assert.equal(dry.code, 0, dry.err);
      assert.match(dry.out, /dry run: 1 change would be made on 1 of 4 nodes/);
      assert.match(dry.err, /master-1: would write \/etc\/default\/kubelet/);
      // For a script: the same changes as data, and nothing else.
      const data = await kubelab("up", "-f", file, "--dry-run", "-q", "-o", "json");
      assert.equal(data.code, 0, data.err);
      assert.equal(data.err, "");
      const summary = JSON.parse(data.out) as { dryRun: boolean; changes: { node: string }[] };
      assert.equal(summary.dryRun, true);
      assert.deepEqual(
        summary.changes.map((c) => c.node),
        ["master-1"],
      );
      // 2 when something would change.
      assert.equal((await kubelab("up", "-f", file, "--dry-run", "--detailed-exitcode")).code, 2);
    });

    await step("down needs --force, then leaves no machine, bridge, directory, process or context", async () => {
      const refused = await kubelab("down", "-f", file);
      assert.equal(refused.code, 2, "without a terminal, down needs --force");
      assert.match(refused.err, /pass --force/);
      await Promise.all([...hosts.values()].map((h) => h.close()));
      hosts.clear();
      const down = await kubelab("down", "-f", file, "--force");
      assert.equal(down.code, 0, down.err);
      assert.match(down.out, new RegExp(`context kubelab-${name} removed from ${kubeconfig}`));
      assert.equal(
        (await execFileP(kubectl, ["--kubeconfig", kubeconfig, "config", "get-contexts", "-o", "name"])).stdout.trim(),
        "other",
      );
      const after = JSON.parse((await kubelab("status", "-f", file, "-o", "json")).out).nodes as { machine: string }[];
      assert.deepEqual(
        after.map((n) => n.machine),
        ["absent", "absent", "absent", "absent"],
      );
      assert.doesNotMatch(execFileSync("ip", ["-o", "link", "show"]).toString(), new RegExp(`${bridgeName(name)}[:@]`));
      assert.equal(existsSync(`/var/lib/kubelab/nspawn/${name}`), false);
      assert.doesNotMatch(execFileSync("ps", ["-eo", "args"]).toString(), new RegExp(`--machine=${name}-`));
    });
  });
});

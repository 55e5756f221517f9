/**
 * Linkerd for real: edge-26.8.3's control plane and proxy (their images built from source,
 * scripts/dev-tools/linkerd-images.sh) on 1 control plane + 2 workers as nspawn nodes, offline
 * from a test bundle, beside Calico (VXLAN) and MetalLB. Meshed pods on two workers talk over
 * mTLS with identities issued from the trust anchor kubelab made and stored: the proxies say so
 * in their metrics, and the server's certificate, read from the connection, chains to that
 * anchor under `openssl verify`. The default inbound policy (all-unauthenticated) lets a pod
 * outside the mesh in. A second `up` restarts nothing; an issuer about to expire is renewed
 * from the same anchor while meshed requests keep succeeding; doctor's Linkerd checks fail and
 * pass on this cluster.
 *
 * Only addresses of the lab get traffic: the nodes on the test bridge and the pods behind them.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { clusterState } from "../../src/addons/linkerd.js";
import { generateLinkerdIdentity } from "../../src/addons/linkerd-identity.js";
import type { CheckResult } from "../../src/doctor/types.js";
import { applyObjects } from "../../src/kube/apply.js";
import { kubeConfig, poll } from "../../src/kube/client.js";
import { validateCluster } from "../../src/plan/validate.js";
import { LINKERD_IDENTITY_SECRET, stateSecret } from "../../src/render/linkerd-values.js";
import { createTestBundle } from "../helpers/bundle.js";
import { kubelab } from "../helpers/cli.js";
import { cliScenario, connectNodes } from "../helpers/cli-scenario.js";
import { kubectlWith } from "../helpers/kubectl.js";
import { nspawnTestCluster, requireNspawn } from "../helpers/nspawn.js";
import { steps } from "../helpers/steps.js";
import { clientPod, toolboxImage, WEB_PORT, webPod } from "../helpers/toolbox.js";

const execFileP = promisify(execFile);
const MESH = "mesh";
const OUTSIDE = "outside";
/** The proxy's admin port (metrics) and its inbound port, as the chart renders them. */
const ADMIN_PORT = 4191;
const INBOUND_PORT = 4143;
const CONTROL_PLANE = ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];

const podReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
/** Every container of a pod, native sidecars (init containers that keep running) included. */
const containerNames = (p: V1Pod) => [
  ...(p.spec?.initContainers ?? []).map((c) => c.name),
  ...(p.spec?.containers ?? []).map((c) => c.name),
];
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const LINKERD_CHECKS = [
  "linkerd.control-plane",
  "linkerd.injection",
  "linkerd.trust-anchor",
  "linkerd.issuer-chain",
  "linkerd.issuer-expiry",
];

describe("Linkerd on nspawn machines (edge-26.8.3 built from source, offline)", () => {
  it("meshed pods on two nodes talk over mTLS from kubelab's trust anchor; up again restarts nothing; the issuer renews", async (t) => {
    if (!requireNspawn(t)) return;
    const made = nspawnTestCluster("l5d", { workers: 2 });
    const defaults = made.raw.addons as Record<string, unknown>;
    const raw = { ...made.raw, addons: { ...defaults, ui: "none", linkerd: { enabled: true } } };
    const validated = validateCluster(raw);
    assert.ok(validated.ok, JSON.stringify(!validated.ok && validated.errors));
    const plan = validated.plan;
    const domain = plan.kubernetes.dnsDomain;
    const serverId = `default.${MESH}.serviceaccount.identity.linkerd.${domain}`;

    const { dir, file, kubeconfig, hosts } = await cliScenario(t, "linkerd-lab");
    const bundle = join(dir, "bundle");
    const manifest = await createTestBundle(t, plan, bundle, { toolbox: true });
    if (!manifest) return;
    const image = await toolboxImage();
    const kubectl = kubectlWith(kubeconfig);
    const step = steps(t);
    const up = async () => {
      const r = await kubelab("up", "-f", file, "--bundle", bundle);
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      return r;
    };
    let kc: KubeConfig;
    let core: CoreV1Api;
    let serverIp = "";
    const exec = (ns: string, pod: string, ...argv: string[]) =>
      kubectl("-n", ns, "exec", pod, "-c", "main", "--", ...argv);
    const get = (ns: string, pod: string, url: string) => exec(ns, pod, "timeout", "5", "wget", "-q", "-O", "-", url);
    const serverUrl = `http://web.${MESH}.svc.${domain}:${WEB_PORT}/`;
    const anchorPem = async () => {
      const s = await core.readNamespacedSecret(LINKERD_IDENTITY_SECRET);
      return Buffer.from(s.data?.["trust-anchor.crt"] ?? "", "base64").toString();
    };
    const issuerPem = async () => {
      const s = await core.readNamespacedSecret({ name: "linkerd-identity-issuer", namespace: "linkerd" });
      return Buffer.from(s.data?.["crt.pem"] ?? "", "base64").toString();
    };
    /** The certificates the server's proxy presents on its inbound port, read with openssl on a node. */
    const presented = async (ip: string): Promise<string[]> => {
      const node = hosts.get(plan.nodes[0]?.name ?? "");
      assert.ok(node);
      const r = await node.exec([
        "sh",
        "-c",
        `openssl s_client -connect ${ip}:${INBOUND_PORT} -servername ${serverId} -showcerts </dev/null 2>/dev/null`,
      ]);
      const certs = r.stdout.match(PEM) ?? [];
      assert.ok(certs.length > 0, `no certificate from ${ip}:${INBOUND_PORT}: ${r.stdout.slice(0, 500)} ${r.stderr}`);
      return certs;
    };
    /** openssl verify: the leaf chains to `anchor` through the rest of `chain`; its subject line. */
    const verify = async (chain: string[], anchor: string) => {
      const [leaf, ...rest] = chain;
      await writeFile(join(dir, "anchor.pem"), anchor);
      await writeFile(join(dir, "leaf.pem"), leaf ?? "");
      await writeFile(join(dir, "untrusted.pem"), rest.join("\n"));
      const args = ["verify", "-CAfile", join(dir, "anchor.pem")];
      if (rest.length > 0) args.push("-untrusted", join(dir, "untrusted.pem"));
      const r = await execFileP("openssl", [...args, join(dir, "leaf.pem")]);
      assert.match(r.stdout, /: OK$/m);
      return (
        await execFileP("openssl", [
          "x509",
          "-noout",
          "-subject",
          "-issuer",
          "-ext",
          "subjectAltName",
          "-in",
          join(dir, "leaf.pem"),
        ])
      ).stdout;
    };
    /** Waits until pod ns/name is Ready and returns it. */
    const readyPod = (ns: string, name: string) =>
      poll(
        `${ns}/${name} Ready`,
        async () => {
          const p = await core.readNamespacedPod({ name, namespace: ns });
          return podReady(p) ? { done: true, value: p } : { done: false, pending: p.status?.phase ?? "?" };
        },
        { timeoutMs: 180_000, intervalMs: 2_000 },
      );
    const podsOf = async (ns: string) =>
      (await core.listNamespacedPod({ namespace: ns })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const snapshot = async () => {
      const out = new Map<string, string>();
      for (const ns of ["linkerd", MESH])
        for (const p of await podsOf(ns))
          out.set(
            `${ns}/${p.metadata?.name}`,
            `${p.metadata?.uid} ${(p.status?.containerStatuses ?? []).map((c) => c.restartCount).join(",")}`,
          );
      return out;
    };

    /** One doctor check's verdict on the live cluster, and its findings' evidence. */
    const doctor = async (id: string) => {
      const r = await kubelab("doctor", "-f", file, "-o", "json", "--check", id);
      const parsed = JSON.parse(r.out) as { results: CheckResult[] };
      const found = parsed.results.find((x) => x.id === id);
      assert.ok(found, `no ${id} in doctor's output: ${r.out.slice(0, 2000)}`);
      return { verdict: found.verdict, text: found.findings.flatMap((f) => [...f.evidence, f.fix ?? ""]).join("\n") };
    };

    await step("up with Linkerd: Gateway API CRDs, linkerd-crds, the control plane Ready", async () => {
      await writeFile(file, stringify(raw));
      const r = await up();
      for (const line of [
        /✓ Gateway API v1\.5\.1 CRDs/,
        /✓ Linkerd edge-26\.8\.3 CRDs/,
        /✓ Linkerd edge-26\.8\.3 control plane/,
      ])
        assert.match(r.err, line);
      kc = kubeConfig(await readFile(kubeconfig, "utf8"));
      core = kc.makeApiClient(CoreV1Api);
      const apps = kc.makeApiClient(AppsV1Api);
      for (const name of CONTROL_PLANE) {
        const d = await apps.readNamespacedDeployment({ name, namespace: "linkerd" });
        assert.equal(d.status?.availableReplicas, d.spec?.replicas, `${name} not Available`);
      }
      const roots = await core.readNamespacedConfigMap({ name: "linkerd-identity-trust-roots", namespace: "linkerd" });
      assert.equal(roots.data?.["ca-bundle.crt"]?.trim(), (await anchorPem()).trim());
      await connectNodes(plan, { file, hosts });
    });

    await step("meshed client and server on two workers: requests succeed, both proxies injected", async () => {
      for (const ns of [MESH, OUTSIDE])
        await core.createNamespace({
          body: { metadata: { name: ns, ...(ns === MESH ? { annotations: { "linkerd.io/inject": "enabled" } } : {}) } },
        });
      const [w1, w2] = plan.nodes.filter((n) => n.role === "worker").map((n) => n.name);
      assert.ok(w1 && w2);
      await core.createNamespacedPod({ namespace: MESH, body: webPod(image, "web", w1, { app: "web" }) });
      await core.createNamespacedPod({ namespace: MESH, body: clientPod(image, "client", w2) });
      await core.createNamespacedPod({ namespace: OUTSIDE, body: clientPod(image, "client", w2) });
      await core.createNamespacedService({
        namespace: MESH,
        body: {
          metadata: { name: "web" },
          spec: { selector: { app: "web" }, ports: [{ name: "http", port: WEB_PORT, targetPort: WEB_PORT }] },
        },
      });
      for (const [ns, name] of [
        [MESH, "web"],
        [MESH, "client"],
        [OUTSIDE, "client"],
      ] as const) {
        const pod = await readyPod(ns, name);
        assert.equal(
          containerNames(pod).includes("linkerd-proxy"),
          ns === MESH,
          `${ns}/${name}: ${containerNames(pod)}`,
        );
        if (ns === MESH && name === "web") serverIp = pod.status?.podIP ?? "";
      }
      const r = await get(MESH, "client", serverUrl);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), `web on ${w1}`);
    });

    await step("the proxies report the connection as TLS with the server's identity", async () => {
      for (let i = 0; i < 5; i++) assert.equal((await get(MESH, "client", serverUrl)).code, 0);
      const metrics = async (pod: string) => {
        const r = await exec(MESH, pod, "wget", "-q", "-O", "-", `http://127.0.0.1:${ADMIN_PORT}/metrics`);
        assert.equal(r.code, 0, r.err);
        return r.out.split("\n").filter((l) => !l.startsWith("#"));
      };
      const outbound = (await metrics("client")).filter((l) => l.includes('tls="true"') && l.includes(serverId));
      assert.ok(outbound.length > 0, "the client's proxy has no TLS metric naming the server's identity");
      t.diagnostic(`client proxy: ${outbound.slice(0, 3).join(" | ")}`);
      const clientId = serverId; // both run as the namespace's default ServiceAccount
      const inbound = (await metrics("web")).filter(
        (l) => l.includes('direction="inbound"') && l.includes('tls="true"') && l.includes(`client_id="${clientId}"`),
      );
      assert.ok(inbound.length > 0, "the server's proxy has no inbound TLS metric naming the client's identity");
      t.diagnostic(`server proxy: ${inbound.slice(0, 3).join(" | ")}`);
    });

    await step(
      "the server's certificate, read from the connection, chains to kubelab's stored anchor (openssl verify)",
      async () => {
        const chain = await presented(serverIp);
        const text = await verify(chain, await anchorPem());
        assert.ok(text.includes(serverId), text);
        t.diagnostic(text.replaceAll("\n", " | "));
        // Issued by kubelab's issuer: the chain's issuer is the one in linkerd-identity-issuer.
        const issuer = (await issuerPem()).trim();
        const leafIssuer = (await execFileP("openssl", ["x509", "-noout", "-issuer", "-in", join(dir, "leaf.pem")]))
          .stdout;
        const issuerSubject = await new Promise<string>((resolve, reject) => {
          const child = execFile("openssl", ["x509", "-noout", "-subject"], (e, out) => (e ? reject(e) : resolve(out)));
          child.stdin?.end(issuer);
        });
        assert.equal(leafIssuer.replace(/^issuer=/, "").trim(), issuerSubject.replace(/^subject=/, "").trim());
      },
    );

    await step("a pod outside the mesh still reaches the server (default policy: all-unauthenticated)", async () => {
      const r = await get(OUTSIDE, "client", serverUrl);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^web on /);
    });

    await step("up again keeps the anchor, the issuer and the webhook certificates: no pod restarts", async () => {
      const before = await snapshot();
      const stored = await core.readNamespacedSecret(LINKERD_IDENTITY_SECRET);
      const r = await up();
      const logPath = /\(log: (\S+)\)/.exec(r.out)?.[1] ?? "";
      const written = (await readFile(logPath, "utf8").catch(() => ""))
        .split("\n")
        .filter((l) => /\b(updated|created) /.test(l));
      assert.match(r.out, /\b0 changes made/, written.join("\n"));
      const after = await core.readNamespacedSecret(LINKERD_IDENTITY_SECRET);
      assert.equal(after.metadata?.resourceVersion, stored.metadata?.resourceVersion);
      assert.deepEqual([...(await snapshot())].sort(), [...before].sort());
    });

    await step(
      "an issuer within 30 days of expiry is renewed from the same anchor; meshed requests keep working",
      async () => {
        const anchor = await anchorPem();
        const oldIssuer = await issuerPem();
        const current = await clusterState({ plan, cluster: kc, now: new Date(), warn: () => {} });
        const soon = await generateLinkerdIdentity({
          clusterDomain: domain,
          existingTrustAnchor: current.identity.trustAnchor,
          issuerValidityDays: 20,
        });
        await applyObjects(kc, [stateSecret({ identity: soon, webhooks: current.webhooks })]);
        // Requests every second while up renews the issuer.
        let ok = 0;
        const failed: string[] = [];
        let running = true;
        const loop = (async () => {
          while (running) {
            const r = await get(MESH, "client", serverUrl);
            if (r.code === 0) ok++;
            else failed.push(r.err.trim());
            await new Promise((res) => setTimeout(res, 1_000));
          }
        })();
        let r: Awaited<ReturnType<typeof up>>;
        try {
          r = await up();
        } finally {
          running = false;
          await loop;
        }
        t.diagnostic(`requests during the renewal: ${ok} succeeded, ${failed.length} failed`);
        assert.deepEqual(failed, []);
        assert.match(r.err, /renewing it from the same trust anchor/);
        const newIssuer = await issuerPem();
        assert.notEqual(newIssuer, oldIssuer);
        assert.notEqual(newIssuer.trim(), soon.issuerCertPEM.trim(), "up applied the soon-expiring issuer");
        assert.equal((await anchorPem()).trim(), anchor.trim());
        // A new server pod gets its certificate from the new issuer, still under the same anchor:
        // the leaf verifies with only the renewed issuer between it and the anchor. The identity
        // controller reads the issuer from its Secret volume, which the kubelet refreshes within
        // about a minute, so a pod started before that still gets the old issuer's: start again.
        const [w1] = plan.nodes.filter((n) => n.role === "worker").map((n) => n.name);
        const restartWeb = async () => {
          await core.deleteNamespacedPod({ name: "web", namespace: MESH, gracePeriodSeconds: 0 });
          await poll(
            "the old web pod gone",
            async () =>
              (await podsOf(MESH)).some((p) => p.metadata?.name === "web")
                ? { done: false, pending: "still there" }
                : { done: true, value: true },
            { timeoutMs: 60_000, intervalMs: 1_000 },
          );
          await core.createNamespacedPod({ namespace: MESH, body: webPod(image, "web", w1 ?? "", { app: "web" }) });
          return readyPod(MESH, "web");
        };
        await poll(
          "a new pod's certificate issued by the renewed issuer",
          async () => {
            const pod = await restartWeb();
            const [leaf] = await presented(pod.status?.podIP ?? "");
            const byNew = await verify([leaf ?? "", newIssuer], anchor).then(
              () => true,
              () => false,
            );
            return byNew ? { done: true, value: true } : { done: false, pending: "still the old issuer's" };
          },
          { timeoutMs: 240_000, intervalMs: 15_000 },
        );
        assert.equal((await get(MESH, "client", serverUrl)).code, 0);
      },
    );

    await step("doctor's Linkerd checks pass on the meshed cluster", async () => {
      for (const id of LINKERD_CHECKS) assert.equal((await doctor(id)).verdict, "pass", id);
    });

    await step(
      "doctor linkerd.control-plane fails while linkerd-destination has no replica, and passes again",
      async () => {
        const scale = async (n: number) =>
          assert.equal(
            (await kubectl("-n", "linkerd", "scale", "deploy/linkerd-destination", `--replicas=${n}`)).code,
            0,
          );
        await scale(0);
        try {
          await poll(
            "linkerd.control-plane failing",
            async () => {
              const d = await doctor("linkerd.control-plane");
              return d.verdict === "fail" ? { done: true, value: d } : { done: false, pending: d.verdict };
            },
            { timeoutMs: 60_000, intervalMs: 2_000 },
          ).then((d) => assert.match(d.text, /linkerd-destination/));
        } finally {
          await scale(1);
        }
        await poll(
          "linkerd.control-plane passing",
          async () => {
            const d = await doctor("linkerd.control-plane");
            return d.verdict === "pass" ? { done: true, value: d } : { done: false, pending: d.text.slice(0, 200) };
          },
          { timeoutMs: 180_000, intervalMs: 3_000 },
        );
      },
    );

    await step("doctor linkerd.injection fails for a pod made before its namespace asked for a proxy", async () => {
      await core.createNamespace({ body: { metadata: { name: "late" } } });
      const [w1] = plan.nodes.filter((n) => n.role === "worker").map((n) => n.name);
      await core.createNamespacedPod({ namespace: "late", body: clientPod(image, "plain", w1 ?? "") });
      await poll(
        "late/plain Running",
        async () => {
          const p = await core.readNamespacedPod({ name: "plain", namespace: "late" });
          return p.status?.phase === "Running"
            ? { done: true, value: p }
            : { done: false, pending: p.status?.phase ?? "?" };
        },
        { timeoutMs: 120_000, intervalMs: 2_000 },
      );
      assert.equal((await kubectl("annotate", "namespace", "late", "linkerd.io/inject=enabled")).code, 0);
      const d = await doctor("linkerd.injection");
      assert.equal(d.verdict, "fail", d.text);
      assert.match(d.text, /late\/plain/);
      await core.deleteNamespacedPod({ name: "plain", namespace: "late", gracePeriodSeconds: 0 });
      await poll(
        "linkerd.injection passing",
        async () => {
          const x = await doctor("linkerd.injection");
          return x.verdict === "pass" ? { done: true, value: x } : { done: false, pending: x.text.slice(0, 200) };
        },
        { timeoutMs: 60_000, intervalMs: 2_000 },
      );
    });

    await step(
      "doctor linkerd.trust-anchor fails when the cluster's trust roots are not kubelab's anchor",
      async () => {
        const name = "linkerd-identity-trust-roots";
        const roots = await core.readNamespacedConfigMap({ name, namespace: "linkerd" });
        const original = roots.data?.["ca-bundle.crt"] ?? "";
        const other = await generateLinkerdIdentity({ clusterDomain: domain });
        const set = (bundle: string) =>
          kubectl(
            "-n",
            "linkerd",
            "patch",
            "configmap",
            name,
            "--type=merge",
            "-p",
            JSON.stringify({ data: { "ca-bundle.crt": bundle } }),
          );
        assert.equal((await set(other.trustAnchor.certPEM)).code, 0);
        try {
          const d = await doctor("linkerd.trust-anchor");
          assert.equal(d.verdict, "fail", d.text);
          assert.match(d.text, /kubelab up/);
        } finally {
          assert.equal((await set(original)).code, 0);
        }
        assert.equal((await doctor("linkerd.trust-anchor")).verdict, "pass");
      },
    );

    await step(
      "doctor warns of an issuer near expiry and fails one the anchor did not sign; both pass once it is back",
      async () => {
        const name = "linkerd-identity-issuer";
        const original = (await core.readNamespacedSecret({ name, namespace: "linkerd" })).data ?? {};
        const anchor = (await clusterState({ plan, cluster: kc, now: new Date(), warn: () => {} })).identity
          .trustAnchor;
        const b64 = (text: string) => Buffer.from(text).toString("base64");
        const set = (data: Record<string, string>) =>
          kubectl("-n", "linkerd", "patch", "secret", name, "--type=merge", "-p", JSON.stringify({ data }));
        const issuerOf = async (opts: Parameters<typeof generateLinkerdIdentity>[0]) => {
          const id = await generateLinkerdIdentity({ clusterDomain: domain, ...opts });
          return { "crt.pem": b64(id.issuerCertPEM), "key.pem": b64(id.issuerKeyPEM) };
        };
        // Put back within seconds: the identity controller sees a Secret's change only when the
        // kubelet refreshes its volume, about a minute later.
        try {
          assert.equal((await set(await issuerOf({ existingTrustAnchor: anchor, issuerValidityDays: 20 }))).code, 0);
          const expiry = await doctor("linkerd.issuer-expiry");
          assert.equal(expiry.verdict, "warn", expiry.text);
          assert.match(expiry.text, /within 30/);
          assert.equal((await doctor("linkerd.issuer-chain")).verdict, "pass");
          assert.equal((await set(await issuerOf({}))).code, 0);
          const chain = await doctor("linkerd.issuer-chain");
          assert.equal(chain.verdict, "fail", chain.text);
        } finally {
          assert.equal((await set(original)).code, 0);
        }
        for (const id of ["linkerd.issuer-expiry", "linkerd.issuer-chain"])
          assert.equal((await doctor(id)).verdict, "pass", id);
      },
    );
  });
});

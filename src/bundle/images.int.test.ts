// The addons' images as `bundle create` finds them, by rendering the addons from their pinned
// sources (the fixtures, through kubelab's download cache; Linkerd's charts rendered by helm
// built from source) and reading every pod template.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureSources } from "../../test/helpers/charts.js";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import type { Plan } from "../plan/types.js";
import { PINNED } from "../versions.js";
import { imagesOfAddons } from "./create.js";

test("the default lab's addons, rendered from their pinned sources, run these images (Headlamp at its pinned tag)", async (t) => {
  const sources = await fixtureSources(t);
  if (!sources) return;
  const warnings: string[] = [];
  const plan = defaultPlan();
  const images = await imagesOfAddons(plan, sources, (l) => warnings.push(l));
  assert.deepEqual(images, [
    "cr.l5d.io/linkerd/controller:edge-26.8.3",
    "cr.l5d.io/linkerd/proxy:edge-26.8.3",
    "ghcr.io/headlamp-k8s/headlamp:v0.45.0",
    "quay.io/calico/cni:v3.32.1",
    "quay.io/calico/kube-controllers:v3.32.1",
    "quay.io/calico/node:v3.32.1",
    "quay.io/metallb/controller:v0.16.1",
    "quay.io/metallb/speaker:v0.16.1",
  ]);
  assert.ok(images.includes(PINNED.headlamp.image), `${PINNED.headlamp.image} in ${images.join(", ")}`);
  assert.deepEqual(warnings, []);

  // linkerd-viz adds its own images (extension-init and Prometheus at their own tags).
  const linkerd = plan.addons.linkerd;
  assert.ok(linkerd.enabled);
  const viz: Plan = { ...plan, addons: { ...plan.addons, linkerd: { ...linkerd, viz: true } } };
  const withViz = await imagesOfAddons(viz, sources, () => {});
  assert.deepEqual(
    withViz.filter((i) => !images.includes(i)),
    [
      "cr.l5d.io/linkerd/extension-init:v0.1.12",
      "cr.l5d.io/linkerd/metrics-api:edge-26.8.3",
      "cr.l5d.io/linkerd/tap:edge-26.8.3",
      "cr.l5d.io/linkerd/web:edge-26.8.3",
      "prom/prometheus:v2.55.1",
    ],
  );
  assert.ok(images.every((i) => withViz.includes(i)));
});

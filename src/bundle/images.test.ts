// Image lists from the pinned manifests (the fixtures), as kubelab transforms and applies them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { defaultPlan, fixturePath } from "../../test/helpers/fixtures.js";
import { localPath } from "../artifacts/local.js";
import { PINNED, type PinnedFile } from "../versions.js";
import { addonImages, imagesIn, kubeadmImages } from "./images.js";

const fixtures = (f: PinnedFile) => {
  // Pinned raw GitHub URLs map to fixtures/upstream/<project>/<tag>/<path>.
  const rel = localPath("", f);
  try {
    return readFileSync(fixturePath(rel), "utf8");
  } catch {
    return undefined;
  }
};

test("the default lab needs kubeadm's seven images and the addons' own, Headlamp at its pinned tag", () => {
  const plan = defaultPlan();
  assert.deepEqual(kubeadmImages(plan), [
    "registry.k8s.io/kube-apiserver:v1.37.2",
    "registry.k8s.io/kube-controller-manager:v1.37.2",
    "registry.k8s.io/kube-scheduler:v1.37.2",
    "registry.k8s.io/kube-proxy:v1.37.2",
    "registry.k8s.io/coredns/coredns:v1.14.6",
    "registry.k8s.io/pause:3.10.2",
    "registry.k8s.io/etcd:3.7.0-0",
  ]);
  assert.deepEqual(addonImages(plan, fixtures), [
    PINNED.headlamp.image,
    "quay.io/calico/cni:v3.32.1",
    "quay.io/calico/kube-controllers:v3.32.1",
    "quay.io/calico/node:v3.32.1",
    "quay.io/metallb/controller:v0.16.1",
    "quay.io/metallb/speaker:v0.16.1",
  ]);
});

test("imagesIn finds containers, init containers and ephemeral containers in any pod template", () => {
  const manifest = `apiVersion: apps/v1
kind: DaemonSet
spec:
  template:
    spec:
      initContainers: [{name: a, image: "x.io/init:1"}]
      containers: [{name: b, image: "x.io/main:2"}, {name: c, image: "x.io/main:2"}]
---
apiVersion: v1
kind: Pod
spec:
  ephemeralContainers: [{name: d, image: "x.io/debug:3"}]
  containers: [{name: e, image: "x.io/pod:4"}]
---
apiVersion: v1
kind: ConfigMap
data: {image: "not-a-container"}
`;
  assert.deepEqual(imagesIn(manifest).sort(), ["x.io/debug:3", "x.io/init:1", "x.io/main:2", "x.io/pod:4"]);
});

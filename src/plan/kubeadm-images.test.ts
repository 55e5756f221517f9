// kubeadm's image list for the pinned release, as `kubeadm config images list` prints it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import { kubeadmImages } from "./kubeadm-images.js";

test("the default lab needs kubeadm's seven images at the pinned release", () => {
  assert.deepEqual(kubeadmImages(defaultPlan()), [
    "registry.k8s.io/kube-apiserver:v1.37.2",
    "registry.k8s.io/kube-controller-manager:v1.37.2",
    "registry.k8s.io/kube-scheduler:v1.37.2",
    "registry.k8s.io/kube-proxy:v1.37.2",
    "registry.k8s.io/coredns/coredns:v1.14.6",
    "registry.k8s.io/pause:3.10.2",
    "registry.k8s.io/etcd:3.7.0-0",
  ]);
});

// Image lists without rendering any addon: kubeadm's for the pinned release, and the images of
// every kind of pod template.
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultPlan } from "../../test/helpers/fixtures.js";
import type { KubeObject } from "../render/types.js";
import { imagesOf, kubeadmImages } from "./images.js";

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

test("imagesOf finds containers, init containers and ephemeral containers in any pod template, once each, sorted", () => {
  const objects = [
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "ds" },
      spec: {
        template: {
          spec: {
            initContainers: [{ name: "a", image: "x.io/init:1" }],
            containers: [
              { name: "b", image: "x.io/main:2" },
              { name: "c", image: "x.io/main:2" },
            ],
          },
        },
      },
    },
    {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "cj" },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "f", image: "x.io/cron:5" }] } } } } },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        ephemeralContainers: [{ name: "d", image: "x.io/debug:3" }],
        containers: [{ name: "e", image: "x.io/pod:4" }],
      },
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" }, data: { image: "not-a-container" } },
  ] as KubeObject[];
  assert.deepEqual(imagesOf(objects), ["x.io/cron:5", "x.io/debug:3", "x.io/init:1", "x.io/main:2", "x.io/pod:4"]);
  assert.deepEqual(imagesOf([]), []);
});

// Image lists without rendering any addon: the images of every kind of pod template
// (kubeadm's own list is tested in src/plan/kubeadm-images.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../render/types.js";
import { imagesOf } from "./images.js";

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

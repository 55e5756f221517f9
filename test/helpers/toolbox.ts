/**
 * The tests' toolbox image (scripts/dev-tools/toolbox-image.ts: a static busybox) and the pods
 * the lab tests make from it: an HTTP server and a client to run wget, nc and nslookup in.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { builtImages } from "./packages.js";

/** The image set toolbox-image.ts writes under the dev cache's images/. */
const TOOLBOX_SET = "toolbox-1";
/** The registry the toolbox's name points at; the test bundle mirrors it to its own registry. */
export const TOOLBOX_REGISTRY = "registry.kubelab.test";
/** The port the web pods serve on. */
export const WEB_PORT = 8080;

/** toolboxImages is the toolbox's built archive (one image), named as pods refer to it. */
export function toolboxImages(): Promise<{ name: string; path: string; sha256: string }[]> {
  return builtImages(TOOLBOX_SET, "npx tsx scripts/dev-tools/toolbox-image.ts (npm run test:lab runs it first)");
}

/** toolboxImage is the toolbox's name, e.g. registry.kubelab.test/toolbox:1. */
export async function toolboxImage(): Promise<string> {
  const [image] = await toolboxImages();
  if (!image) throw new Error("the toolbox image set lists no image: run npx tsx scripts/dev-tools/toolbox-image.ts");
  return image.name;
}

/** A toolbox pod on `node` (placed by nodeName: the test decides where each pod runs). */
function toolboxPod(
  image: string,
  name: string,
  node: string,
  labels: Record<string, string>,
  script: string,
  extra: Partial<NonNullable<V1Pod["spec"]>["containers"][number]> = {},
): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      nodeName: node,
      // Nothing to flush: the pods go at once when the test removes them.
      terminationGracePeriodSeconds: 0,
      containers: [
        { name: "main", image, imagePullPolicy: "IfNotPresent", command: ["/bin/sh", "-c", script], ...extra },
      ],
    },
  };
}

/**
 * webPod serves `/` = "<name> on <node>" over HTTP on {@link WEB_PORT} (busybox httpd), and is
 * Ready once the port accepts connections.
 */
export function webPod(image: string, name: string, node: string, labels: Record<string, string>): V1Pod {
  return toolboxPod(
    image,
    name,
    node,
    labels,
    `mkdir -p /www && echo "${name} on ${node}" > /www/index.html && exec httpd -f -p ${WEB_PORT} -h /www`,
    {
      ports: [{ containerPort: WEB_PORT, name: "http" }],
      readinessProbe: { tcpSocket: { port: WEB_PORT }, periodSeconds: 2 },
    },
  );
}

/** clientPod only waits on `node`: the test runs its requests in it with kubectl exec. */
export function clientPod(image: string, name: string, node: string): V1Pod {
  return toolboxPod(image, name, node, { app: name }, "exec sleep 86400");
}

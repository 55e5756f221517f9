/**
 * The default lab's Nodes, calico-node pods and calico-node DaemonSet in the shape kube-apiserver
 * v1.37.2 returns them (`kubectl get nodes,pods,ds -A -o json`, managedFields removed, as doctor
 * collects them), at the moments node.ready looks at: after `kubeadm init/join` with no CNI,
 * and with Calico v3.32.1 applied but not (yet) working on every node.
 *
 * They are written field by field, not captured from a cluster: the texts are the ones the
 * components write. The kubelet's Ready condition (KubeletNotReady with the runtime's network
 * status, KubeletReady "kubelet is posting ready status"), the node lifecycle controller's
 * `node.kubernetes.io/not-ready` taints and its NodeStatusUnknown conditions, the kubelet's
 * CrashLoopBackOff message, the DaemonSet controller's node affinity and the tolerations it
 * adds to daemon pods. Pod specs keep the fields doctor reads and the identity of each
 * container; the rest of calico.yaml's template (env, volumes, probes) is left out.
 */

type Obj = Record<string, unknown>;

/** When kubeadm made the cluster, and when doctor looked. */
const CREATED = "2026-12-08T09:14:03Z";
const JOINED = "2026-12-08T09:16:27Z";
const HEARTBEAT = "2026-12-08T09:41:12Z";
const CALICO_APPLIED = "2026-12-08T09:42:05Z";

/** What containerd's CRI plugin says until a CNI configuration exists in /etc/cni/net.d. */
export const NO_CNI_MESSAGE =
  "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

const LAB = [
  { name: "master-1", ip: "192.168.56.11", podCidr: "192.168.112.0/24", control: true, created: CREATED },
  { name: "worker-1", ip: "192.168.56.12", podCidr: "192.168.113.0/24", control: false, created: JOINED },
  { name: "worker-2", ip: "192.168.56.13", podCidr: "192.168.114.0/24", control: false, created: JOINED },
] as const;

/** The kubelet's pressure conditions: all fine on these nodes. */
const pressure = (since: string) => [
  {
    lastHeartbeatTime: HEARTBEAT,
    lastTransitionTime: since,
    message: "kubelet has sufficient memory available",
    reason: "KubeletHasSufficientMemory",
    status: "False",
    type: "MemoryPressure",
  },
  {
    lastHeartbeatTime: HEARTBEAT,
    lastTransitionTime: since,
    message: "kubelet has no disk pressure",
    reason: "KubeletHasNoDiskPressure",
    status: "False",
    type: "DiskPressure",
  },
  {
    lastHeartbeatTime: HEARTBEAT,
    lastTransitionTime: since,
    message: "kubelet has sufficient PID available",
    reason: "KubeletHasSufficientPID",
    status: "False",
    type: "PIDPressure",
  },
];

/** A node's Ready condition as its kubelet posts it. */
const readyCondition = (ready: boolean, since: string): Obj => ({
  lastHeartbeatTime: HEARTBEAT,
  lastTransitionTime: since,
  message: ready ? "kubelet is posting ready status" : NO_CNI_MESSAGE,
  reason: ready ? "KubeletReady" : "KubeletNotReady",
  status: ready ? "True" : "False",
  type: "Ready",
});

/** The state a node is in: NotReady without a CNI, Ready, or silent (its kubelet stopped). */
export type NodeState = "no-cni" | "ready" | "unknown" | "registered";

/**
 * node is one of the default lab's Nodes (`master-1`, `worker-1`, `worker-2`). A NotReady node
 * carries both not-ready taints (NoSchedule from the kubelet and the lifecycle controller,
 * NoExecute from the eviction controller); `unknown` is what the lifecycle controller writes
 * when the kubelet stopped posting; `registered` has no conditions at all.
 */
export function node(name: string, state: NodeState): Obj {
  const n = LAB.find((x) => x.name === name);
  if (!n) throw new Error(`no lab node ${name}`);
  const notReady = state === "no-cni" || state === "unknown";
  const taints = [
    ...(n.control ? [{ effect: "NoSchedule", key: "node-role.kubernetes.io/control-plane" }] : []),
    ...(notReady
      ? [
          { effect: "NoSchedule", key: "node.kubernetes.io/not-ready" },
          { effect: "NoExecute", key: "node.kubernetes.io/not-ready", timeAdded: n.created },
        ]
      : []),
  ];
  const unknown = (type: string) => ({
    lastHeartbeatTime: "2026-12-08T09:38:51Z",
    lastTransitionTime: "2026-12-08T09:39:36Z",
    message: "Kubelet stopped posting node status.",
    reason: "NodeStatusUnknown",
    status: "Unknown",
    type,
  });
  const conditions =
    state === "registered"
      ? undefined
      : state === "unknown"
        ? ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map(unknown)
        : [
            ...pressure(n.created),
            readyCondition(state === "ready", state === "ready" ? "2026-12-08T09:43:01Z" : n.created),
          ];
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
      creationTimestamp: n.created,
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        ...(n.control
          ? {
              "node-role.kubernetes.io/control-plane": "",
              "node.kubernetes.io/exclude-from-external-load-balancers": "",
            }
          : {}),
      },
      name: n.name,
      resourceVersion: n.control ? "1187" : "1192",
      uid: n.control
        ? "1f3c9a52-8d0e-4b7a-9c61-5e2f7d84a0b3"
        : `6a8e${n.name === "worker-1" ? "1" : "2"}d40-3b9c-4f21-8e57-c2d91a6b7f04`,
    },
    spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr], ...(taints.length > 0 ? { taints } : {}) },
    status: {
      addresses: [
        { address: n.ip, type: "InternalIP" },
        { address: n.name, type: "Hostname" },
      ],
      allocatable: {
        cpu: n.control ? "2" : "4",
        "ephemeral-storage": "29394520848",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        memory: n.control ? "3912340Ki" : "8010388Ki",
        pods: "110",
      },
      capacity: {
        cpu: n.control ? "2" : "4",
        "ephemeral-storage": "31895212Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        memory: n.control ? "4014740Ki" : "8112788Ki",
        pods: "110",
      },
      ...(conditions ? { conditions } : {}),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      features: { supplementalGroupsPolicy: true },
      nodeInfo: {
        architecture: "amd64",
        bootID: "0b6f2c1e-7d4a-4e93-a8c5-31f9e2d7b640",
        containerRuntimeVersion: "containerd://2.3.4",
        kernelVersion: "6.8.0-86-generic",
        kubeProxyVersion: "",
        kubeletVersion: "v1.37.2",
        machineID: "4f2a9c7e1b3d4e5f8a6b0c9d2e1f3a4b",
        operatingSystem: "linux",
        osImage: "Ubuntu 24.04.3 LTS",
        systemUUID: "8c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
      },
      runtimeHandlers: [
        { features: { recursiveReadOnlyMounts: true, userNamespaces: true }, name: "runc" },
        { features: { recursiveReadOnlyMounts: true, userNamespaces: true }, name: "" },
      ],
    },
  };
}

/** calico.yaml v3.32.1's tolerations for calico-node: every NoSchedule and NoExecute taint. */
const UPSTREAM_TOLERATIONS: readonly Obj[] = [
  { effect: "NoSchedule", operator: "Exists" },
  { key: "CriticalAddonsOnly", operator: "Exists" },
  { effect: "NoExecute", operator: "Exists" },
];

const CNI_IMAGE = "quay.io/calico/cni:v3.32.1";
const NODE_IMAGE = "quay.io/calico/node:v3.32.1";
const INIT_CONTAINERS = [
  { name: "upgrade-ipam", image: CNI_IMAGE },
  { name: "install-cni", image: CNI_IMAGE },
  { name: "ebpf-bootstrap", image: NODE_IMAGE },
];
const DS_UID = "b2e4c6a8-0d1f-4e3a-9b5c-7d8e9f0a1b2c";

/**
 * calicoDaemonSet is kube-system/calico-node with its status counts (`desired, current, ready`
 * and the rest as the DaemonSet controller writes them) and the template's tolerations.
 */
export function calicoDaemonSet(o: {
  desired: number;
  current: number;
  ready: number;
  tolerations?: readonly Obj[];
}): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      annotations: { "deprecated.daemonset.template.generation": "1" },
      creationTimestamp: CALICO_APPLIED,
      generation: 1,
      labels: { "k8s-app": "calico-node" },
      name: "calico-node",
      namespace: "kube-system",
      resourceVersion: "1466",
      uid: DS_UID,
    },
    spec: {
      revisionHistoryLimit: 10,
      selector: { matchLabels: { "k8s-app": "calico-node" } },
      template: {
        metadata: { labels: { "k8s-app": "calico-node" } },
        spec: {
          containers: [{ name: "calico-node", image: NODE_IMAGE }],
          hostNetwork: true,
          initContainers: INIT_CONTAINERS,
          nodeSelector: { "kubernetes.io/os": "linux" },
          priorityClassName: "system-node-critical",
          serviceAccountName: "calico-node",
          terminationGracePeriodSeconds: 0,
          tolerations: o.tolerations ?? UPSTREAM_TOLERATIONS,
        },
      },
      updateStrategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 }, type: "RollingUpdate" },
    },
    status: {
      currentNumberScheduled: o.current,
      desiredNumberScheduled: o.desired,
      numberAvailable: o.ready,
      numberMisscheduled: 0,
      numberReady: o.ready,
      ...(o.current - o.ready > 0 ? { numberUnavailable: o.current - o.ready } : {}),
      observedGeneration: 1,
      updatedNumberScheduled: o.current,
    },
  };
}

const CONTAINER_IDS: Readonly<Record<string, string>> = {
  "upgrade-ipam": "2c6e0a4b8d2f6c0e4a8b2d6f0c4e8a2b6d0f4c8e2a6b0d4f8c2e6a0b4d8f2c6e",
  "install-cni": "5f9b3d7a1c5e9f3b7d1a5c9e3f7b1d5a9c3e7f1b5d9a3c7e1f5b9d3a7c1e5f9b",
  "ebpf-bootstrap": "8a2c4e6b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c",
};

/** A container's status once it ran to completion (a finished init container reports ready). */
const completed = (name: string, image: string, started: string, finished: string): Obj => ({
  containerID: `containerd://${CONTAINER_IDS[name] ?? ""}`,
  image,
  imageID: `${image.split(":")[0]}@sha256:3d7f1b9c5e2a8d4f6b0c9e1a7d3f5b8c2e4a6d9f1b3c5e7a9d0f2b4c6e8a1d3f`,
  lastState: {},
  name,
  ready: true,
  restartCount: 0,
  started: false,
  state: { terminated: { exitCode: 0, finishedAt: finished, reason: "Completed", startedAt: started } },
});

/** A container the kubelet has not started because an init container before it has not completed. */
const initializing = (name: string, image: string): Obj => ({
  image,
  imageID: "",
  lastState: {},
  name,
  ready: false,
  restartCount: 0,
  started: false,
  state: { waiting: { reason: "PodInitializing" } },
});

/** Pod uids, one per node (a node has one calico-node pod at a time). */
const POD_UIDS: Readonly<Record<string, string>> = {
  "master-1": "0d2f4a6c-8e1b-4d3f-a5c7-e9b1d3f5a7c9",
  "worker-1": "5e7a9c1d-3f5b-47d9-b1e3-a5c7e9f1b3d5",
  "worker-2": "a1c3e5f7-b9d2-4f4a-86c8-e0a2c4e6f8b1",
};

/** What a calico-node pod's containers are doing. */
export type CalicoPodState =
  /** install-cni exits 1 again and again (it cannot reach the API server): CrashLoopBackOff. */
  | "install-cni-crashloop"
  /** every init container completed, calico-node runs but its readiness probe fails, and it restarted. */
  | "running-not-ready"
  | "ready"
  /** created by the DaemonSet controller for the node, not yet bound by the scheduler. */
  | "unscheduled";

/** calicoPod is the calico-node pod `name` the DaemonSet controller made for `nodeName`. */
function calicoPod(name: string, nodeName: string, state: CalicoPodState): Obj {
  const uid = POD_UIDS[nodeName] ?? "7c9e4b1a-2f4d-4c6e-8a0b-3d5f7a9c1e2b";
  const host = LAB.find((n) => n.name === nodeName)?.ip ?? "192.168.56.11";
  // Seconds after Calico was applied.
  const t = (s: number) => `2026-12-08T09:42:${String(7 + s).padStart(2, "0")}Z`;
  const cond = (type: string, status: boolean, at: string, reason?: string, message?: string): Obj => ({
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(message ? { message } : {}),
    ...(reason ? { reason } : {}),
    status: status ? "True" : "False",
    type,
  });
  const metadata = {
    creationTimestamp: t(0),
    generateName: "calico-node-",
    labels: { "controller-revision-hash": "5d9f8b7c64", "k8s-app": "calico-node", "pod-template-generation": "1" },
    name,
    namespace: "kube-system",
    ownerReferences: [
      {
        apiVersion: "apps/v1",
        blockOwnerDeletion: true,
        controller: true,
        kind: "DaemonSet",
        name: "calico-node",
        uid: DS_UID,
      },
    ],
    resourceVersion: "1503",
    uid,
  };
  const spec = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] }],
        },
      },
    },
    containers: [{ name: "calico-node", image: NODE_IMAGE }],
    hostNetwork: true,
    initContainers: INIT_CONTAINERS,
    ...(state === "unscheduled" ? {} : { nodeName }),
    nodeSelector: { "kubernetes.io/os": "linux" },
    priority: 2000001000,
    priorityClassName: "system-node-critical",
    serviceAccountName: "calico-node",
    tolerations: [
      ...UPSTREAM_TOLERATIONS,
      { effect: "NoExecute", key: "node.kubernetes.io/not-ready", operator: "Exists" },
      { effect: "NoExecute", key: "node.kubernetes.io/unreachable", operator: "Exists" },
      { effect: "NoSchedule", key: "node.kubernetes.io/disk-pressure", operator: "Exists" },
      { effect: "NoSchedule", key: "node.kubernetes.io/memory-pressure", operator: "Exists" },
      { effect: "NoSchedule", key: "node.kubernetes.io/pid-pressure", operator: "Exists" },
      { effect: "NoSchedule", key: "node.kubernetes.io/unschedulable", operator: "Exists" },
      { effect: "NoSchedule", key: "node.kubernetes.io/network-unavailable", operator: "Exists" },
    ],
  };
  const pod = (status: Obj): Obj => ({ apiVersion: "v1", kind: "Pod", metadata, spec, status });
  if (state === "unscheduled")
    return pod({
      conditions: [
        cond(
          "PodScheduled",
          false,
          t(1),
          "Unschedulable",
          "0/3 nodes are available: 1 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
        ),
      ],
      phase: "Pending",
      qosClass: "Burstable",
    });
  const ready = state === "ready";
  const crashing = state === "install-cni-crashloop";
  // Once scheduled: the conditions the kubelet writes, in its order.
  const conditions = [
    cond("PodReadyToStartContainers", true, t(3)),
    crashing
      ? cond(
          "Initialized",
          false,
          t(1),
          "ContainersNotInitialized",
          "containers with incomplete status: [install-cni ebpf-bootstrap]",
        )
      : cond("Initialized", true, t(12)),
    ...(["Ready", "ContainersReady"] as const).map((type) =>
      ready
        ? cond(type, true, t(25))
        : cond(
            type,
            false,
            t(crashing ? 1 : 12),
            "ContainersNotReady",
            "containers with unready status: [calico-node]",
          ),
    ),
    cond("PodScheduled", true, t(1)),
  ];
  const ipam = completed("upgrade-ipam", CNI_IMAGE, t(3), t(4));
  const addresses = { hostIP: host, hostIPs: [{ ip: host }], podIP: host, podIPs: [{ ip: host }] };
  if (crashing)
    return pod({
      conditions,
      ...addresses,
      initContainerStatuses: [
        ipam,
        {
          containerID: "containerd://9a4e2c7b1d5f3a8e6c0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c",
          image: CNI_IMAGE,
          imageID: ipam.imageID,
          lastState: {
            terminated: {
              containerID: "containerd://9a4e2c7b1d5f3a8e6c0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c",
              exitCode: 1,
              finishedAt: "2026-12-08T09:47:39Z",
              reason: "Error",
              startedAt: "2026-12-08T09:47:09Z",
            },
          },
          name: "install-cni",
          ready: false,
          restartCount: 5,
          started: false,
          state: {
            waiting: {
              message: `back-off 2m40s restarting failed container=install-cni pod=${name}_kube-system(${uid})`,
              reason: "CrashLoopBackOff",
            },
          },
        },
        initializing("ebpf-bootstrap", NODE_IMAGE),
      ],
      containerStatuses: [initializing("calico-node", NODE_IMAGE)],
      phase: "Pending",
      qosClass: "Burstable",
      startTime: t(1),
    });
  return pod({
    conditions,
    containerStatuses: [
      {
        containerID: "containerd://4b8d2f6a0c4e8b2d6f0a4c8e2b6d0f4a8c2e6b0d4f8a2c6e0b4d8f2a6c0e4b8d",
        image: NODE_IMAGE,
        imageID: "quay.io/calico/node@sha256:8e2c4a6f0b1d3e5a7c9f2b4d6e8a0c1f3b5d7e9a2c4f6b8d0e1a3c5f7b9d2e4a",
        lastState: ready
          ? {}
          : {
              terminated: {
                containerID: "containerd://1e5a9c3f7b2d6e0a4c8f2b6d0e4a8c2f6b0d4e8a2c6f0b4d8e2a6c0f4b8d2e6a",
                exitCode: 1,
                finishedAt: "2026-12-08T09:51:02Z",
                reason: "Error",
                startedAt: "2026-12-08T09:49:58Z",
              },
            },
        name: "calico-node",
        ready,
        restartCount: ready ? 0 : 4,
        started: true,
        state: { running: { startedAt: ready ? t(12) : "2026-12-08T09:51:03Z" } },
      },
    ],
    ...addresses,
    initContainerStatuses: [
      ipam,
      completed("install-cni", CNI_IMAGE, t(5), t(8)),
      completed("ebpf-bootstrap", NODE_IMAGE, t(9), t(11)),
    ],
    phase: "Running",
    qosClass: "Burstable",
    startTime: t(1),
  });
}

/** Each lab node's calico-node pod name. */
const POD_NAMES: Readonly<Record<string, string>> = {
  "master-1": "calico-node-x7k2p",
  "worker-1": "calico-node-8dxkq",
  "worker-2": "calico-node-q4w9r",
};

/** calicoPods is the calico-node pod of each lab node in the given state (none where undefined). */
export const calicoPods = (
  master: CalicoPodState | undefined,
  worker1: CalicoPodState | undefined,
  worker2: CalicoPodState | undefined,
): Obj[] =>
  (
    [
      ["master-1", master],
      ["worker-1", worker1],
      ["worker-2", worker2],
    ] as const
  ).flatMap(([n, state]) => (state ? [calicoPod(POD_NAMES[n] as string, n, state)] : []));

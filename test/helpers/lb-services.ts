/**
 * Services as a real API server returns them: the output of `kubectl get services -A -o json`
 * (kubectl and kube-apiserver v1.37.2, test/helpers/apiserver.ts) after creating these and
 * writing their status the way MetalLB does, with metadata.managedFields removed:
 *   - kube-system/kubelab-ui: LoadBalancer 80 (http) -> 4466, ingress 192.168.56.46;
 *   - default/dns: LoadBalancer, externalTrafficPolicy Local, 53/UDP + 53/TCP, ingress 192.168.56.47;
 *   - default/two-addresses: LoadBalancer 9443 (https-ui), ingress 192.168.56.48 and .49;
 *   - default/cloud: LoadBalancer whose ingress is a hostname only (lb.example.com);
 *   - default/pending: LoadBalancer with no address yet;
 *   - default/internal and default/kubernetes: ClusterIP.
 */
export const SERVICE_LIST: { readonly items: readonly Record<string, unknown>[]; readonly [k: string]: unknown } = {
  apiVersion: "v1",
  items: [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        creationTimestamp: "2026-11-28T14:17:42Z",
        name: "cloud",
        namespace: "default",
        resourceVersion: "228",
        uid: "8c737476-ed84-4436-898c-09bc232a627d",
      },
      spec: {
        allocateLoadBalancerNodePorts: true,
        clusterIP: "10.106.93.199",
        clusterIPs: ["10.106.93.199"],
        externalTrafficPolicy: "Cluster",
        internalTrafficPolicy: "Cluster",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: [
          {
            name: "http",
            nodePort: 31615,
            port: 80,
            protocol: "TCP",
            targetPort: 80,
          },
        ],
        selector: {
          app: "x",
        },
        sessionAffinity: "None",
        type: "LoadBalancer",
      },
      status: {
        loadBalancer: {
          ingress: [
            {
              hostname: "lb.example.com",
            },
          ],
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        creationTimestamp: "2026-11-28T14:17:42Z",
        name: "dns",
        namespace: "default",
        resourceVersion: "219",
        uid: "20a35ab5-9d1c-45e9-9cb0-90b7df6cff0c",
      },
      spec: {
        allocateLoadBalancerNodePorts: true,
        clusterIP: "10.110.249.206",
        clusterIPs: ["10.110.249.206"],
        externalTrafficPolicy: "Local",
        healthCheckNodePort: 31347,
        internalTrafficPolicy: "Cluster",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: [
          {
            name: "dns",
            nodePort: 31434,
            port: 53,
            protocol: "UDP",
            targetPort: 53,
          },
          {
            name: "dns-tcp",
            nodePort: 31434,
            port: 53,
            protocol: "TCP",
            targetPort: 53,
          },
        ],
        selector: {
          app: "dns",
        },
        sessionAffinity: "None",
        type: "LoadBalancer",
      },
      status: {
        loadBalancer: {
          ingress: [
            {
              ip: "192.168.56.47",
              ipMode: "VIP",
            },
          ],
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        creationTimestamp: "2026-11-28T14:17:42Z",
        name: "internal",
        namespace: "default",
        resourceVersion: "224",
        uid: "1ccdcd9c-fd5b-4089-a939-454f217e6e55",
      },
      spec: {
        clusterIP: "10.100.26.48",
        clusterIPs: ["10.100.26.48"],
        internalTrafficPolicy: "Cluster",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: [
          {
            name: "https",
            port: 443,
            protocol: "TCP",
            targetPort: 8443,
          },
        ],
        selector: {
          app: "x",
        },
        sessionAffinity: "None",
        type: "ClusterIP",
      },
      status: {
        loadBalancer: {},
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        creationTimestamp: "2026-11-28T14:17:42Z",
        labels: {
          component: "apiserver",
          provider: "kubernetes",
        },
        name: "kubernetes",
        namespace: "default",
        resourceVersion: "209",
        uid: "3f1dbf8e-5b45-40de-82b7-cfda4162e057",
      },
      spec: {
        clusterIP: "10.96.0.1",
        clusterIPs: ["10.96.0.1"],
        internalTrafficPolicy: "Cluster",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: [
          {
            name: "https",
            port: 443,
            protocol: "TCP",
            targetPort: 36443,
          },
        ],
        sessionAffinity: "None",
        type: "ClusterIP",
      },
      status: {
        loadBalancer: {},
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        creationTimestamp: "2026-11-28T14:17:42Z",
        name: "pending",
        namespace: "default",
        resourceVersion: "222",
        uid: "8eb1897c-42d9-4773-8975-12c57b2ee0f0",
      },
      spec: {
        allocateLoadBalancerNodePorts: true,
        clusterIP: "10.110.8.72",
        clusterIPs: ["10.110.8.72"],
        externalTrafficPolicy: "Cluster",
        internalTrafficPolicy: "Cluster",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: [
          {
            nodePort: 30199,
            port: 8443,
            protocol: "TCP",
            targetPort: 8443,
          },
        ],
        selector: {
          app: "x",
        },
        sessionAffinity: "None",
        type: "LoadBalancer",
      },
      status: {
        loadBalancer: {},
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        creationTimestamp: "2026-11-28T14:17:42Z",
        name: "two-addresses",
        namespace: "default",
        resourceVersion: "232",
        uid: "53c0c79d-0c4c-4d9d-9872-bed1476c5282",
      },
      spec: {
        allocateLoadBalancerNodePorts: true,
        clusterIP: "10.109.115.17",
        clusterIPs: ["10.109.115.17"],
        externalTrafficPolicy: "Cluster",
        internalTrafficPolicy: "Cluster",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: [
          {
            name: "https-ui",
            nodePort: 31285,
            port: 9443,
            protocol: "TCP",
            targetPort: 8443,
          },
        ],
        selector: {
          app: "x",
        },
        sessionAffinity: "None",
        type: "LoadBalancer",
      },
      status: {
        loadBalancer: {
          ingress: [
            {
              ip: "192.168.56.48",
              ipMode: "VIP",
            },
            {
              ip: "192.168.56.49",
              ipMode: "VIP",
            },
          ],
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        creationTimestamp: "2026-11-28T14:17:42Z",
        name: "kubelab-ui",
        namespace: "kube-system",
        resourceVersion: "214",
        uid: "d3ef3528-d7e4-4df4-bb21-c3ba9ffa5d78",
      },
      spec: {
        allocateLoadBalancerNodePorts: true,
        clusterIP: "10.109.99.188",
        clusterIPs: ["10.109.99.188"],
        externalTrafficPolicy: "Cluster",
        internalTrafficPolicy: "Cluster",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
        ports: [
          {
            name: "http",
            nodePort: 32164,
            port: 80,
            protocol: "TCP",
            targetPort: 4466,
          },
        ],
        selector: {
          "k8s-app": "headlamp",
        },
        sessionAffinity: "None",
        type: "LoadBalancer",
      },
      status: {
        loadBalancer: {
          ingress: [
            {
              ip: "192.168.56.46",
              ipMode: "VIP",
            },
          ],
        },
      },
    },
  ],
  kind: "List",
  metadata: {
    resourceVersion: "",
  },
};

/**
 * What each `addons.cni.encapsulation` means for a manifest install of Calico, in one table:
 * the default IPPool's modes, the networking backend and the tunnel device the nodes' kernels
 * must be able to make. The renderer (calico.ts) writes the first three into calico.yaml; the
 * host check before kubeadm reads the last.
 */
import type { CalicoEncapsulation } from "../plan/types.js";

/** What one encapsulation asks of Calico and of the nodes. */
export interface CalicoEncapsulationSettings {
  /** calico-node's CALICO_IPV4POOL_IPIP: IP-in-IP mode of the default pool. */
  readonly ipipMode: "Always" | "Never";
  /** calico-node's CALICO_IPV4POOL_VXLAN: VXLAN mode of the default pool. */
  readonly vxlanMode: "Always" | "CrossSubnet" | "Never";
  /**
   * calico-config's `calico_backend`: `bird` runs BIRD to exchange routes over BGP; `vxlan`
   * runs no BIRD (felix programs the VXLAN routes itself), so the BIRD health checks must go.
   */
  readonly backend: "bird" | "vxlan";
  /** The kernel link type the tunnels are made of; none when pod traffic is routed plainly. */
  readonly tunnel?: "ipip" | "vxlan";
}

/**
 * CALICO_ENCAPSULATIONS follows Calico's documented way to switch a manifest install from
 * IP-in-IP to VXLAN: both pool modes, the backend, and (with `vxlan`) no BIRD probes.
 * `none` keeps BIRD: pod routes are learnt over BGP and sent unencapsulated, which only works
 * when every node is on one L2 network.
 */
export const CALICO_ENCAPSULATIONS: Readonly<Record<CalicoEncapsulation, CalicoEncapsulationSettings>> = {
  ipip: { ipipMode: "Always", vxlanMode: "Never", backend: "bird", tunnel: "ipip" },
  vxlan: { ipipMode: "Never", vxlanMode: "Always", backend: "vxlan", tunnel: "vxlan" },
  "vxlan-cross-subnet": { ipipMode: "Never", vxlanMode: "CrossSubnet", backend: "vxlan", tunnel: "vxlan" },
  none: { ipipMode: "Never", vxlanMode: "Never", backend: "bird" },
};

/**
 * kubelab doctor: checks that name a lab's known failures from evidence, each with the fix.
 *
 * Evidence is collected first (from the cluster file, the nodes over SSH, the API, probes from
 * this host) into one plain JSON document, then every check reads only that document. So a
 * saved dump (`kubelab doctor dump`) gives the same verdicts as the live cluster, and tests
 * build dumps from real objects, real files and real logs.
 */
import type { Plan } from "../plan/types.js";

/** Where a check's evidence comes from. */
export type EvidenceSource = "file" | "nodes" | "api" | "probes" | "virtualbox";

export type Verdict = "pass" | "warn" | "fail";

/** One result of a check: about the cluster as a whole, or about one subject (a node, a Service). */
export interface Finding {
  readonly verdict: Verdict;
  /** What it is about: `worker-1`, `Service kube-system/kubelab-ui`. */
  readonly subject?: string;
  /** What was seen, one fact per line, quoting the evidence (a file line, a log line, a field). */
  readonly evidence: readonly string[];
  /** What to change (fail and warn). */
  readonly fix?: string;
}

/** A check. `run` returns no finding when it does not apply (e.g. no MetalLB in the plan). */
export interface Check {
  /** Stable id, `area.what`, e.g. `metallb.strict-arp`; `--check` takes it. */
  readonly id: string;
  readonly title: string;
  readonly needs: readonly EvidenceSource[];
  /**
   * Upstream issues and docs behind the check. The failure itself is explained in the check's
   * section of docs/known-failures.md, whose anchor is the id.
   */
  readonly references: readonly string[];
  run(evidence: Evidence, plan: Plan): readonly Finding[];
}

/** A command's result on a node. */
export interface CommandEvidence {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What was read on one node (keys are defined by the collector, see NODE_EVIDENCE). */
export interface NodeEvidence {
  /** File contents by absolute path; null when the file does not exist. */
  readonly files: Readonly<Record<string, string | null>>;
  /** Command results by the collector's key. */
  readonly commands: Readonly<Record<string, CommandEvidence>>;
  /** This host's clock when the node's clock was read (ms since the epoch), for skew. */
  readonly hostTimeMs?: number;
}

/** What was read through the API. */
export interface ApiEvidence {
  /** Objects by `apiVersion/Kind` (`v1/Node`, `apps/v1/DaemonSet`, `metallb.io/v1beta1/IPAddressPool`). */
  readonly objects: Readonly<Record<string, readonly Record<string, unknown>[]>>;
  /** Log excerpts by `namespace/pod/container` (`previous` logs of restarted containers suffixed `#previous`). */
  readonly logs: Readonly<Record<string, string>>;
}

/** One port of a LoadBalancer address, probed from this host. */
export interface PortProbe {
  readonly port: number;
  readonly protocol: string;
  /** open: connected; refused: RST; timeout: no answer to the SYN; unreachable: no ARP answer (EHOSTUNREACH). */
  readonly tcp: "open" | "refused" | "timeout" | "unreachable" | "skipped";
  /** For web ports: the HTTP(S) status, or what went wrong. */
  readonly http?: { readonly status?: number; readonly error?: string };
}

/** A LoadBalancer address probed from this host on the lab interface. */
export interface AddressProbe {
  readonly address: string;
  /** `namespace/name` of the Service. */
  readonly service: string;
  readonly interface: string;
  /** Whether an ARP who-has got an answer, from which MAC, and which node that MAC belongs to. */
  readonly arp: { readonly answered: boolean; readonly mac?: string; readonly node?: string };
  readonly ports: readonly PortProbe[];
  /**
   * Why the address was not probed (no lab interface on this host, or the address is not on
   * the lab link): then no packet was sent, `arp.answered` is false and every port is `skipped`.
   */
  readonly skipped?: string;
}

/**
 * One node's VirtualBox VM, read on this host (vagrant provider, hypervisor virtualbox).
 * `showvminfo --machinereadable` has the NICs' attachments and the storage controllers, but
 * neither the promiscuous-mode policy nor the host I/O cache (VBoxManageInfo.cpp prints them
 * in no machine-readable key): those are read from the VM's settings file.
 */
export interface VirtualBoxVmEvidence {
  /** The VM's name (`<cluster>-<node>`) and UUID, as `VBoxManage list vms` printed them. */
  readonly name: string;
  readonly uuid: string;
  /** `VBoxManage showvminfo <uuid> --machinereadable`. */
  readonly showvminfo: string;
  /** The VM's settings file (the `.vbox` XML at showvminfo's `CfgFile`); null when it could not be read. */
  readonly settings: string | null;
}

/** Everything doctor knows about a cluster. */
export interface Evidence {
  readonly format: "kubelab.dev/doctor-evidence/v1";
  readonly collectedAt: string;
  /** The cluster file as parsed (the plan is derived from it again). */
  readonly file: unknown;
  readonly nodes?: Readonly<Record<string, NodeEvidence>>;
  readonly api?: ApiEvidence;
  readonly probes?: readonly AddressProbe[];
  /** The node VMs by node name, when the nodes are VirtualBox VMs. */
  readonly virtualbox?: Readonly<Record<string, VirtualBoxVmEvidence>>;
  /** Sources that could not be read, and why (their checks are skipped, saying so). */
  readonly unavailable: Readonly<Partial<Record<EvidenceSource, string>>>;
}

/** A check's outcome. */
export interface CheckResult {
  readonly id: string;
  readonly title: string;
  /** The worst finding's verdict; `skip` when the check did not apply or lacked evidence. */
  readonly verdict: Verdict | "skip";
  readonly findings: readonly Finding[];
  readonly references: readonly string[];
  /** Where the failure is explained: docs/known-failures.md in kubelab's package, and the check's anchor. */
  readonly see: string;
  /** Why it was skipped. */
  readonly skipped?: string;
}

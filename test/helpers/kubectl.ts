/**
 * The real kubectl (built here with the pinned Kubernetes: scripts/dev-tools/kubernetes.sh), run
 * against a cluster through a kubeconfig, for what tests do as a user would: `exec` into a pod,
 * `set env` on a DaemonSet.
 */
import { execFile } from "node:child_process";
import { kubernetesBinary } from "./packages.js";

/** What one kubectl run gave: its exit code and output. */
export interface KubectlResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** kubectlWith returns a function running `kubectl --kubeconfig <kubeconfig> ...args`. */
export function kubectlWith(kubeconfig: string): (...args: string[]) => Promise<KubectlResult> {
  const bin = kubernetesBinary("kubectl");
  return (...args) =>
    new Promise((resolve) => {
      execFile(
        bin,
        ["--kubeconfig", kubeconfig, ...args],
        { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, out: stdout.toString(), err: stderr.toString() });
        },
      );
    });
}

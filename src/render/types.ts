/**
 * What renderers produce. Renderers are pure: a Plan (and explicit inputs) in, files or
 * Kubernetes objects out; they never read the disk, the network or the clock.
 */

/** A file kubelab puts on a machine, at an absolute path on that machine. */
export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  /** File mode, e.g. 0o600 for files holding secrets. @default 0o644 */
  readonly mode?: number;
}

/** A Kubernetes object kubelab applies (server-side apply) and owns. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

/** Labels every object kubelab owns carries. */
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "kubelab" } as const;

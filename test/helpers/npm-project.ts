// An empty npm project that can install kubelab's tarball offline, from the npm cache alone.
//
// `npm ci` fetched the dependencies' tarballs into the cache, but not the registry's package
// documents npm reads to choose versions, so a bare `npm install --offline kubelab.tgz` has
// nothing to choose from. The project's lock file pins what kubelab's own lock pins instead
// (the packages outside its devDependencies), which is also the tree a user gets today.

/** One package of a lock file (lockfileVersion 3), as far as this file reads it. */
interface LockEntry {
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly optional?: boolean;
  readonly peer?: boolean;
  readonly [field: string]: unknown;
}

interface Lock {
  readonly packages: Readonly<Record<string, LockEntry>>;
}

/**
 * runtimeLock is the package-lock.json of an empty project `name` holding every runtime
 * package of `repoLock` (kubelab's package-lock.json) at the path and version it has there.
 */
export function runtimeLock(repoLock: Lock, name: string): Record<string, unknown> {
  const packages: Record<string, unknown> = { "": { name, version: "1.0.0" } };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path === "" || entry.dev) continue;
    // What is optional or a peer for kubelab's development is recomputed for the project.
    const { dev: _dev, devOptional, peer: _peer, ...rest } = entry;
    packages[path] = devOptional ? { ...rest, optional: true } : rest;
  }
  return { name, version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

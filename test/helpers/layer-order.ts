/**
 * LAYER_ORDER is the one statement of how src/ is layered, top to bottom; test/architecture.test.ts
 * holds src/ to it. A unit is a folder of src/ or a file at its top (`index` is src/index.ts).
 * A unit imports only units below it, or beside it on the same floor as long as no cycle
 * between folders forms. A new folder goes on a floor here before anything can import it.
 */
export const LAYER_ORDER = [
  // The library entry: it may re-export anything.
  ["index"],
  ["cli"],
  ["cluster"],
  ["phases", "addons", "doctor", "bundle"],
  ["providers", "kube", "remote", "artifacts", "oci"],
  // Pure: never network, disk or clock.
  ["render"],
  ["plan"],
  ["config"],
  ["net", "versions", "errors"],
] as const satisfies readonly (readonly string[])[];

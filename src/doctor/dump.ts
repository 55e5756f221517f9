/**
 * Evidence on disk: `kubelab doctor dump --out DIR` writes `DIR/evidence.json`; `kubelab
 * doctor --from DIR` reads it back. Nothing secret should be in it: no Secret is collected
 * but certificates (never a key: Linkerd's issuer and kubelab's trust anchor, see SECRETS in
 * api.ts), kubeconfigs are never read, and
 * bootstrap tokens, private keys, JWTs and the values of env vars named like a secret
 * (PASSWORD, TOKEN, SECRET, KEY) are masked on the way to disk (see redact).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cut, UserError } from "../errors.js";
import { isObject, str } from "./object.js";
import type { Evidence } from "./types.js";

export const EVIDENCE_FILE = "evidence.json";

const SECRETS: readonly [RegExp, string][] = [
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, "<token>"],
  // PEM private keys of any kind.
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g, "<private key>"],
  // Bearer tokens (JWTs) in logs.
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, "<jwt>"],
];

const SECRET_NAME = /PASSWORD|PASSWD|TOKEN|SECRET|(^|_)KEY($|_)|CREDENTIAL/i;

/** redact masks tokens, private keys and secret-looking env values in a JSON-like value. */
export function redact<T>(value: T): T {
  if (typeof value === "string") return SECRETS.reduce((s, [re, to]) => s.replace(re, to), value as string) as T;
  if (Array.isArray(value)) return value.map(redact) as T;
  if (isObject(value)) {
    // A container env entry ({name, value}) whose name says it holds a secret.
    const name = str(value, "name");
    if (name !== undefined && str(value, "value") !== undefined && SECRET_NAME.test(name))
      return { ...value, value: "<redacted>" } as T;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)])) as T;
  }
  return value;
}

/** writeEvidence saves evidence (redacted) as DIR/evidence.json, mode 0600. */
export async function writeEvidence(dir: string, evidence: Evidence): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, EVIDENCE_FILE);
  await writeFile(path, `${JSON.stringify(redact(evidence), null, 2)}\n`, { mode: 0o600 });
  return path;
}

/** readEvidence loads a dump, refusing files that are not one (a check reading a hand-made file fails on its own). */
export async function readEvidence(dir: string): Promise<Evidence> {
  const path = join(dir, EVIDENCE_FILE);
  const text = await readFile(path, "utf8").catch(() => {
    throw new UserError(`no evidence at ${path}`, { hint: "make one with kubelab doctor dump --out DIR" });
  });
  const remake = { hint: "make it again with kubelab doctor dump --out DIR" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path} is not JSON: ${(e as Error).message}`, remake);
  }
  if (!isObject(parsed) || parsed.format !== "kubelab.dev/doctor-evidence/v1")
    throw new UserError(
      `${path} is not a kubelab doctor dump (format ${cut(String(isObject(parsed) ? parsed.format : typeof parsed))})`,
      remake,
    );
  const wrong = shapeProblems(parsed);
  if (wrong.length > 0) throw new UserError(`${path} is not a complete doctor dump: ${wrong.join("; ")}`, remake);
  return parsed as unknown as Evidence;
}

/** shapeProblems names the top-level fields of a dump that are missing or of the wrong kind. */
function shapeProblems(dump: Record<string, unknown>): string[] {
  const kinds: [keyof Evidence, "object" | "array" | "string", boolean][] = [
    ["collectedAt", "string", true],
    ["unavailable", "object", true],
    ["nodes", "object", false],
    ["api", "object", false],
    ["probes", "array", false],
    ["virtualbox", "object", false],
  ];
  return kinds.flatMap(([key, kind, required]) => {
    const v = dump[key];
    if (v === undefined) return required ? [`${key} is missing`] : [];
    const ok = kind === "array" ? Array.isArray(v) : kind === "object" ? isObject(v) : typeof v === kind;
    return ok ? [] : [`${key} is not ${kind === "array" ? "an array" : `a${kind === "object" ? "n" : ""} ${kind}`}`];
  });
}

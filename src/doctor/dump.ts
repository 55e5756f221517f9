/**
 * Evidence on disk: `kubelab doctor dump --out DIR` writes `DIR/evidence.json`; `kubelab
 * doctor --from DIR` reads it back. Nothing secret should be in it. What is collected is
 * narrow already (no Secret but certificates, never a key: see SECRETS in api.ts; kubeconfigs
 * are never read); on the way to disk the API objects keep only the fields the checks read
 * (keep-read.ts: no env, command or args of any container), and the text the checks do read
 * (logs, node files, command output, container messages) is masked: bootstrap tokens,
 * kubeadm's certificate key, private keys (PEM or base64 PEM), JWTs, and values given to
 * names that say secret (`DB_PASS=`, `apiKey:`, `--password=`, `password = "..."`).
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cut, UserError } from "../errors.js";
import { keepRead } from "./keep-read.js";
import { isObject, str } from "./object.js";
import type { Evidence } from "./types.js";

export const EVIDENCE_FILE = "evidence.json";

/** Part of a name that says its value is secret (`DB_PASS`, `apiKey`, `client-secret`, `certificateKey`). */
const SECRET_WORD =
  "pass(?:word|wd)?(?![a-z])|token(?![a-z])|secret(?![a-z])|api[_-]?key|private[_-]?key|certificate[_-]?key|credentials?(?![a-z])";

/** A base64 run that starts like a PEM block ("-----BEGIN" in base64). */
const BASE64_PEM = /LS0tLS1CRUdJTi[A-Za-z0-9+/=]*/g;

const SECRETS: readonly [RegExp, string | ((m: string, ...groups: string[]) => string)][] = [
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, "<token>"],
  // PEM private keys of any kind.
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g, "<private key>"],
  // The same base64-encoded (a Secret's data, a kubeconfig's client-key-data); certificates stay.
  [BASE64_PEM, (m) => (Buffer.from(m, "base64").toString("latin1").includes("PRIVATE KEY") ? "<private key>" : m)],
  // Bearer tokens (JWTs) in logs.
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, "<jwt>"],
  // kubeadm's certificate key as init prints it ("Using certificate key:" then 64 hex digits).
  [/(certificate key:?\s*)[0-9a-f]{64}\b/gi, "$1<redacted>"],
  // A flag of a secret name with its value: --password=x, --token x, --client-secret=x (paths stay).
  [new RegExp(`(--[\\w-]*(?:${SECRET_WORD})[\\w-]*(?:=|[ \\t]+))(?!/)[^\\s"']+`, "gi"), "$1<redacted>"],
  // Registry credentials in containerd's configuration and Docker's config.json.
  [/(\b(?:auth|identitytoken)["']?[ \t]*[:=][ \t]*["']?)[^\s"',}]+/gi, "$1<redacted>"],
  // NAME=value, name: value, "name": "value", name = "value" with a secret name (paths stay).
  [
    new RegExp(`\\b([\\w.-]*(?:${SECRET_WORD})[\\w.-]*)(["']?[ \\t]*[:=][ \\t]*["']?)(?!/)([^\\s"',}]+)`, "gi"),
    "$1$2<redacted>",
  ],
];

const SECRET_NAME = /PASSWORD|PASSWD|TOKEN|SECRET|(^|_)KEY($|_)|CREDENTIAL/i;

/** mask applies every text pattern above. */
function mask(text: string): string {
  return SECRETS.reduce((s, [re, to]) => s.replace(re, to as string), text);
}

/** redact masks tokens, private keys and secret-looking values in a JSON-like value. */
export function redact<T>(value: T): T {
  if (typeof value === "string") return mask(value) as T;
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

/** dumpable is what a dump holds of the evidence: the fields checks read, masked. */
export const dumpable = (evidence: Evidence): Evidence => redact(keepRead(evidence));

/**
 * writeEvidence saves the dumpable evidence as DIR/evidence.json, mode 0600 also when the file
 * was there before (written beside it and renamed over it).
 */
export async function writeEvidence(dir: string, evidence: Evidence): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, EVIDENCE_FILE);
  const tmp = `${path}.kubelab-${process.pid}`;
  try {
    await writeFile(tmp, `${JSON.stringify(dumpable(evidence), null, 2)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
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

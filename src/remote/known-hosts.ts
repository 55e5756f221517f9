/**
 * The cluster's own known_hosts file (`<clusterDir>/known_hosts`, OpenSSH format, so
 * `ssh -o UserKnownHostsFile=...` can use it too): the host keys of the nodes, checked on
 * every connection.
 *
 * Policies (what happens when a host is new / when its key differs from the stored one):
 *  - "trust-on-first-use": new: the key is stored; changed: refused. For machines kubelab
 *    made itself, and the default for first contact with the ssh provider's hosts too.
 *  - "accept-new": new: stored; changed: the stored keys of that host are replaced by the
 *    new one. What `--accept-new-host-keys` selects (a re-installed machine, say).
 *  - "strict": new: refused (the key must already be in the file, e.g. put there after
 *    checking its fingerprint); changed: refused.
 */
import { createHash, createHmac } from "node:crypto";
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../errors.js";

export type HostKeyPolicy = "trust-on-first-use" | "strict" | "accept-new";

/** The OpenSSH fingerprint of a public key blob: `SHA256:` + unpadded base64 of its sha256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** The key type a public key blob starts with (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
export function keyType(key: Buffer): string {
  if (key.length < 4) throw new Error("malformed SSH public key");
  const n = key.readUInt32BE(0);
  if (n === 0 || n > 64 || key.length < 4 + n) throw new Error("malformed SSH public key");
  return key.subarray(4, 4 + n).toString("latin1");
}

/** How the host is named in known_hosts: `host`, or `[host]:port` when the port is not 22. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** How the host is named in messages. */
function display(host: string, port: number): string {
  return port === 22 ? host : `${host}:${port}`;
}

interface Entry {
  readonly line: number;
  readonly type: string;
  readonly key: Buffer;
}

/** Whether one comma-separated host field of a known_hosts line names `name`. */
function matches(field: string, name: string): boolean {
  for (const pat of field.split(",")) {
    if (pat.startsWith("|1|")) {
      // Hashed (HashKnownHosts yes): |1|base64(salt)|base64(hmac-sha1(salt, name))
      const [, , salt, hash] = pat.split("|");
      if (!salt || !hash) continue;
      const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
      if (mac === hash) return true;
    } else if (pat === name) {
      return true;
    }
    // Wildcards and negations are not used in this file.
  }
  return false;
}

/** The entries of `text` for `name`. Marker lines (@cert-authority, @revoked) are skipped. */
function entriesFor(text: string, name: string): Entry[] {
  const out: Entry[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("@")) return;
    const [hosts, type, b64] = line.split(/\s+/);
    if (!hosts || !type || !b64 || !matches(hosts, name)) return;
    out.push({ line: i, type, key: Buffer.from(b64, "base64") });
  });
  return out;
}

/** What to do about a known_hosts file kubelab cannot use, whatever is wrong with it. */
const RECORD_AGAIN =
  "kubelab records each node's host key there again on the next connection, trusting it on first use";

/**
 * readText reads the known_hosts file ("" when there is none). A file kubelab cannot read, or
 * one with a line that is no known_hosts entry (garbage, binary, a half-written line), is a
 * UserError naming the file: kubelab neither guesses past it nor appends to it.
 */
async function readText(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "";
    if (code === "EISDIR")
      throw new UserError(`${file} is a directory, not the cluster's known_hosts file`, {
        hint: `move it away (mv ${file} ${file}.old); ${RECORD_AGAIN}`,
        cause: err,
      });
    throw new UserError(`${file}: cannot read the cluster's known_hosts (${code ?? (err as Error).message})`, {
      hint: `check its owner and mode (ls -l ${file}), or move it away; ${RECORD_AGAIN}`,
      cause: err,
    });
  }
  const bad = text.split("\n").findIndex((line) => !isEntry(line));
  if (bad >= 0)
    throw new UserError(`${file}, line ${bad + 1}: not a known_hosts entry (host key-type base64-key)`, {
      hint: `the file holds the nodes' SSH host keys: remove that line, or move the file away (mv ${file} ${file}.old); ${RECORD_AGAIN}`,
    });
  return text;
}

/** A key type: ssh-ed25519, ecdsa-sha2-nistp256, sk-ssh-ed25519@openssh.com, ... */
const KEY_TYPE = /^[A-Za-z0-9][A-Za-z0-9@._+-]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Host patterns: names, [host]:port, hashed |1|salt|hash, wildcards and negations; nothing unprintable. */
const HOSTS = /^[\x21-\x7e]+$/;

/** isEntry tells whether a line of known_hosts is blank, a comment, or an entry OpenSSH would read. */
function isEntry(raw: string): boolean {
  const line = raw.trim();
  if (line === "" || line.startsWith("#")) return true;
  const fields = line.split(/[ \t]+/);
  if (fields[0]?.startsWith("@")) fields.shift();
  const [hosts, type, key] = fields;
  if (!hosts || !type || !key || !HOSTS.test(hosts) || !KEY_TYPE.test(type) || !BASE64.test(key)) return false;
  // The key blob names its own type first, as OpenSSH checks: three words of text are no entry.
  const blob = Buffer.from(key, "base64");
  try {
    return keyType(blob) === type && wholeFields(blob);
  } catch {
    return false;
  }
}

/**
 * wholeFields tells whether a public key blob is a run of length-prefixed fields ending exactly
 * at its end (type, then the key's parts): a line cut short by a crash ends inside one.
 */
function wholeFields(blob: Buffer): boolean {
  let at = 0;
  let fields = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return false;
    at += 4 + blob.readUInt32BE(at);
    fields++;
  }
  return at === blob.length && fields >= 2;
}

/**
 * checkKnownHosts reads the cluster's known_hosts once before connecting to any node, so a
 * corrupted file is one clear error (see readText) rather than one per node.
 */
export async function checkKnownHosts(file: string): Promise<void> {
  await readText(file);
}

/** Read-modify-write of one file is serialized within this process (hosts connect in parallel). */
const locks = new Map<string, Promise<unknown>>();

function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(file) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => {});
  locks.set(file, tail);
  void tail.then(() => {
    if (locks.get(file) === tail) locks.delete(file);
  });
  return next;
}

async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

/**
 * verifyHostKey checks the host key `key` (the raw public key blob the server sent) of
 * `host:port` against `file` under `policy` (see the top of this file). Returns "known"
 * when the file already had it, "added" when it was stored now. A host with keys in the
 * file none of which is `key` has a changed key, whatever the key type: that throws a
 * UserError (unless the policy is "accept-new").
 */
export function verifyHostKey(
  file: string,
  host: string,
  port: number,
  key: Buffer,
  policy: HostKeyPolicy,
): Promise<"known" | "added"> {
  return withLock(file, async () => {
    const name = hostPattern(host, port);
    const type = keyType(key);
    const line = `${name} ${type} ${key.toString("base64")}\n`;
    const text = await readText(file);
    const entries = entriesFor(text, name);
    if (entries.some((e) => e.type === type && e.key.equals(key))) return "known";

    if (entries.length === 0) {
      if (policy === "strict") {
        throw new UserError(`host key for ${display(host, port)} is not known (${type} ${fingerprint(key)})`, {
          hint: `check the fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add "${name} ${type} <key>" to ${file}, or connect with --accept-new-host-keys`,
        });
      }
      await mkdir(dirname(file), { recursive: true });
      // A small O_APPEND write: another process appending at the same time cannot interleave.
      await appendFile(file, text && !text.endsWith("\n") ? `\n${line}` : line, { mode: 0o644 });
      return "added";
    }

    if (policy === "accept-new") {
      const drop = new Set(entries.map((e) => e.line));
      const kept = text.split("\n").filter((_, i) => !drop.has(i));
      while (kept.length && kept[kept.length - 1] === "") kept.pop();
      await replaceFile(file, `${kept.map((l) => `${l}\n`).join("")}${line}`);
      return "added";
    }

    const was = entries.map((e) => fingerprint(e.key)).join(", ");
    throw new UserError(`host key for ${display(host, port)} changed (was ${was}, now ${fingerprint(key)})`, {
      hint: `if the machine was re-created or re-installed, run again with --accept-new-host-keys (or remove the ${name} lines from ${file}); otherwise someone may be intercepting the connection`,
    });
  });
}

/**
 * setHostKeys makes `keys` the only known keys of `host:port` in `file`: for a machine whose
 * keys kubelab generated itself, recorded before its first boot (a machine made before at
 * that address loses its entries).
 */
export function setHostKeys(file: string, host: string, port: number, keys: readonly Buffer[]): Promise<void> {
  return withLock(file, async () => {
    const name = hostPattern(host, port);
    const text = await readText(file);
    const drop = new Set(entriesFor(text, name).map((e) => e.line));
    const kept = text.split("\n").filter((l, i) => !drop.has(i) && l !== "");
    const lines = keys.map((k) => `${name} ${keyType(k)} ${k.toString("base64")}`);
    await mkdir(dirname(file), { recursive: true });
    await replaceFile(file, [...kept, ...lines].map((l) => `${l}\n`).join(""));
  });
}

/** forgetHost removes every entry of `host:port` from `file` (for a machine that was destroyed). */
export function forgetHost(file: string, host: string, port: number): Promise<void> {
  return withLock(file, async () => {
    const text = await readText(file);
    const drop = new Set(entriesFor(text, hostPattern(host, port)).map((e) => e.line));
    if (drop.size === 0) return;
    const kept = text.split("\n").filter((_, i) => !drop.has(i));
    await replaceFile(file, kept.join("\n"));
  });
}

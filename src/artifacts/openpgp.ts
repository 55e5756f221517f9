/**
 * OpenPGP public keys as apt repositories publish them (Release.key): unwrapping the ASCII
 * armor, and reading the fingerprints of the primary keys a key file holds, so a fetched key
 * is compared with the pinned fingerprint before anything is checked against it. A key file
 * comes from the place it vouches for; only the pinned fingerprint makes it an anchor.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../errors.js";

const execFileP = promisify(execFile);

/** dearmor turns an ASCII-armored OpenPGP key into the binary form gpgv reads. */
export function dearmor(armored: string): Buffer {
  const lines = armored.replace(/\r/g, "").split("\n");
  const begin = lines.findIndex((l) => /^-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(l));
  if (begin === -1) return Buffer.from(armored, "binary"); // already binary
  let i = begin + 1;
  while (i < lines.length && lines[i]?.trim() !== "") i++; // armor headers end at a blank line
  const body: string[] = [];
  for (i++; i < lines.length; i++) {
    const l = (lines[i] ?? "").trim();
    if (l.startsWith("=") || l.startsWith("-----END")) break; // CRC24 line, then the end
    body.push(l);
  }
  return Buffer.from(body.join(""), "base64");
}

/** One OpenPGP packet: its tag and body (RFC 4880 section 4.2, old and new headers). */
function* packets(data: Buffer): Generator<{ tag: number; body: Buffer }> {
  let at = 0;
  const bad = (why: string) => new UserError(`not an OpenPGP key: ${why}`, { exitCode: 1 });
  while (at < data.length) {
    const head = data[at] as number;
    if ((head & 0x80) === 0) throw bad(`byte ${at} starts no packet`);
    let tag: number;
    let len: number;
    let start: number;
    if (head & 0x40) {
      tag = head & 0x3f;
      const first = data[at + 1] ?? 0;
      if (first < 192) [len, start] = [first, at + 2];
      else if (first < 224) [len, start] = [((first - 192) << 8) + (data[at + 2] ?? 0) + 192, at + 3];
      else if (first === 255) [len, start] = [data.readUInt32BE(at + 2), at + 6];
      else throw bad("partial body lengths have no place in a key");
    } else {
      tag = (head >> 2) & 0x0f;
      const kind = head & 0x03;
      if (kind === 3) throw bad("indeterminate lengths have no place in a key");
      const size = 1 << kind;
      len = size === 1 ? (data[at + 1] ?? 0) : size === 2 ? data.readUInt16BE(at + 1) : data.readUInt32BE(at + 1);
      start = at + 1 + size;
    }
    if (start + len > data.length) throw bad("a packet runs past the end");
    yield { tag, body: data.subarray(start, start + len) };
    at = start + len;
  }
}

/**
 * primaryFingerprints lists the fingerprints (upper-case hex, as `gpg --with-colons` prints
 * them) of every primary key in a key file, armored or binary. Subkeys are left out: gpgv
 * only honours a subkey bound to its primary by the primary's own signature.
 */
export function primaryFingerprints(key: Buffer | string): string[] {
  const data = typeof key === "string" ? dearmor(key) : dearmor(key.toString("latin1"));
  const found: string[] = [];
  for (const { tag, body } of packets(data)) {
    if (tag !== 6) continue;
    if (body[0] !== 4)
      throw new UserError(`an OpenPGP key of version ${body[0]} is not supported (version 4 only)`, { exitCode: 1 });
    const head = Buffer.from([0x99, body.length >> 8, body.length & 0xff]);
    found.push(createHash("sha1").update(head).update(body).digest("hex").toUpperCase());
  }
  return found;
}

/**
 * pinnedKey returns the binary form of `key` (fetched from `url`) when every primary key it
 * holds has one of the `pinned` fingerprints; anything else is refused: a key file with an
 * extra key would let that key sign too.
 */
export function pinnedKey(key: Buffer | string, pinned: readonly string[], url: string): Buffer {
  const want = new Set(pinned.map((f) => f.replaceAll(" ", "").toUpperCase()));
  const found = primaryFingerprints(key);
  const strangers = found.filter((f) => !want.has(f));
  if (found.length === 0 || strangers.length > 0)
    throw new UserError(`the signing key from ${url} is not the pinned one`, {
      details: `pinned: ${[...want].join(", ")}\nfound:  ${found.join(", ") || "no key"}`,
      hint: "the repository's key changed or the download was tampered with; check the key's source before trusting it",
      exitCode: 1,
    });
  return typeof key === "string" ? dearmor(key) : dearmor(key.toString("latin1"));
}

/**
 * verifySignature checks a detached signature with gpgv against one (already pinned) key,
 * and that the key gpgv says made it is one of `pinned`; throws when either does not hold.
 */
export async function verifySignature(
  data: Buffer,
  signature: Buffer,
  key: Buffer,
  pinned: readonly string[],
  what: string,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "kubelab-gpgv-"));
  try {
    await writeFile(join(dir, "key.gpg"), key);
    await writeFile(join(dir, "data"), data);
    await writeFile(join(dir, "data.sig"), signature);
    const args = ["--status-fd", "1", "--keyring", join(dir, "key.gpg"), join(dir, "data.sig"), join(dir, "data")];
    const { stdout } = await execFileP("gpgv", args).catch((e: NodeJS.ErrnoException & { stderr?: string }) => {
      if (e.code === "ENOENT")
        throw new UserError("gpgv is needed to check the Kubernetes package repository's signature", {
          hint: "install gpgv (Debian/Ubuntu: apt-get install gpgv)",
        });
      throw new UserError(`${what}: bad signature`, { details: (e.stderr ?? "").trim(), exitCode: 1 });
    });
    // VALIDSIG <signing key> ... <primary key>: the last field names the primary key.
    const signer = /^\[GNUPG:\] VALIDSIG .* ([0-9A-F]{40})$/m.exec(stdout)?.[1];
    const want = new Set(pinned.map((f) => f.replaceAll(" ", "").toUpperCase()));
    if (!signer || !want.has(signer))
      throw new UserError(`${what}: not signed by the pinned key`, { details: stdout.trim(), exitCode: 1 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

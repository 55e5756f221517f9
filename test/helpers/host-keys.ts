// SSH host keys for the known_hosts tests: public key blobs in the wire format, made up.

/** blob is a fake ed25519 public key blob, different for each `seed`. */
export function blob(seed: number): Buffer {
  const type = Buffer.from("ssh-ed25519");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(type.length);
  const klen = Buffer.alloc(4);
  klen.writeUInt32BE(32);
  return Buffer.concat([len, type, klen, Buffer.alloc(32, seed)]);
}

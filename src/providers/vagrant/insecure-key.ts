/**
 * Vagrant's insecure public key(s): what a box's login user must accept so that Vagrant can
 * reach a new VM once, and then put a key of that VM's own in their place
 * (`config.ssh.insert_key`). Vagrant 2.3 has one RSA key; 2.4 adds an ed25519 one, both in
 * the gem's keys/vagrant.pub. The installed Vagrant's file is read, so a box baked here
 * accepts the key this Vagrant offers; the RSA key, which every Vagrant still offers, is
 * always included.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** The RSA insecure public key every Vagrant release has shipped (keys/vagrant.pub). */
export const VAGRANT_INSECURE_RSA =
  "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key";

/** Where Vagrant's gem lives: Debian's and Ubuntu's package, HashiCorp's package (two layouts). */
const GEM_DIRS = [
  "/usr/share/rubygems-integration/all/gems",
  "/opt/vagrant/embedded/gems/gems",
  "/opt/vagrant/embedded/gems",
];

/** publicKeyLines returns the key lines of an authorized_keys-style text (no comments or blanks). */
export function publicKeyLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** gemKeyFiles lists the keys/vagrant.pub files of the vagrant gems under `dir` (any depth of one version dir). */
async function gemKeyFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const files: string[] = [];
  for (const e of entries) {
    if (/^vagrant-\d/.test(e)) files.push(join(dir, e, "keys", "vagrant.pub"));
    // HashiCorp's older layout: embedded/gems/<ruby version>/gems/vagrant-<version>.
    else if (/^\d/.test(e)) files.push(...(await gemKeyFiles(join(dir, e, "gems"))));
  }
  return files;
}

/**
 * vagrantInsecurePublicKeys returns the insecure public keys of the installed Vagrant (every
 * version found), with the RSA key first and no line twice.
 */
export async function vagrantInsecurePublicKeys(gemDirs: readonly string[] = GEM_DIRS): Promise<string[]> {
  const keys = [VAGRANT_INSECURE_RSA];
  for (const dir of gemDirs)
    for (const file of await gemKeyFiles(dir)) {
      const text = await readFile(file, "utf8").catch(() => "");
      for (const line of publicKeyLines(text)) if (!keys.includes(line)) keys.push(line);
    }
  return keys;
}

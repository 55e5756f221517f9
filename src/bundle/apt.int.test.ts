// The apt repository reader against the test repository (real dpkg-deb, apt-ftparchive,
// a gpg signature checked with the real gpgv), served over HTTP on loopback.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { nspawnTestCluster } from "../../test/helpers/nspawn.js";
import { buildTestPackages, serveDirectory } from "../../test/helpers/packages.js";
import { parsePackages } from "../artifacts/apt-index.js";
import { primaryFingerprints } from "../artifacts/openpgp.js";
import { compareDebianVersions, readRepository, selectPackages } from "./apt.js";

const arch = execFileSync("dpkg", ["--print-architecture"]).toString().trim();

async function servedCopy(t: TestContext, tamper?: (dir: string) => Promise<void>) {
  const { plan } = nspawnTestCluster("a");
  const pkgs = await buildTestPackages(plan);
  const dir = await mkdtemp(join(tmpdir(), "kubelab-apt-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(pkgs.aptDir, dir, { recursive: true });
  await tamper?.(dir);
  const served = await serveDirectory(dir, "127.0.0.1");
  t.after(served.close);
  // The test repository's own key stands in for the pinned pkgs.k8s.io key.
  const keyFingerprints = primaryFingerprints(await readFile(join(pkgs.aptDir, "Release.key")));
  return { url: served.url, keyUrl: `${served.url}Release.key`, keyFingerprints, plan };
}

test("a signed repository opens; packages at the pinned version and their repository dependencies are picked", async (t) => {
  const { url, keyUrl, keyFingerprints, plan } = await servedCopy(t);
  const repo = await readRepository({ url, keyUrl, keyFingerprints });
  const { selected, fromDistribution } = selectPackages(
    repo.packages,
    ["kubeadm", "kubelet", "kubectl"],
    plan.kubernetes.packageVersion,
    arch,
  );
  // cri-tools: a dependency of kubeadm the same repository carries, as on pkgs.k8s.io.
  assert.deepEqual(selected.map((p) => p.name).sort(), ["cri-tools", "kubeadm", "kubectl", "kubelet"]);
  assert.deepEqual(fromDistribution, ["iproute2", "iptables", "mount"]);
  const deb = await repo.download(selected[0] as (typeof selected)[0]);
  assert.equal(deb.subarray(0, 8).toString("latin1"), "!<arch>\n");
});

test("a Release signed by another key, a Packages index that differs from Release, a .deb that differs: refused", async (t) => {
  const other = await servedCopy(t, async (dir) => {
    // Re-sign with a different (throwaway) key: the signature is good, but not by the repository's key.
    const home = await mkdtemp(join(tmpdir(), "kubelab-gpg-"));
    t.after(() => rm(home, { recursive: true, force: true }));
    const gpg = (...a: string[]) =>
      execFileSync("gpg", ["--batch", "--homedir", home, "--passphrase", "", ...a], { stdio: "pipe" });
    gpg("--quick-gen-key", "someone else <x@kubelab.invalid>", "ed25519", "sign", "never");
    gpg("--yes", "--armor", "--detach-sign", "-o", join(dir, "Release.gpg"), join(dir, "Release"));
    execFileSync("gpgconf", ["--homedir", home, "--kill", "all"]);
  });
  await assert.rejects(readRepository(other), /Release: bad signature/);

  const packages = await servedCopy(t, async (dir) => {
    await writeFile(join(dir, "Packages"), `${await readFile(join(dir, "Packages"), "utf8")}\n`);
  });
  await assert.rejects(readRepository(packages), /Packages does not match the sum in Release/);

  const deb = await servedCopy(t, async (dir) => {
    const name = execFileSync("sh", ["-c", "ls *.deb | head -n1"], { cwd: dir }).toString().trim();
    const data = await readFile(join(dir, name));
    data.writeUInt8(data.readUInt8(data.length - 1) ^ 1, data.length - 1);
    await writeFile(join(dir, name), data);
  });
  const repo = await readRepository(deb);
  const results = await Promise.allSettled(repo.packages.map((p) => repo.download(p)));
  assert.equal(results.filter((r) => r.status === "rejected").length, 1);
  assert.match(
    String((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason),
    /does not match the sum in Packages/,
  );
});

test("dpkg version order, checked against dpkg --compare-versions", () => {
  const pairs = [
    ["1.37.2-1.1", "1.37.10-1.1"],
    ["1.37.2-1.1", "1.37.2-1.2"],
    ["1.0~rc1-1", "1.0-1"],
    ["1:0.9", "2.0"],
    ["1.2a", "1.2"],
    ["1.37.2-1.1", "1.37.2-1.1"],
    ["0.0.0", "0.0"],
  ];
  for (const [a, b] of pairs) {
    const ours = Math.sign(compareDebianVersions(a as string, b as string));
    const dpkg = ["lt", "eq", "gt"].find((op) => {
      try {
        execFileSync("dpkg", ["--compare-versions", a as string, op, b as string]);
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(ours, { lt: -1, eq: 0, gt: 1 }[dpkg as "lt"], `${a} vs ${b}`);
  }
});

test("selectPackages: newest dependency from the repository, exact version of what was asked, clear error when missing", () => {
  const index = parsePackages(`Package: kubeadm
Version: 1.37.2-1.1
Architecture: amd64
Depends: cri-tools (>= 1.30.0), kubelet | kubelet-alt, iptables
Filename: kubeadm_1.37.2.deb
SHA256: aa
Size: 1

Package: cri-tools
Version: 1.36.0-1.1
Architecture: amd64
Filename: c1.deb
SHA256: bb
Size: 1

Package: cri-tools
Version: 1.37.0-1.1
Architecture: amd64
Filename: c2.deb
SHA256: cc
Size: 1

Package: kubelet
Version: 1.37.2-1.1
Architecture: arm64
Filename: kubelet-arm.deb
SHA256: dd
Size: 1
`);
  const { selected, fromDistribution } = selectPackages(index, ["kubeadm"], "1.37.2-1.1", "amd64");
  assert.deepEqual(
    selected.map((p) => `${p.name}=${p.version}`),
    ["kubeadm=1.37.2-1.1", "cri-tools=1.37.0-1.1"],
  );
  assert.deepEqual(fromDistribution, ["iptables", "kubelet"]);
  assert.throws(() => selectPackages(index, ["kubeadm"], "1.37.3-1.1", "amd64"), /no kubeadm=1\.37\.3-1\.1 for amd64/);
});

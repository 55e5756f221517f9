/**
 * Two throwaway OpenPGP public keys (ed25519, made with gpg for these tests; their secret
 * halves were deleted) and the fingerprints gpg printed for them, for hermetic tests of key
 * pinning: TEST_KEY stands for a repository's key, OTHER_KEY for a key nobody pinned.
 */

import { type PackageSource, upstreamSource } from "../../src/artifacts/package-source.js";
import type { Plan } from "../../src/plan/types.js";
import { PINNED } from "../../src/versions.js";
import { fakeStore } from "./fake-node.js";

/** An armored public key, as a repository publishes its Release.key. */
export const TEST_KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEaxX7IBYJKwYBBAHaRw8BAQdAo0/4DKDhtttL9Ocu7I30lsSzgCgn6icB3KoQ
qs2RfCG0LGt1YmVsYWIgdW5pdCB0ZXN0IGtleSA8dW5pdEBrdWJlbGFiLmludmFs
aWQ+iJAEExYIADgWIQT3aD2KKG1Os8tgB0/W6ayReOzrEgUCaxX7IAIbAwULCQgH
AgYVCgkICwIEFgIDAQIeAQIXgAAKCRDW6ayReOzrEm96AQDBoNcRkgpMxnyMebie
EV/lF4OgqwFI7XEZfs1SZJMEYQD9FoP20KJDtALB8EBzmOVPz4p+bb9QegJuVJAM
Phwo9Qg=
=QLCj
-----END PGP PUBLIC KEY BLOCK-----
`;

/** TEST_KEY's fingerprint (`gpg --show-keys --with-colons`). */
export const TEST_KEY_FINGERPRINT = "F7683D8A286D4EB3CB60074FD6E9AC9178ECEB12";

/** Another armored public key, pinned nowhere. */
export const OTHER_KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEaxX7IBYJKwYBBAHaRw8BAQdAZVNjOptIgD1Zgzr2q0NLf1KOCh6rA8CU8Ocp
DMdZX+a0KWt1YmVsYWIgb3RoZXIga2V5IDxvdGhlckBrdWJlbGFiLmludmFsaWQ+
iJAEExYIADgWIQQEO2a1ZOh/q+FNBFfqPpego6+4hwUCaxX7IAIbAwULCQgHAgYV
CgkICwIEFgIDAQIeAQIXgAAKCRDqPpego6+4h6wLAP0SbqEslebeRdp0yRoWuXUM
0WsWwCPuAVW/MJI73b5DFQD+Pqww2Or++ifR9GumM8+26dXsAxQU+SoWUwWOcXXW
QAc=
=GSyP
-----END PGP PUBLIC KEY BLOCK-----
`;

/** OTHER_KEY's fingerprint. */
export const OTHER_KEY_FINGERPRINT = "043B66B564E87FABE14D0457EA3E97A0A3AFB887";

/** keyFetch answers every URL with `key` and records the URLs asked for. */
export function keyFetch(key: string, asked: string[] = []): typeof fetch {
  return (async (input: string | URL | Request) => {
    asked.push(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    return new Response(key);
  }) as typeof fetch;
}

/**
 * keyedSource is the plan's upstream package source with the test key pinned in place of
 * pkgs.k8s.io's and served by `fetch` (the URLs stay upstream's): no network in the unit tier.
 */
export function keyedSource(plan: Plan, key = TEST_KEY, asked: string[] = []): PackageSource {
  const upstream = upstreamSource(plan, fakeStore());
  return {
    ...upstream,
    kubernetes: {
      url: PINNED.kubernetes.aptRepository(plan.kubernetes.minor),
      keyUrl: PINNED.kubernetes.aptKey(plan.kubernetes.minor),
      keyFingerprints: [TEST_KEY_FINGERPRINT],
    },
    fetch: keyFetch(key, asked),
  };
}

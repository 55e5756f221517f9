// OpenPGP key pinning: a key file is an anchor only when every primary key in it has a pinned fingerprint.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OTHER_KEY, OTHER_KEY_FINGERPRINT, TEST_KEY, TEST_KEY_FINGERPRINT } from "../../test/helpers/openpgp-keys.js";
import { UserError } from "../errors.js";
import { dearmor, pinnedKey, primaryFingerprints } from "./openpgp.js";

test("primaryFingerprints reads the fingerprints gpg prints, armored or binary", () => {
  assert.deepEqual(primaryFingerprints(TEST_KEY), [TEST_KEY_FINGERPRINT]);
  assert.deepEqual(primaryFingerprints(dearmor(OTHER_KEY)), [OTHER_KEY_FINGERPRINT]);
  assert.deepEqual(primaryFingerprints(Buffer.from(TEST_KEY)), [TEST_KEY_FINGERPRINT]);
});

test("pinnedKey returns the binary key when its fingerprint is pinned", () => {
  const spaced = TEST_KEY_FINGERPRINT.toLowerCase().replace(/(.{4})/g, "$1 ");
  assert.deepEqual(pinnedKey(TEST_KEY, [spaced], "https://repo/Release.key"), dearmor(TEST_KEY));
});

test("pinnedKey refuses another key, and a pinned key with an extra one appended", () => {
  const both = Buffer.concat([dearmor(TEST_KEY), dearmor(OTHER_KEY)]);
  for (const key of [OTHER_KEY, both]) {
    assert.throws(
      () => pinnedKey(key, [TEST_KEY_FINGERPRINT], "https://repo/Release.key"),
      (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.equal(e.message, "the signing key from https://repo/Release.key is not the pinned one");
        assert.match(e.details ?? "", new RegExp(`found: +.*${OTHER_KEY_FINGERPRINT}`));
        return true;
      },
    );
  }
});

test("pinnedKey refuses what is no key at all", () => {
  assert.throws(() => pinnedKey("<html>not found</html>", [TEST_KEY_FINGERPRINT], "u"), UserError);
  assert.throws(() => pinnedKey(Buffer.alloc(0), [TEST_KEY_FINGERPRINT], "u"), /not the pinned one/);
});

/**
 * Where doctor sends a user for the whole story of a failure: docs/known-failures.md, with a
 * section per check whose anchor is the check's id. The document ships in kubelab's package
 * (`files` in package.json), so the path printed is one the user can open where kubelab is
 * installed, and a checkout prints its own copy.
 */
import { fileURLToPath } from "node:url";

/**
 * KNOWN_FAILURES is the absolute path of docs/known-failures.md. This module sits two levels
 * below the package root both as source (src/doctor) and compiled (dist/doctor).
 */
export const KNOWN_FAILURES = fileURLToPath(new URL("../../docs/known-failures.md", import.meta.url));

/** knownFailure is a check's `see:` reference: the document and the section of check `id`. */
export const knownFailure = (id: string): string => `${KNOWN_FAILURES}#${id}`;

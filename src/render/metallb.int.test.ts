import assert from "node:assert/strict";
import { test } from "node:test";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { defaultPlan, FIXTURES, readFixture } from "../../test/helpers/fixtures.js";
import type { Plan } from "../plan/types.js";
import { parseManifest } from "./manifests.js";
import { METALLB_API_VERSION, METALLB_NAMESPACE, metallbObjects } from "./metallb.js";
import { type KubeObject, MANAGED_BY } from "./types.js";

// ajv-formats is CommonJS with `export default`; under NodeNext the default import is the module.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type Schema = Record<string, unknown>;

const metallbNative = parseManifest(readFixture(FIXTURES.metallb));

/** The v1beta1 openAPIV3Schema of a CRD in the pinned metallb-native.yaml. */
function crdSchema(kind: string): Schema {
  const crd = metallbNative.find(
    (o) => o.kind === "CustomResourceDefinition" && (o.spec as { names: { kind: string } }).names.kind === kind,
  );
  assert.ok(crd, `no CRD for ${kind} in ${FIXTURES.metallb}`);
  const spec = crd.spec as {
    group: string;
    versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
  assert.equal(spec.group, "metallb.io");
  const version = spec.versions.find((v) => v.name === "v1beta1");
  assert.ok(version?.served, `${kind} v1beta1 is not served`);
  return version.schema.openAPIV3Schema;
}

/**
 * The schema as the API server enforces it with `fieldValidation=Strict` (what kubectl sends):
 * a structural schema has no additionalProperties, the server prunes unknown fields, and Strict
 * turns pruning into an error. Emulated by closing every object that lists its properties and
 * does not opt out with x-kubernetes-preserve-unknown-fields.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== "object" || schema === null) return schema;
  const s = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, strict(v)])) as Schema;
  if (
    s.properties !== undefined &&
    s.additionalProperties === undefined &&
    s["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    s.additionalProperties = false;
  }
  return s;
}

function compile(schema: unknown): ValidateFunction {
  // strict: false because CRD schemas carry x-kubernetes-* keywords ajv does not know.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema as Schema);
}

const validators = new Map<string, { object: ValidateFunction; spec: ValidateFunction }>();

function validator(
  kind: string,
  mode: "as-published" | "strict",
): { object: ValidateFunction; spec: ValidateFunction } {
  const key = `${kind}/${mode}`;
  const cached = validators.get(key);
  if (cached) return cached;
  const published = crdSchema(kind);
  const schema = (mode === "strict" ? strict(published) : published) as { properties: { spec: Schema } };
  const compiled = { object: compile(schema), spec: compile(schema.properties.spec) };
  validators.set(key, compiled);
  return compiled;
}

function assertValid(v: ValidateFunction, data: unknown, what: string): void {
  assert.ok(v(data), `${what}: ${JSON.stringify(v.errors, null, 2)}`);
}

const plan = defaultPlan();

function byKind(objects: readonly KubeObject[], kind: string): KubeObject {
  const o = objects.find((x) => x.kind === kind);
  assert.ok(o, `no ${kind}`);
  return o;
}

test("renders an IPAddressPool and an L2Advertisement naming it, in metallb-system", () => {
  const objects = metallbObjects(plan);
  assert.deepEqual(
    objects.map((o) => o.kind),
    ["IPAddressPool", "L2Advertisement"],
  );
  const pool = byKind(objects, "IPAddressPool");
  const l2 = byKind(objects, "L2Advertisement");
  for (const o of objects) {
    assert.equal(o.apiVersion, METALLB_API_VERSION);
    assert.equal(o.metadata.namespace, METALLB_NAMESPACE);
    assert.equal(o.metadata.name, "kubelab-lab");
    assert.deepEqual(o.metadata.labels, MANAGED_BY);
  }
  assert.deepEqual(pool.spec, { addresses: ["192.168.56.46-192.168.56.56"] });
  assert.deepEqual(l2.spec, { ipAddressPools: [pool.metadata.name] });
});

test("MetalLB disabled renders nothing", () => {
  const disabled: Plan = { ...plan, addons: { ...plan.addons, metallb: { enabled: false } } };
  assert.deepEqual(metallbObjects(disabled), []);
});

test("rendered objects do not alias the plan", () => {
  const pool = byKind(metallbObjects(plan), "IPAddressPool");
  (pool.spec as { addresses: string[] }).addresses.push("10.0.0.1/32");
  assert.equal(plan.addons.metallb.enabled && plan.addons.metallb.pools.length, 1);
});

for (const mode of ["as-published", "strict"] as const) {
  test(`objects validate against the real MetalLB v0.16.1 CRD schemas (${mode})`, () => {
    const multiPool: Plan = {
      ...plan,
      addons: {
        ...plan.addons,
        metallb: { enabled: true, version: "v0.16.1", pools: ["192.168.56.46-192.168.56.56", "192.168.56.60/30"] },
      },
    };
    for (const p of [plan, multiPool]) {
      for (const o of metallbObjects(p)) {
        const v = validator(o.kind, mode);
        assertValid(v.spec, o.spec, `${o.kind} spec`);
        assertValid(v.object, o, `${o.kind} object`);
      }
    }
  });
}

test("the CRD schemas bite: wrong types fail, even as published", () => {
  const pool = byKind(metallbObjects(plan), "IPAddressPool");
  const v = validator("IPAddressPool", "as-published");
  assert.equal(v.spec({ addresses: 5 }), false, "addresses: 5 must fail");
  assert.equal(v.object({ ...pool, spec: { addresses: 5 } }), false);
  assert.equal(v.spec({}), false, "addresses is required");
  assert.equal(v.spec({ addresses: ["192.168.56.46/32"], autoAssign: "yes" }), false);
  const l2 = validator("L2Advertisement", "as-published");
  assert.equal(l2.spec({ ipAddressPools: "kubelab-lab" }), false, "ipAddressPools must be a list");
});

test("unknown fields: the published schemas accept them (they are pruned), Strict field validation rejects them", () => {
  // A typo such as `adresses` next to the real field: the published structural schema has no
  // additionalProperties, so plain JSON-schema validation passes and the API server would
  // silently prune it (or reject with fieldValidation=Strict). The strict emulation catches it.
  const typo = { addresses: ["192.168.56.46/32"], adresses: ["192.168.56.47/32"] };
  assert.equal(validator("IPAddressPool", "as-published").spec(typo), true);
  assert.equal(validator("IPAddressPool", "strict").spec(typo), false);
  const l2typo = { ipAddressPool: ["kubelab-lab"] };
  assert.equal(validator("L2Advertisement", "as-published").spec(l2typo), true);
  assert.equal(validator("L2Advertisement", "strict").spec(l2typo), false);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { withAdmissionDefaults } from "./admission-defaults.js";

const policy = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicy",
  metadata: { name: "safe-upgrades.gateway.networking.k8s.io" },
  spec: {
    failurePolicy: "Fail",
    matchConstraints: {
      resourceRules: [
        { apiGroups: ["apiextensions.k8s.io"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["*"] },
      ],
    },
  },
};

test("withAdmissionDefaults fills what the API server defaults in a policy's atomic matchConstraints", () => {
  const out = withAdmissionDefaults(policy);
  assert.deepEqual((out.spec as { matchConstraints: unknown }).matchConstraints, {
    matchPolicy: "Equivalent",
    namespaceSelector: {},
    objectSelector: {},
    resourceRules: [
      {
        scope: "*",
        apiGroups: ["apiextensions.k8s.io"],
        apiVersions: ["v1"],
        operations: ["CREATE"],
        resources: ["*"],
      },
    ],
  });
  assert.equal(
    policy.spec.matchConstraints.resourceRules[0] && "scope" in policy.spec.matchConstraints.resourceRules[0],
    false,
    "input untouched",
  );
});

test("withAdmissionDefaults keeps values that are set, and leaves other objects alone", () => {
  const set = {
    ...policy,
    spec: { matchConstraints: { matchPolicy: "Exact", resourceRules: [{ scope: "Namespaced", resources: ["pods"] }] } },
  };
  const m = (withAdmissionDefaults(set).spec as { matchConstraints: Record<string, unknown> }).matchConstraints;
  assert.equal(m.matchPolicy, "Exact");
  assert.deepEqual(m.resourceRules, [{ scope: "Namespaced", resources: ["pods"] }]);
  const binding = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name: "b" },
    spec: { policyName: "p", matchResources: { resourceRules: [{ resources: ["crds"] }] } },
  };
  const b = (withAdmissionDefaults(binding).spec as { matchResources: Record<string, unknown> }).matchResources;
  assert.deepEqual(b.resourceRules, [{ scope: "*", resources: ["crds"] }]);
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: {} };
  assert.equal(withAdmissionDefaults(cm), cm);
  const noMatch = { ...policy, spec: { failurePolicy: "Fail" } };
  assert.equal(withAdmissionDefaults(noMatch), noMatch);
});

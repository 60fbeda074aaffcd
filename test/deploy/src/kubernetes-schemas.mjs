// Validates Kubernetes objects against the OpenAPI schemas bundled in the
// kubernetes-models package (offline: nothing is fetched). ESM, because that
// package is ESM-only; the jest spec runs it as a child process.
// stdin: JSON array of { source, object }; stdout: JSON array of { source, errors }.
import { readFileSync } from 'node:fs';

/** `apps/v1` → `kubernetes-models/apps/v1`; the core group `v1` → `kubernetes-models/v1`. */
const moduleOf = (apiVersion) => `kubernetes-models/${apiVersion}`;

const inputs = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const { source, object } of inputs) {
  const errors = [];
  try {
    const models = await import(moduleOf(object.apiVersion));
    const Model = models[object.kind];
    if (typeof Model !== 'function') throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
    new Model(object).validate();
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  results.push({ source, errors });
}
process.stdout.write(JSON.stringify(results));

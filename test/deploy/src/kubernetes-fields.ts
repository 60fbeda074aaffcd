import { join } from 'node:path';
import ts from 'typescript';
import type { LoadedObject } from './manifests';

/**
 * Fields the Kubernetes API does not know, which a schema check without
 * `additionalProperties: false` lets through (a `readinesProbe` typo would be
 * silently dropped by the API server). Each object becomes a typed object
 * literal against the interfaces kubernetes-models generates from the same
 * OpenAPI schemas, and TypeScript's excess-property check names every unknown
 * field, at any depth. Offline: only node_modules is read.
 */
export function unknownFieldErrors(objects: LoadedObject[]): { source: string; errors: string[] }[] {
  const file = join(__dirname, '__manifests__.ts');
  const lines: string[] = [];
  const lineOwners: number[] = [];
  objects.forEach(({ object }, index) => {
    const literal = JSON.stringify(object, null, 1).split('\n');
    const declaration = [`import type { I${object.kind} as T${index} } from 'kubernetes-models/${object.apiVersion}/${object.kind}';`, `export const o${index}: T${index} = ${literal[0]}`, ...literal.slice(1)];
    for (const line of declaration) {
      lines.push(line);
      lineOwners.push(index);
    }
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const source = ts.createSourceFile(file, lines.join('\n'), ts.ScriptTarget.ES2022, true);
  const readFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError) => (name === file ? source : readFile(name, language, onError));
  const program = ts.createProgram([file], options, host);
  const results = objects.map(({ source: where }) => ({ source: where, errors: [] as string[] }));
  for (const diagnostic of ts.getPreEmitDiagnostics(program, source)) {
    const line = diagnostic.start === undefined ? 0 : source.getLineAndCharacterOfPosition(diagnostic.start).line;
    results[lineOwners[line]].errors.push(ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '));
  }
  return results;
}

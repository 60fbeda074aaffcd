module.exports = {
  ...require('../../jest.preset.js'),
  rootDir: __dirname,
  displayName: 'deploy',
  testTimeout: 60000,
  // One spec starts a three-server NATS cluster; one file at a time keeps a 2-core machine honest.
  maxWorkers: 1,
};

module.exports = {
  ...require('../../jest.preset.js'),
  rootDir: __dirname,
  displayName: 'chaos',
  // One cluster (ten service processes, a private NATS and PostgreSQL) for the whole suite, which is bounded to 6 minutes.
  testTimeout: 120000,
  maxWorkers: 1,
};

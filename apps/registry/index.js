// Entry point of this workspace package: its build output lives under the root dist/ folder.
module.exports = require('../../dist/apps/registry/index.js');

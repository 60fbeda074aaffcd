// Entry point of this workspace package: its build output lives under the root dist/ folder.
module.exports = require('../../dist/libs/testing/index.js');

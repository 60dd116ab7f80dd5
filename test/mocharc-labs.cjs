// The lab suites (each builds its own multi-member lab with deploy/lab/lab.sh
// on its own LAB_ID, hollow or LXC runtime, no OVS/OVN). deploy/test-all.sh
// runs them in a second mocha process beside test/mocharc-main.cjs, so the
// whole suite takes about the longer of the two instead of their sum.
const base = require('./mocharc.cjs');
const LAB_SUITES = ['cluster-formation', 'lab', 'voter-replacement', 'failover'].map((f) => `dist/test/e2e/${f}.test.js`);
module.exports = { ...base, spec: LAB_SUITES, LAB_SUITES };

// Everything but the lab suites (test/mocharc-labs.cjs): unit, integration,
// and the end-to-end files on one daemon or the network lab (which uses
// OVS/OVN, so it stays in this process, after the OVN integration tests).
const base = require('./mocharc.cjs');
const { LAB_SUITES } = require('./mocharc-labs.cjs');
module.exports = { ...base, ignore: LAB_SUITES };

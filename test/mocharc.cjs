// Mocha configuration for the whole suite: unit, then integration, then e2e,
// from the compiled tree. Used by deploy/test-all.sh (and so by .ci/run).
module.exports = {
  spec: ['dist/test/unit/**/*.test.js', 'dist/test/integration/**/*.test.js', 'dist/test/e2e/**/*.test.js'],
  timeout: 180000,
  reporter: 'test/summary-reporter.cjs',
  exit: true,
};

#!/usr/bin/env bash
# Runs Cloudlet's whole test suite (unit, integration with real etcd/LXC/
# btrfs/namespaces, end-to-end with the real CLI and kubectl) after
# installing everything it needs. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
echo "cloudlet: lint (eslint) and format (prettier --check)"
npm run --silent lint
npm run --silent format:check
# With arguments (a spec, a grep): one mocha process, as asked.
if (($#)); then exec npx mocha --config test/mocharc.cjs "$@"; fi
# Otherwise two processes side by side: the lab suites (their own namespaces,
# bridges and LAB_IDs) and everything else; the lab log is printed after.
labs_log=$(mktemp /tmp/cloudlet-test-labs.XXXXXX)
npx mocha --config test/mocharc-labs.cjs >"$labs_log" 2>&1 &
labs_pid=$!
main_rc=0
npx mocha --config test/mocharc-main.cjs || main_rc=$?
labs_rc=0
wait "$labs_pid" || labs_rc=$?
echo
echo "cloudlet: lab suites (run beside the rest):"
cat "$labs_log"
rm -f "$labs_log"
echo "cloudlet: main suites exit $main_rc, lab suites exit $labs_rc"
((main_rc == 0 && labs_rc == 0))

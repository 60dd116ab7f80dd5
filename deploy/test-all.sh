#!/usr/bin/env bash
# Runs Cloudlet's whole test suite (unit, integration with real etcd/LXC/
# btrfs/namespaces, end-to-end with the real CLI and kubectl) after
# installing everything it needs. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
echo "cloudlet: lint (eslint)"
npm run --silent lint
exec npx mocha --config test/mocharc.cjs "$@"

#!/usr/bin/env bash
# Brings up a single-node Cloudlet on this machine with an example instance:
# installs dependencies, builds, starts the daemon in the background, applies
# examples/web.yaml and waits until the instance is Running.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${CLOUDLET_DATA_DIR:-/var/lib/cloudlet}
LISTEN=${CLOUDLET_LISTEN:-127.0.0.1:6443}
./deploy/install-deps.sh
mkdir -p "$DATA_DIR"
cloudlet() { node dist/cli/main.js --kubeconfig "$DATA_DIR/kubeconfig" "$@"; }

if [[ -f "$DATA_DIR/daemon.pid" ]] && kill -0 "$(cat "$DATA_DIR/daemon.pid")" 2>/dev/null; then
  echo "cloudlet: daemon already running (PID $(cat "$DATA_DIR/daemon.pid"))"
else
  nohup node dist/cli/main.js up --data-dir "$DATA_DIR" --listen "$LISTEN" >>"$DATA_DIR/daemon.log" 2>&1 &
  echo $! >"$DATA_DIR/daemon.pid"
  echo "cloudlet: daemon started (PID $!, log $DATA_DIR/daemon.log)"
fi
for _ in $(seq 1 120); do
  [[ -f "$DATA_DIR/kubeconfig" ]] && cloudlet get members >/dev/null 2>&1 && break
  kill -0 "$(cat "$DATA_DIR/daemon.pid")" 2>/dev/null || { echo "cloudlet: the daemon exited; see $DATA_DIR/daemon.log" >&2; tail -20 "$DATA_DIR/daemon.log" >&2; exit 1; }
  sleep 0.5
done
cloudlet get members
cloudlet apply -f examples/web.yaml
cloudlet wait --for=jsonpath='{.status.phase}'=Running instance/web --timeout 180s
cloudlet get instances -o wide
cat <<MSG

Cloudlet is up. Try:
  export KUBECONFIG=$DATA_DIR/kubeconfig
  node dist/cli/main.js exec web -- sh          # a shell inside the example instance
  node dist/cli/main.js get instances -w        # watch instances (kubectl works too)
Stop the daemon with: kill \$(cat $DATA_DIR/daemon.pid)   (instances keep their spec in etcd)
MSG

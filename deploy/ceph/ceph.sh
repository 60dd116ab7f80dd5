#!/usr/bin/env bash
# deploy/ceph/ceph.sh — a throwaway single-host Ceph for the lab, the tests
# and for trying the `ceph` storage driver. Everything lives under DIR:
#
#   DIR/ceph.conf                      cluster config (fsid, mon on 127.0.0.1, cephx on)
#   DIR/ceph.client.admin.keyring      client.admin (all caps)
#   DIR/ceph.client.cloudlet.keyring   client.cloudlet (profile rbd on the rbd pool)
#   DIR/mon/ DIR/mgr/ DIR/osd/         daemon data (3 OSDs: bluestore on sparse files osd/ceph-N.block)
#   DIR/run/*.pid DIR/run/*.asok       PID files and admin sockets
#   DIR/log/                           daemon logs
#
# Usage:  ceph.sh up DIR      make (first time) and start the cluster; idempotent
#         ceph.sh status DIR  daemons by PID and `ceph -s`
#         ceph.sh down DIR    stop every daemon by its PID file and remove DIR
#
# Environment: CEPH_OSD_SIZE (sparse size of each OSD file, default 4G),
# CEPH_RBD_POOL (default rbd), CEPH_OSDS (default 3).
# Needs: apt-get install ceph-mon ceph-mgr ceph-osd ceph-common (rbd-fuse for the driver).
set -euo pipefail
trap 'echo "ceph.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

OSD_SIZE=${CEPH_OSD_SIZE:-4G}
RBD_POOL=${CEPH_RBD_POOL:-rbd}
OSDS=${CEPH_OSDS:-3}
MON_ID=a
MGR_ID=x

die() { echo "ceph.sh: $*" >&2; exit 1; }
say() { echo "ceph.sh: $*" >&2; }

need_tools() {
  local missing=()
  for t in ceph ceph-mon ceph-mgr ceph-osd ceph-authtool monmaptool python3; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}; install with: apt-get install ceph-mon ceph-mgr ceph-osd ceph-common python3"
}

# free_ports prints two free loopback TCP ports (bound to port 0 by the kernel, then released).
free_ports() {
  python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
EOF
}

C() { ceph -c "$DIR/ceph.conf" -k "$DIR/ceph.client.admin.keyring" -n client.admin --connect-timeout 20 "$@"; }

# alive NAME tells whether the daemon whose PID file is run/NAME.pid is running.
alive() {
  local f="$DIR/run/$1.pid" pid
  [[ -s $f ]] || return 1
  pid=$(cat "$f")
  [[ -d /proc/$pid ]] && grep -q "ceph" "/proc/$pid/cmdline" 2>/dev/null
}

write_conf() {
  local fsid ports v2 v1
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  read -r v2 v1 < <(free_ports)
  cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $fsid
mon initial members = $MON_ID
mon host = [v2:127.0.0.1:$v2,v1:127.0.0.1:$v1]
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 3
osd pool default min size = 2
osd crush chooseleaf type = 0
osd objectstore = bluestore
mon allow pool delete = true
auth allow insecure global id reclaim = false
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
run dir = $DIR/run
ms bind ipv6 = false

[client]
admin socket =
log file =

[client.admin]
keyring = $DIR/ceph.client.admin.keyring

[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = $DIR/mon/\$cluster-\$id/keyring
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok

[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
keyring = $DIR/mgr/\$cluster-\$id/keyring
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
mgr initial modules =

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = $DIR/osd/\$cluster-\$id/keyring
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
bluestore block path = $DIR/osd/\$cluster-\$id.block
bluestore block create = true
bluestore block size = $(numfmt --from=iec "$OSD_SIZE")
bluestore cache autotune = false
bluestore cache size = 67108864
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 1
osd crush update on start = true
EOF
}

make_mon() {
  local d="$DIR/mon/ceph-$MON_ID" tmp="$DIR/tmp"
  mkdir -p "$d" "$tmp"
  ceph-authtool --create-keyring "$tmp/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/ceph.client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$tmp/mon.keyring" --import-keyring "$DIR/ceph.client.admin.keyring" >/dev/null
  local fsid host
  fsid=$(awk '$1=="fsid"{print $3}' "$DIR/ceph.conf")
  host=$(awk -F' = ' '$1=="mon host"{print $2}' "$DIR/ceph.conf")
  monmaptool --create --fsid "$fsid" --addv "$MON_ID" "$host" "$tmp/monmap" >/dev/null
  ceph-mon -c "$DIR/ceph.conf" --mkfs -i "$MON_ID" --monmap "$tmp/monmap" --keyring "$tmp/mon.keyring"
  cp "$tmp/mon.keyring" "$d/keyring"
  rm -rf "$tmp"
  touch "$d/done"
}

start() { # start NAME CMD...: runs a daemon (it forks) with its PID file under DIR/run
  local name=$1; shift
  alive "$name" && return 0
  "$@" -c "$DIR/ceph.conf" --pid-file "$DIR/run/$name.pid"
  for _ in $(seq 50); do alive "$name" && return 0; sleep 0.2; done
  die "$name did not start; see $DIR/log/"
}

make_mgr() {
  local d="$DIR/mgr/ceph-$MGR_ID"
  mkdir -p "$d"
  C auth get-or-create "mgr.$MGR_ID" mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$d/keyring"
  touch "$d/done"
}

make_osd() { # make_osd N: registers osd.N and formats its bluestore file
  local n=$1 d="$DIR/osd/ceph-$1" uuid id
  mkdir -p "$d"
  uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  id=$(C osd new "$uuid")
  [[ $id == "$n" ]] || die "expected osd id $n, the monitor gave $id"
  ceph-authtool --create-keyring "$d/keyring" --gen-key -n "osd.$n" >/dev/null
  C auth add "osd.$n" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' -i "$d/keyring" >/dev/null
  ceph-osd -c "$DIR/ceph.conf" -i "$n" --mkfs --osd-uuid "$uuid" >/dev/null 2>>"$DIR/log/osd-mkfs.log" ||
    die "ceph-osd --mkfs of osd.$n failed: $(grep -a ERROR "$DIR/log/osd-mkfs.log" | tail -1)"
  touch "$d/done"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "timed out after ${secs}s waiting for $what"
}

osds_up() { [[ $(C osd stat -f json | python3 -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])') -ge $OSDS ]]; }
pgs_clean() {
  C pg stat -f json | python3 -c '
import json,sys
s=json.load(sys.stdin); s=s.get("pg_summary",s); n=s.get("num_pgs",0); by=s.get("num_pg_by_state",[])
ok=sum(x["num"] for x in by if x["name"]=="active+clean")
sys.exit(0 if n>0 and ok==n else 1)'
}

up() {
  need_tools
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/mgr" "$DIR/osd"
  DIR=$(cd "$DIR" && pwd)
  [[ -f $DIR/ceph.conf ]] || write_conf
  [[ -f $DIR/mon/ceph-$MON_ID/done ]] || make_mon
  start "mon.$MON_ID" ceph-mon -i "$MON_ID"
  wait_for 60 "the monitor" C mon stat
  [[ -f $DIR/mgr/ceph-$MGR_ID/done ]] || make_mgr
  start "mgr.$MGR_ID" ceph-mgr -i "$MGR_ID"
  for ((n = 0; n < OSDS; n++)); do
    [[ -f $DIR/osd/ceph-$n/done ]] || make_osd "$n"
    start "osd.$n" ceph-osd -i "$n"
  done
  wait_for 180 "$OSDS OSDs up" osds_up
  if [[ ! -f $DIR/pool-$RBD_POOL.done ]]; then
    C osd pool create "$RBD_POOL" 8 8 replicated >/dev/null 2>&1 || true
    C osd pool set "$RBD_POOL" size 3 >/dev/null
    C osd pool set "$RBD_POOL" min_size 2 >/dev/null
    rbd -c "$DIR/ceph.conf" -k "$DIR/ceph.client.admin.keyring" pool init "$RBD_POOL"
    touch "$DIR/pool-$RBD_POOL.done"
  fi
  if [[ ! -f $DIR/ceph.client.cloudlet.keyring ]]; then
    C auth get-or-create client.cloudlet mon 'profile rbd' osd "profile rbd pool=$RBD_POOL" mgr "profile rbd pool=$RBD_POOL" \
      -o "$DIR/ceph.client.cloudlet.keyring.tmp"
    mv "$DIR/ceph.client.cloudlet.keyring.tmp" "$DIR/ceph.client.cloudlet.keyring"
  fi
  wait_for 180 "placement groups active+clean" pgs_clean
  cat <<EOF
conf=$DIR/ceph.conf
keyring=$DIR/ceph.client.cloudlet.keyring
user=cloudlet
pool=$RBD_POOL
admin_keyring=$DIR/ceph.client.admin.keyring
EOF
}

# stop_daemon NAME: SIGTERM by PID file, SIGKILL after 30 s.
stop_daemon() {
  local name=$1 f="$DIR/run/$1.pid" pid
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  if alive "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do [[ -d /proc/$pid ]] || break; sleep 0.2; done
    [[ -d /proc/$pid ]] && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  [[ -d $DIR ]] || return 0
  DIR=$(cd "$DIR" && pwd)
  [[ -f $DIR/ceph.conf || -d $DIR/run ]] || die "$DIR does not look like a ceph.sh directory; not removing it"
  local f
  for f in "$DIR"/run/osd.*.pid; do [[ -e $f ]] && stop_daemon "$(basename "$f" .pid)"; done
  for f in "$DIR"/run/mgr.*.pid "$DIR"/run/mon.*.pid; do [[ -e $f ]] && stop_daemon "$(basename "$f" .pid)"; done
  rm -rf "$DIR"
}

status() {
  [[ -f $DIR/ceph.conf ]] || die "no cluster in $DIR"
  DIR=$(cd "$DIR" && pwd)
  local f n
  for f in "$DIR"/run/*.pid; do
    [[ -e $f ]] || continue
    n=$(basename "$f" .pid)
    if alive "$n"; then echo "$n running (pid $(cat "$f"))"; else echo "$n stopped"; fi
  done
  C -s
}

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || die "usage: ceph.sh up|down|status DIR"
case $cmd in
  up) up ;;
  down) down ;;
  status) status ;;
  *) die "usage: ceph.sh up|down|status DIR" ;;
esac

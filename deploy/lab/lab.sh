#!/usr/bin/env bash
# Cloudlet lab: N "hosts" on one machine (DESIGN.md §6). Each member mI is a
# network namespace cl-mI with address 10.77.0.1I/24 on the bridge cl-lab0
# (host side 10.77.0.1), its own data dir ($LAB_DIR/mI), daemon, etcd member
# and LXC path. m1 runs `cloudlet init`; m2..mN join through real tokens.
# Processes are tracked by PID files (daemon.pid, etcd/etcd.pid), never by name.
#
#   lab.sh up N | join [--parallel] NAME... | kubeconfig | kill NAME | partition NAME | heal NAME |
#          restart NAME | exec NAME -- CMD... | ps | status | down
#
# Environment: LAB_DIR (default /tmp/cloudlet-lab), CLOUDLET (command that runs
# the CLI; default: node <repo>/dist/cli/main.js, built with tsc first when
# missing or older than a source file), LAB_RUNTIME (lxc|hollow), LAB_ID (0-9,
# default 0: two labs with different ids can run side by side; it picks the
# bridge cl-lab<ID>, namespaces cl<ID>-mI (cl-mI for 0) and subnet 10.77.<ID>.0/24).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/cloudlet-lab}
LAB_ID=${LAB_ID:-0}
[[ $LAB_ID =~ ^[0-9]$ ]] || { echo "lab: LAB_ID must be 0..9" >&2; exit 1; }
BRIDGE=cl-lab$LAB_ID
NET=10.77.$LAB_ID
HOST_CIDR=$NET.1/24
NS_PREFIX=$([[ $LAB_ID == 0 ]] && echo cl || echo "cl$LAB_ID")
PORT=6443
RUNTIME=${LAB_RUNTIME:-lxc}
read -r -a CLI <<<"${CLOUDLET:-node $ROOT/dist/cli/main.js}"

die() { echo "lab: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: apt-get install $2"; }
index_of() { [[ $1 =~ ^m([1-9])$ ]] || die "unknown member \"$1\" (use m1..m9)"; echo "${BASH_REMATCH[1]}"; }
ns_of() { echo "$NS_PREFIX-m$1"; }
veth_of() { [[ $LAB_ID == 0 ]] && echo "clv-m$1" || echo "clv$LAB_ID-m$1"; }
addr_of() { echo "$NET.1$1"; }
dir_of() { echo "$LAB_DIR/m$1"; }
members() { [[ -f $LAB_DIR/members ]] && cat "$LAB_DIR/members" || true; }
alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
pid_in() { [[ -f $1 ]] && tr -d '[:space:]' <"$1" || true; }
cli() { (cd "$ROOT" && "${CLI[@]}" "$@"); }
# in_ns runs a command in member i's network namespace, in a private mount
# namespace with a fresh /sys for that network namespace but the host's
# cgroup tree kept at /sys/fs/cgroup: `ip netns exec` alone remounts /sys and
# hides the cgroups, and then lxc-start fails to set up cgroup limits.
SCRATCH=/var/tmp/cloudlet-netns-scratch
in_ns() {
  local i=$1; shift
  mkdir -p "$SCRATCH"
  nsenter --net="/run/netns/$(ns_of "$i")" -- unshare -m --propagation private -- \
    sh -c 'mount --rbind /sys/fs/cgroup "$0" && mount -t sysfs sysfs /sys && mount --rbind "$0" /sys/fs/cgroup && exec "$@"' "$SCRATCH" "$@"
}

healthy() { curl -sk --max-time 2 "https://$(addr_of "$1"):$PORT/healthz" >/dev/null 2>&1; }

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < end)) || die "timed out after ${limit}s waiting for $what"
    sleep 0.5
  done
}

member_ready() { # member_ready I: Member mI is Ready in the API, asked through m1's kubeconfig or any live member
  local kc; kc=$(live_kubeconfig) || return 1
  cli --kubeconfig "$kc" get members "m$1" -o json 2>/dev/null | grep -q '"phase": "Ready"'
}

start_daemon() {
  local i=$1 dir; dir=$(dir_of "$i")
  if alive "$(pid_in "$dir/daemon.pid")"; then return 0; fi
  rm -f "$dir/daemon.pid"
  in_ns "$i" setsid "${CLI[@]}" daemon --data-dir "$dir" --listen "$(addr_of "$i"):$PORT" --runtime "$RUNTIME" \
    >>"$LAB_DIR/m$i.log" 2>&1 </dev/null &
  echo $! >"$LAB_DIR/m$i.launch.pid"
  wait_for 120 "m$i's API" healthy "$i"
}

make_host() {
  local i=$1 ns veth; ns=$(ns_of "$i"); veth=$(veth_of "$i")
  ip netns list | grep -qw "$ns" || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$BRIDGE" up
  fi
  # Frames into the member leave the host end with complete TCP/UDP checksums:
  # an ovn network puts the member's eth0 into OVS's userspace datapath, which
  # reads it through AF_PACKET and would forward partial (offloaded) checksums
  # to br-phy, where the kernel drops them (ping works, TCP to the member dies).
  if command -v ethtool >/dev/null 2>&1; then ethtool -K "$veth" tx off >/dev/null 2>&1 || true; fi
  in_ns "$i" ip link set lo up
  in_ns "$i" ip addr replace "$(addr_of "$i")/24" dev eth0
  in_ns "$i" ip link set eth0 up
  in_ns "$i" ip route replace default via "$NET.1" 2>/dev/null || true
  mkdir -p "$LAB_DIR"
  grep -qx "$i" "$LAB_DIR/members" 2>/dev/null || echo "$i" >>"$LAB_DIR/members"
}

# ensure_built compiles dist/ once (when missing or older than a source) so
# every member process starts from JavaScript instead of compiling on load.
ensure_built() {
  [[ -z ${CLOUDLET:-} ]] || return 0
  local main=$ROOT/dist/cli/main.js
  if [[ -f $main ]] && [[ -z $(find "$ROOT/cli" "$ROOT/daemon" "$ROOT/lib" "$ROOT/controllers" -name '*.ts' -newer "$main" -print -quit 2>/dev/null) ]]; then return 0; fi
  echo "lab: building dist/ (tsc)" >&2
  (cd "$ROOT" && npx tsc -p tsconfig.json >"$LAB_DIR/build.log" 2>&1) || true
  [[ -f $main ]] || die "the build made no $main: see $LAB_DIR/build.log"
  touch "$main"
}

cmd_up() {
  local n=${1:-3}
  [[ $n =~ ^[1-9]$ ]] || die "up N: N must be 1..9"
  need ip iproute2; need curl curl
  mkdir -p "$LAB_DIR"
  # Unprivileged containers' mapped roots must pass through the lab dir to each member's data dir (mkdtemp makes 0700).
  chmod 0711 "$LAB_DIR"
  ensure_built
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$HOST_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local i
  for ((i = 1; i <= n; i++)); do
    make_host "$i"
    local dir; dir=$(dir_of "$i")
    if [[ ! -f $dir/cluster.json ]]; then
      if ((i == 1)); then
        in_ns 1 "${CLI[@]}" init --data-dir "$dir" --listen "$(addr_of 1):$PORT" --member m1 >/dev/null
      else
        local token; token=$(cli --kubeconfig "$(live_kubeconfig)" token create --ttl 10m)
        in_ns "$i" "${CLI[@]}" join "$token" --data-dir "$dir" --listen "$(addr_of "$i"):$PORT" --member "m$i" >/dev/null
      fi
    fi
    start_daemon "$i"
    wait_for 120 "member m$i to be Ready" member_ready "$i"
    echo "m$i up at $(addr_of "$i")"
  done
}

# join_member I TOKEN: member I joins with TOKEN and starts its daemon, without
# waiting for any other member (the join itself waits while etcd cannot take
# it yet, and says so on stderr, prefixed with the member's name).
join_member() {
  local i=$1 token=$2 dir; dir=$(dir_of "$i")
  in_ns "$i" "${CLI[@]}" join "$token" --data-dir "$dir" --listen "$(addr_of "$i"):$PORT" --member "m$i" 2>&1 >/dev/null | sed -u "s/^/m$i: /" >&2
  [[ ${PIPESTATUS[0]} == 0 ]] || die "m$i: the join failed"
  [[ -f $dir/cluster.json ]] || die "m$i: the join made no cluster.json"
  start_daemon "$i"
}

launched_or_ended() { [[ -s $2 ]] || ! kill -0 "$1" 2>/dev/null; }

# cmd_join [--parallel] NAME...: members join a running lab right after one
# another (default: each join starts as soon as the previous daemon was
# launched, before it is Ready) or all at the same moment (--parallel); then
# waits until every one is Ready.
cmd_join() {
  local parallel=0
  if [[ ${1:-} == --parallel ]]; then parallel=1; shift; fi
  [[ $# -ge 1 ]] || die "join [--parallel] NAME..."
  ensure_built
  local kc; kc=$(live_kubeconfig) || die "no member's API answers: run lab.sh up first"
  local idx=() tokens=() name i
  for name in "$@"; do
    i=$(index_of "$name")
    [[ ! -f $(dir_of "$i")/cluster.json ]] || die "$name already has a data dir"
    make_host "$i"
    idx+=("$i")
    tokens+=("$(cli --kubeconfig "$kc" token create --ttl 10m)")
  done
  local pids=() k
  for k in "${!idx[@]}"; do
    if ((parallel)); then
      join_member "${idx[$k]}" "${tokens[$k]}" &
      pids+=($!)
    else
      # start_daemon returns once the member's API answers; a learner's API answers once etcd promoted it
      join_member "${idx[$k]}" "${tokens[$k]}" &
      pids+=($!)
      wait_for 180 "m${idx[$k]}'s join and daemon launch" launched_or_ended "$!" "$LAB_DIR/m${idx[$k]}.launch.pid"
    fi
  done
  local failed=0 p
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || die "a join failed (see above)"
  for i in "${idx[@]}"; do
    wait_for 120 "member m$i to be Ready" member_ready "$i"
    echo "m$i up at $(addr_of "$i")"
  done
}

live_kubeconfig() { # prints the admin kubeconfig (m1 made the cluster and holds the admin token) pointed at a member whose API answers
  local i
  [[ -f $(dir_of 1)/kubeconfig ]] || return 1
  for i in $(members); do
    if healthy "$i"; then
      sed "s#server: https://[^ ]*#server: https://$(addr_of "$i"):$PORT#" "$(dir_of 1)/kubeconfig" >"$LAB_DIR/kubeconfig"
      chmod 600 "$LAB_DIR/kubeconfig"
      echo "$LAB_DIR/kubeconfig"
      return 0
    fi
  done
  return 1
}

cmd_kubeconfig() { live_kubeconfig || die "no member's API answers"; }

# running_containers I: names of member I's running containers. LXC's command
# sockets are abstract sockets, which belong to a network namespace, so ask
# from inside the member's namespace (falling back to the host's).
running_containers() {
  local lxcpath; lxcpath="$(dir_of "$1")/lxc"
  [[ -d $lxcpath ]] || return 0
  if [[ -e /run/netns/$(ns_of "$1") ]]; then
    ip netns exec "$(ns_of "$1")" lxc-ls -P "$lxcpath" --running -1 2>/dev/null || true
  else
    lxc-ls -P "$lxcpath" --running -1 2>/dev/null || true
  fi
}

container_pids() { # container_pids I: init PIDs of the running containers of member I
  local lxcpath; lxcpath="$(dir_of "$1")/lxc"
  local c
  for c in $(running_containers "$1"); do
    if [[ -e /run/netns/$(ns_of "$1") ]]; then
      ip netns exec "$(ns_of "$1")" lxc-info -P "$lxcpath" -n "$c" -p -H 2>/dev/null || true
    else
      lxc-info -P "$lxcpath" -n "$c" -p -H 2>/dev/null || true
    fi
  done
}

cmd_kill() {
  local i; i=$(index_of "$1")
  local dir; dir=$(dir_of "$i")
  local pids=() p
  p=$(pid_in "$dir/daemon.pid"); alive "$p" && pids+=("$p")
  p=$(pid_in "$dir/etcd/etcd.pid"); alive "$p" && pids+=("$p")
  for p in $(container_pids "$i"); do pids+=("$p"); done
  ((${#pids[@]} == 0)) || kill -9 "${pids[@]}" 2>/dev/null || true
  echo "m$i killed (${#pids[@]} processes)"
}

cmd_partition() { local i; i=$(index_of "$1"); ip link set "$(veth_of "$i")" down; echo "m$i partitioned"; }
cmd_heal() { local i; i=$(index_of "$1"); ip link set "$(veth_of "$i")" up; echo "m$i healed"; }

cmd_restart() {
  local i; i=$(index_of "$1")
  local dir p; dir=$(dir_of "$i")
  p=$(pid_in "$dir/daemon.pid")
  if alive "$p"; then
    kill -TERM "$p"
    local end=$((SECONDS + 20))
    while alive "$p" && ((SECONDS < end)); do sleep 0.2; done
    alive "$p" && kill -9 "$p"
  fi
  start_daemon "$i"
  echo "m$i restarted"
}

cmd_exec() {
  local i; i=$(index_of "$1"); shift
  [[ ${1:-} == -- ]] && shift
  (($# > 0)) || die "exec NAME -- CMD..."
  in_ns "$i" "$@"
}

# cmd_ps: MEMBER NAMESPACE/INSTANCE per running instance container, read from
# the host (LXC), never the API. The instance comes from the agent's placement
# record beside the data dir (<dir>/placements/<container>.json), since long
# names are hashed; a container without one is named by its readable part.
cmd_ps() {
  local i c
  for i in $(members); do
    local dir; dir=$(dir_of "$i")
    for c in $(running_containers "$i"); do
      local rec="$dir/placements/$c.json" ns="" name="" text=""
      if [[ -f $rec ]]; then
        text=$(<"$rec")
        [[ $text =~ \"namespace\":\"([^\"]*)\" ]] && ns=${BASH_REMATCH[1]}
        [[ $text =~ \"name\":\"([^\"]*)\" ]] && name=${BASH_REMATCH[1]}
      fi
      if [[ -z $ns || -z $name ]]; then
        [[ $c =~ ^cl-[0-9a-f]{8}-([^_]+)_(.+)$ ]] || continue
        ns=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]}
      fi
      echo "m$i $ns/$name"
    done
  done
}

cmd_status() {
  local i
  printf '%-6s %-12s %-9s %-6s %s\n' MEMBER ADDRESS DAEMON LINK API
  for i in $(members); do
    local dir link api daemon
    dir=$(dir_of "$i")
    daemon=$(alive "$(pid_in "$dir/daemon.pid")" && echo running || echo dead)
    link=$(ip -o link show "$(veth_of "$i")" 2>/dev/null | grep -q 'state UP\|,UP' && echo up || echo down)
    api=$(healthy "$i" && echo ok || echo -)
    printf '%-6s %-12s %-9s %-6s %s\n' "m$i" "$(addr_of "$i")" "$daemon" "$link" "$api"
  done
  local kc
  if kc=$(live_kubeconfig); then cli --kubeconfig "$kc" get members -o wide || true; fi
}

cmd_down() {
  local i p
  for i in $(members); do
    local dir; dir=$(dir_of "$i")
    p=$(pid_in "$dir/daemon.pid"); alive "$p" && kill -TERM "$p" 2>/dev/null || true
  done
  sleep 1
  for i in $(members); do
    local dir; dir=$(dir_of "$i")
    for p in $(pid_in "$dir/daemon.pid") $(pid_in "$dir/etcd/etcd.pid") $(pid_in "$LAB_DIR/m$i.launch.pid") $(container_pids "$i"); do
      alive "$p" && kill -9 "$p" 2>/dev/null || true
    done
    local lxcpath="$dir/lxc" c
    if [[ -d $lxcpath ]]; then
      for c in $(lxc-ls -P "$lxcpath" -1 2>/dev/null || true); do
        lxc-stop -P "$lxcpath" -n "$c" -k >/dev/null 2>&1 || true
        lxc-destroy -P "$lxcpath" -n "$c" -f >/dev/null 2>&1 || true
      done
    fi
    ip link del "$(veth_of "$i")" 2>/dev/null || true
    ip netns del "$(ns_of "$i")" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$LAB_DIR"
  echo "lab down"
}

main() {
  [[ $(id -u) == 0 ]] || die "run as root (network namespaces and LXC)"
  cd "$ROOT"
  local cmd=${1:-}; shift || true
  case $cmd in
    up) cmd_up "$@" ;;
    join) cmd_join "$@" ;;
    kubeconfig) cmd_kubeconfig ;;
    kill | partition | heal | restart) [[ $# -ge 1 ]] || die "$cmd NAME"; "cmd_$cmd" "$1" ;;
    exec) [[ $# -ge 1 ]] || die "exec NAME -- CMD..."; cmd_exec "$@" ;;
    ps) cmd_ps ;;
    status) cmd_status ;;
    down) cmd_down ;;
    *) die "usage: lab.sh up N | join [--parallel] NAME... | kubeconfig | kill NAME | partition NAME | heal NAME | restart NAME | exec NAME -- CMD | ps | status | down" ;;
  esac
}

main "$@"

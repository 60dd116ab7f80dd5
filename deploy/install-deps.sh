#!/usr/bin/env bash
# Installs what Cloudlet needs on Debian 12 (run as root): host packages for
# etcd, LXC, storage and networking, then the npm packages, then builds.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(etcd-server etcd-client lxc lxc-templates lxcfs busybox-static btrfs-progs
          nftables iproute2 debootstrap uidmap util-linux openssl iputils-ping procps
          dnsmasq-base iperf3 curl openvswitch-switch openvswitch-common ovn-central ovn-host ethtool
          ceph-mon ceph-mgr ceph-osd ceph-common rbd-fuse e2fsprogs acl)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "cloudlet: these Debian packages are missing: ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "cloudlet: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Subordinate ids for unprivileged instances (user-namespace id maps).
deploy/subids.sh

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "cloudlet: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "cloudlet: installing npm packages"
  npm ci --no-fund --no-audit --loglevel=error
fi
echo "cloudlet: building"
npm run --silent build

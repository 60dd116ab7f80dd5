#!/usr/bin/env bash
# Reserves subordinate ids for root in /etc/subuid and /etc/subgid, as LXD
# does: unprivileged instances take their user-namespace id maps from this
# range (see docs/security.md). Idempotent: an existing entry for root that
# covers the range is left alone; nothing else in the files is touched.
# CLOUDLET_SUBID_START and CLOUDLET_SUBID_COUNT override the range.
set -euo pipefail
START=${CLOUDLET_SUBID_START:-1000000}
COUNT=${CLOUDLET_SUBID_COUNT:-1000000000}

for f in /etc/subuid /etc/subgid; do
  [[ -e $f ]] || { touch "$f"; chmod 0644 "$f"; }
  if awk -F: -v s="$START" -v c="$COUNT" '$1=="root" && $2<=s && $2+$3>=s+c {found=1} END {exit !found}' "$f"; then
    continue
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "cloudlet: $f has no root:$START:$COUNT entry; run deploy/subids.sh as root" >&2
    exit 1
  fi
  echo "cloudlet: reserving root:$START:$COUNT in $f"
  echo "root:$START:$COUNT" >> "$f"
done

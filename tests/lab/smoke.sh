#!/usr/bin/env bash
# Smoke test of the lab itself: up N, ssh as root and kbz (sudo), systemd state,
# stop/start, rekey (changed host key refused), down leaves nothing.
# Usage: tests/lab/smoke.sh [N]   (default 3; leaves the lab DOWN)
set -euo pipefail
export LC_ALL=C
N=${1:-3}
LAB="$(cd "$(dirname "$0")" && pwd)/lab.sh"
source "$(dirname "$0")/checks.sh"

bash "$LAB" up "$N"
eval "$(bash "$LAB" env)"
S=(ssh -F "$KBZ_LAB_SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=5)

for ip in $KBZ_LAB_HOSTS; do
  check "root@$ip" "${S[@]}" "root@$ip" true
  check "kbz@$ip sudo -n" "${S[@]}" "kbz@$ip" sudo -n true
  state=$("${S[@]}" "root@$ip" systemctl is-system-running 2>/dev/null || true)
  if [[ $state == running ]]; then ok "$ip systemd $state"; else
    bad "$ip systemd '$state': $("${S[@]}" "root@$ip" systemctl --failed --no-legend 2>&1 | tr '\n' ' ')"
  fi
done
name=$("${S[@]}" root@lab01 hostname)
if [[ $name == lab01 ]]; then ok "hostname lab01"; else bad "hostname is '$name'"; fi
check "lab01 reaches lab02 by name" "${S[@]}" root@lab01 ping -c1 -W2 lab02
check "no default route in hosts" bash -c "! ${S[*]} root@lab01 ip route show default | grep -q ."
check "inventory.tsv header" grep -qP '^hostname\tip_private\tip_public\tgroups$' "$KBZ_LAB_INVENTORY"

if ((N >= 2)); then
  bash "$LAB" stop lab02
  check "lab02 unreachable after stop" bash -c "! ${S[*]} root@lab02 true"
  bash "$LAB" start lab02
  check "lab02 back after start" "${S[@]}" root@lab02 true
fi

bash "$LAB" rekey lab01
if out=$("${S[@]}" root@lab01 true 2>&1); then bad "changed host key accepted"; else
  if grep -q 'REMOTE HOST IDENTIFICATION HAS CHANGED' <<<"$out"; then
    ok "changed host key refused"
  else
    bad "ssh failed for another reason: $out"
  fi
fi

bash "$LAB" down
bash "$LAB" down
check "no lab mounts" bash -c "! findmnt -rn -o SOURCE | grep -q '^kbzlab-'"
check "no lab netns" bash -c "! ip netns list | grep -q '^kbz-lab'"
check "no bridge" bash -c "! ip link show kbzlab0"
check "no lab veths" bash -c "! ip -o link | grep -q 'vkbz-lab'"
check "no lab cgroups" bash -c "! compgen -G '/sys/fs/cgroup/*kbz-lab' && ! compgen -G '/sys/fs/cgroup/*/kbz-lab'"
check "no lab nspawn left" bash -c "! pgrep -f -- '--director[y]=$KBZ_LAB_DIR/hosts/'"

summary

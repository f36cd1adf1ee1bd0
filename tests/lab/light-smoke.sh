#!/usr/bin/env bash
# Smoke test of the light hosts (light.sh): up N, ssh as root and kbz (sudo), each
# host in its own root, pid and network namespaces, a kbz-play run of the demo
# (without its service op: no systemd there) and its no-op rerun, down (twice)
# leaves nothing and leaves the full lab's bridge as it found it.
# Usage: tests/lab/light-smoke.sh [N]   (default 3; leaves the light hosts DOWN)
# KBZ_PLAY: the kbz-play binary (default target/debug/kbz-play, built if missing).
set -euo pipefail
export LC_ALL=C
N=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIGHT=$HERE/light.sh
KBZ=${KBZ_PLAY:-$ROOT/target/debug/kbz-play}
source "$HERE/checks.sh"
equals() { # DESCRIPTION WANT GOT
  if [[ $2 == "$3" ]]; then ok "$1"; else bad "$1: want '$2', got '$3'"; fi
}
((N >= 2)) || { echo "light-smoke.sh: N >= 2 (one host pings another)" >&2; exit 2; }
[[ -x $KBZ ]] || (cd "$ROOT" && cargo build --quiet --bin kbz-play)
# The full lab's bridge, 0 or 1 (no bridge is no error: the full lab may be down).
bridges() { ip -o link show kbzlab0 2>/dev/null | wc -l || true; }
bridge_before=$(bridges)

bash "$LIGHT" up "$N"
eval "$(bash "$LIGHT" env)"
S=(ssh -F "$KBZ_LAB_SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=5)

for ip in $KBZ_LAB_HOSTS; do
  check "root@$ip" "${S[@]}" "root@$ip" true
  check "kbz@$ip sudo -n" "${S[@]}" "kbz@$ip" sudo -n true
done
equals "hostname lt001" lt001 "$("${S[@]}" root@lt001 hostname)"
equals "lt001's / is its own overlay" kbzlt-lt001 "$("${S[@]}" root@lt001 findmnt -n -o SOURCE /)"
procs=$("${S[@]}" root@lt001 'ps -e --no-headers | wc -l')
if ((procs < 10)); then ok "lt001 sees only its own processes ($procs)"; else bad "lt001 sees $procs processes"; fi
check "lt001 reaches lt002 by name" "${S[@]}" root@lt001 ping -c1 -W2 lt002
check "no default route in hosts" bash -c "! ${S[*]} root@lt001 ip route show default | grep -q ."
check "inventory.tsv header" grep -qP '^hostname\tip_private\tip_public\tgroups$' "$KBZ_LAB_INVENTORY"
check "no systemd in a light host" bash -c "! ${S[*]} root@lt001 test -d /run/systemd/system"

# changed / failed summed over the hosts of a kbz-play --output json run.
recap() { # LOG
  python3 - "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if isinstance(ev, dict) and ev.get("event") == "run_end":
        r = [h[1] for h in ev["recap"]]
        print(f"hosts={len(r)} changed={sum(h['changed'] for h in r)} "
              f"failed={sum(h['failed'] for h in r)} unreachable={sum(bool(h['unreachable']) for h in r)}")
EOF
}
out=$(mktemp -d)
run_demo() { # LOG
  (cd "$ROOT" && "$KBZ" run playbooks/demo.rhai -i "$KBZ_LAB_INVENTORY" -F "$KBZ_LAB_SSH_CONFIG" \
    --cache-dir "$out/cache" -f "$N" --persist 0 --skip-tags service --output json) >"$1" 2>&1
}
if run_demo "$out/first.json"; then ok "kbz-play demo run"; else bad "kbz-play demo run: $(tail -3 "$out/first.json")"; fi
equals "first run: 28 changes a host" "hosts=$N changed=$((28 * N)) failed=0 unreachable=0" "$(recap "$out/first.json")"
if run_demo "$out/rerun.json"; then ok "kbz-play rerun"; else bad "kbz-play rerun: $(tail -3 "$out/rerun.json")"; fi
equals "rerun: no change" "hosts=$N changed=0 failed=0 unreachable=0" "$(recap "$out/rerun.json")"
check "the run wrote lt001's upper layer only" test -d "$KBZ_LIGHT_DIR/hosts/lt001/upper/opt/keybuzz" -a ! -e "$(cat "$KBZ_LIGHT_DIR/base")/opt/keybuzz"
rm -rf "$out"

bash "$LIGHT" down
bash "$LIGHT" down
check "no light mounts" bash -c "! findmnt -rn -o SOURCE | grep -q '^kbzlt-'"
check "no light netns" bash -c "! ip netns list | grep -q '^kbz-lt'"
check "no light veths" bash -c "! ip -o link | grep -q 'vkbz-lt'"
check "no light host processes" bash -c "! pgrep -f -- 'light[.]sh _init $KBZ_LIGHT_DIR/hosts/'"
check "no light state left" test ! -e "$KBZ_LIGHT_DIR/hosts" -a ! -e "$KBZ_LAB_INVENTORY"
equals "the bridge as before (full lab up: kept)" "$bridge_before" "$(bridges)"

summary

#!/usr/bin/env bash
# The demo: bring up the local lab (real Debian hosts in systemd-nspawn, on a
# private bridge) and apply playbooks/demo.rhai to it, twice: the first run
# installs the KeyBuzz base layout, the second shows a no-op rerun.
#
#   bash tests/lab/demo.sh        # 4 hosts; KBZ_LAB_HOSTS_N=8 for more
#
# Needs root (network namespaces, nspawn). The lab stays up afterwards so you
# can play with it; `bash tests/lab/lab.sh down` removes it.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${KBZ_LAB_HOSTS_N:-4}

echo "== building kbz-play (release)"
cargo build --release --quiet
echo "== lab: $n hosts"
bash tests/lab/lab.sh up "$n"
eval "$(bash tests/lab/lab.sh env)"

kbz=(./target/release/kbz-play playbooks/demo.rhai -i "$KBZ_LAB_INVENTORY" --ssh-config "$KBZ_LAB_SSH_CONFIG")
echo "== first run"
"${kbz[@]}"
echo "== rerun: nothing to change, one round trip per host"
"${kbz[@]}"
cat <<MSG

The lab is up. Try:
  ${kbz[*]} --check --diff
  ssh -F $KBZ_LAB_SSH_CONFIG root@${KBZ_LAB_HOSTS%% *}
  bash tests/lab/lab.sh down
MSG

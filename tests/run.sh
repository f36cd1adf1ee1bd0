#!/usr/bin/env bash
# The whole test suite: unit, data, CLI and render tests (with the real config
# validators), then the lab tests against real hosts (systemd-nspawn
# containers with sshd on a private bridge).
#
#   bash tests/run.sh            # everything (root: the lab needs it)
#   KBZ_LAB_HOSTS_N=4 bash tests/run.sh
#
# Installs what it needs on first use: Debian packages (no daemon is started:
# a policy-rc.d refuses it while installing) and a Python virtualenv with
# ansible-core, Patroni and libconf outside the repo. Leaves the lab down.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

debs=(debootstrap systemd-container iproute2 openssh-client openssh-server
      haproxy mariadb-server-core redis-server redis-sentinel yamllint shellcheck
      python3-venv)
missing=()
for d in "${debs[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$d" 2>/dev/null | grep -qx installed || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ "$had_policy" = 1 ] || printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
fi

venv=${KBZ_TEST_VENV:-/var/cache/kbz-test/venv}
if [ ! -x "$venv/bin/patroni" ] || [ ! -x "$venv/bin/ansible-inventory" ]; then
  echo "== python tools into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'ansible-core==2.19.*' 'patroni[psycopg2-binary,raft]==3.3.0' 'libconf==2.0.1'
fi
export PATH="$venv/bin:$PATH"
export KBZ_VALIDATORS_REQUIRED=1

echo "== building"
cargo build --workspace --all-targets

lab_up=0
cleanup() { if [ "$lab_up" = 1 ]; then bash tests/lab/lab.sh down >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then
  echo "== lab: ${KBZ_LAB_HOSTS_N:-18} hosts"
  bash tests/lab/lab.sh up "${KBZ_LAB_HOSTS_N:-18}"
  lab_up=1
  eval "$(bash tests/lab/lab.sh env)"
  export KBZ_LAB_REQUIRED=1
else
  echo "== not root: the lab tests will be skipped"
fi

echo "== tests"
cargo test --workspace --no-fail-fast

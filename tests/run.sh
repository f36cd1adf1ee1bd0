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
#
# Tests that need more than cargo are #[ignore = "needs ..."]: a plain
# `cargo test` lists them as ignored, with the reason, and never passes them
# without running them. This script runs them (`-- --include-ignored`), and
# there a missing prerequisite fails the test, naming how to set it up:
#   - the lab tests (tests/lab.rs, tests/lab_roles.rs, tests/cluster_*.rs):
#     the lab this script brings up, as root;
#   - the validators (tests/render/validators.rs): the programs installed here;
#   - the ssh transport (engine/tests/transport_ssh/): sshd, and for become
#     root and sudo.
# KBZ_VALIDATORS_REQUIRED=1 (always) and KBZ_LAB_REQUIRED=1 (as root) make a
# guard test in those files fail a run that leaves the ignored tests out or
# lacks a program or the lab: a run of this script cannot go green with them
# skipped. Not root: no lab; the lab tests show as ignored (and so does
# transport_ssh's become test), everything else runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

debs=(debootstrap systemd-container iproute2 openssh-client openssh-server
      haproxy mariadb-server-core redis-server redis-sentinel yamllint shellcheck
      jq python3-venv sudo prometheus zsh fish)
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
# The fuzz tests (tests/fuzz_*.rs): seconds of generated and mutated inputs per fuzz test.
export KBZ_FUZZ_SECONDS=${KBZ_FUZZ_SECONDS:-30}

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
  echo "== tests (with the ignored ones: the lab, the validators, the ssh transport)"
  cargo test --workspace --no-fail-fast -- --include-ignored
else
  echo "== not root: no lab. The lab tests (tests/lab.rs, tests/lab_roles.rs, tests/cluster_*.rs)"
  echo "   and transport_ssh's become_through_sudo will show as ignored: run this script as root for them."
  status=0
  echo "== tests (the ignored ones listed as such)"
  env -u KBZ_VALIDATORS_REQUIRED cargo test --workspace --no-fail-fast || status=1
  skip=()
  if [ ! -d /run/sshd ]; then
    echo "   /run/sshd is missing (root creates it): validators::sshd_accepts_the_hardening_dropin is left out"
    skip+=(--skip validators::sshd_accepts_the_hardening_dropin)
  fi
  echo "== the validators (with the render tests)"
  cargo test --no-fail-fast --test render -- --include-ignored "${skip[@]}" || status=1
  echo "== the ssh transport"
  cargo test --no-fail-fast -p kbz-engine --test transport_ssh -- --ignored --skip become_through_sudo || status=1
  exit "$status"
fi

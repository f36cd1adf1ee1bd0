#!/usr/bin/env bash
# The whole test suite: unit and data tests, then the lab tests against real
# hosts (systemd-nspawn containers with sshd on a private bridge).
#
#   bash tests/run.sh            # everything (needs root for the lab)
#   KBZ_LAB_HOSTS_N=4 bash tests/run.sh
#
# Installs what it needs (Debian packages) on first use. Leaves the lab down.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for cmd in debootstrap:debootstrap systemd-nspawn:systemd-container ip:iproute2 ssh:openssh-client sshd:openssh-server; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${cmd%%:*}" ] || need+=("${cmd#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== building"
cargo build --workspace --all-targets

lab_up=0
cleanup() { [ "$lab_up" = 1 ] && bash tests/lab/lab.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then
  echo "== lab: ${KBZ_LAB_HOSTS_N:-4} hosts"
  bash tests/lab/lab.sh up "${KBZ_LAB_HOSTS_N:-4}"
  lab_up=1
  eval "$(bash tests/lab/lab.sh env)"
  export KBZ_LAB_REQUIRED=1
else
  echo "== not root: the lab tests will be skipped"
fi

echo "== tests"
cargo test --workspace

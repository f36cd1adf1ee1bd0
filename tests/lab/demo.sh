#!/usr/bin/env bash
# The demo: the KeyBuzz site, installed by kbz-play on the local lab.
#
# Brings up 18 real Debian 12 hosts (systemd-nspawn, sshd, Docker, a private
# bridge; lab01..04 stay free for the tests), builds the lab's container images
# from Debian packages (cached after the first time), and applies
# playbooks/site.rhai to tests/lab/inventory/site.yml: base OS hardening and
# ufw, Redis + Sentinel, PostgreSQL under Patroni (Raft), HAProxy + PgBouncer,
# MariaDB Galera and RabbitMQ, each a real cluster. Then it runs the site again:
# nothing changes.
#
#   bash tests/lab/demo.sh        # about 15 min the first time, mostly image builds
#
# MinIO, ProxySQL and K3s are left out (--tags): Debian has no package for them,
# so the lab cannot build their images. The secrets are the test fixtures'
# (tests/fixtures/credentials, fake values). Needs root (network namespaces,
# nspawn). The lab stays up afterwards; `bash tests/lab/lab.sh down` removes it.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== building kbz-play (release)"
cargo build --release --quiet
echo "== lab: 18 hosts"
bash tests/lab/lab.sh up 18
eval "$(bash tests/lab/lab.sh env)"

echo "== lab images (tests/lab/images/*.image), into the hosts that run them"
image() { bash tests/lab/image.sh load "@$1" -- "${@:2}"; }
image redis lab05 lab06 lab07
image haproxy lab08 lab12
image patroni lab09 lab10 lab11
image mariadb lab13 lab14 lab15
image rabbitmq lab16 lab17 lab18

# kbz-play reads secrets only from 0600 files; git keeps no such mode.
creds=$KBZ_LAB_DIR/credentials
install -d -m 700 "$creds"
install -m 600 tests/fixtures/credentials/*.env "$creds"/

kbz=(./target/release/kbz-play playbooks/site.rhai -i tests/lab/inventory/site.yml
  --ssh-config "$KBZ_LAB_SSH_CONFIG" --credentials "$creds"
  --tags "base,redis,haproxy,postgres,pgbouncer,galera,rabbitmq")
echo "== first run: the whole stack"
"${kbz[@]}"
echo "== rerun: nothing to change"
"${kbz[@]}"
cat <<MSG

The KeyBuzz stack runs on the lab. Try:
  ${kbz[*]} --check --diff
  ssh -F $KBZ_LAB_SSH_CONFIG root@lab08 'docker ps; ufw status'
  bash tests/lab/lab.sh down
MSG

#!/bin/sh
# Managed by kbz-play (roles/haproxy.rhai). Seed section C: keep HAProxy's
# redis_master backend on the master Redis Sentinel elected.
#
# Run by redis-update-master.timer every 15 s and at boot. It asks every
# Sentinel for the master of kb-redis-master, takes the address that a quorum
# (2) of them agree on, and sets that server `ready` and every other
# one `maint` through HAProxy's runtime API. Without a quorum answer it changes
# nothing: the role:master health check alone then decides.
# No secret here: Sentinel's port needs no password.
set -eu

SOCK=/opt/keybuzz/haproxy/run/admin.sock
BACKEND=redis_master
QUORUM=2

answers=""
for s in 10.0.0.123 10.0.0.124 10.0.0.125; do
    a=$(timeout 3 redis-cli -h "$s" -p 26379 --raw SENTINEL get-master-addr-by-name kb-redis-master 2>/dev/null | head -n 1) || a=""
    if [ -n "$a" ]; then
        answers="$answers$a
"
    fi
done

master=$(printf '%s' "$answers" | sort | uniq -c | sort -rn | awk -v q="$QUORUM" 'NR == 1 && $1 >= q { print $2 }')
if [ -z "$master" ]; then
    logger -t redis-update-master "no Sentinel quorum on the master of kb-redis-master; HAProxy left as is"
    exit 0
fi

[ -S "$SOCK" ] || exit 0
while read -r name ip; do
    if [ "$ip" = "$master" ]; then state=ready; else state=maint; fi
    echo "set server $BACKEND/$name state $state" | socat stdio "unix-connect:$SOCK" >/dev/null
done <<SERVERS
redis-01 10.0.0.123
redis-02 10.0.0.124
redis-03 10.0.0.125
SERVERS

#!/bin/bash
# Lab stand-in for the official rabbitmq image's docker-entrypoint.sh (the lab
# image is Debian's rabbitmq-server, tests/cluster_rabbitmq.rs): started as root
# with a rabbitmq* command, it hands the data directory to the rabbitmq user
# (uid 999, as in the official image) and re-executes itself as that user;
# anything else runs as given. The image's HOME (/var/lib/rabbitmq) is where
# the server and the CLI tools find the Erlang cookie the role writes.
set -euo pipefail

if [[ ${1:-} == rabbitmq* ]] && [ "$(id -u)" = 0 ]; then
    if [ "$1" = rabbitmq-server ]; then
        find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq '{}' +
    fi
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "${BASH_SOURCE[0]}" "$@"
fi

exec "$@"

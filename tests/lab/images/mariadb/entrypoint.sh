#!/bin/bash
# Lab stand-in for the official mariadb image's docker-entrypoint.sh, as far as
# roles/mariadb_galera.rhai relies on it:
#   - arguments starting with '-' are options of mariadbd (e.g. --wsrep-new-cluster);
#   - started as root, it owns the datadir and socket dir to mysql (uid 999),
#     then runs again as mysql;
#   - an empty datadir (no mysql/ in it) is initialised: root@localhost and
#     root@'%' get MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD), and
#     MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD (or MYSQL_*) are
#     created, on a temporary server without networking and with wsrep off,
#     exactly as the official image does on every node (a Galera joiner's
#     local init is then replaced by its SST);
#   - then it execs the command (mariadbd and its options).
set -eo pipefail

note() { printf '%s [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
die() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; exit 1; }

# MARIADB_x wins over MYSQL_x; both end up set, as in the official image.
for v in ROOT_PASSWORD DATABASE USER PASSWORD; do
  m=MARIADB_$v y=MYSQL_$v
  val=${!m:-${!y:-}}
  export "$m=$val" "$y=$val"
done

if [ "${1:0:1}" = '-' ]; then
  set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
  exec "$@"
fi

# The server's own view of its paths (config files plus the arguments).
config() {
  "$@" --verbose --help 2>/dev/null | awk -v k="$CONF_KEY" '/^[^ \t]/ && $1 == k { print $2; exit }'
}
CONF_KEY=datadir DATADIR=$(config "$@")
CONF_KEY=socket SOCKET=$(config "$@")
[ -n "$DATADIR" ] && [ -n "$SOCKET" ] || die "mariadbd --verbose --help failed: check the configuration"

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATADIR" "${SOCKET%/*}"
  find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' +
  chown mysql:mysql "${SOCKET%/*}"
  note "switching to user mysql"
  exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# A string as an SQL literal's body: backslashes and quotes escaped.
sql_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\'/\\\'}"
}

if [ ! -d "$DATADIR/mysql" ]; then
  [ -n "$MARIADB_ROOT_PASSWORD" ] || die "the datadir is empty and MARIADB_ROOT_PASSWORD is not set"
  note "initialising $DATADIR"
  mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --skip-log-bin --expire-logs-days=0 "${@:2}" >/dev/null
  note "starting a temporary server"
  "$@" --skip-networking --socket="$SOCKET" --wsrep_on=OFF --expire-logs-days=0 &
  pid=$!
  for _ in $(seq 60); do
    if mariadb --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
      break
    fi
    kill -0 "$pid" 2>/dev/null || die "the temporary server exited"
    sleep 1
  done
  root_pw=$(sql_escape "$MARIADB_ROOT_PASSWORD")
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
    echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');"
    echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root_pw');"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$root_pw';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$MARIADB_DATABASE" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    fi
    if [ -n "$MARIADB_USER" ] && [ -n "$MARIADB_PASSWORD" ]; then
      echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(sql_escape "$MARIADB_PASSWORD")';"
      if [ -n "$MARIADB_DATABASE" ]; then
        echo "GRANT ALL ON \`${MARIADB_DATABASE//_/\\_}\`.* TO '$MARIADB_USER'@'%';"
      fi
    fi
  } | mariadb --protocol=socket --socket="$SOCKET" -uroot --binary-mode mysql
  kill "$pid"
  wait "$pid" || true
  note "initialised; starting the server"
fi

exec "$@"

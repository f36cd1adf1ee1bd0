#!/usr/bin/env bash
# Light lab hosts: hundreds of ssh-reachable Debian 12 hosts on this machine, for
# scale benchmarks (bench/run.sh 100 250).
#
# A light host is no container and boots nothing: one sshd, started directly, in a
# network namespace (kbz-lt001, wired by a veth to the full lab's bridge kbzlab0),
# a mount namespace whose root is an overlay of the lab's cached debootstrap base
# (read-only lower) and a small per-host upper, with its own /proc, /dev, /run, and
# its own pid and UTS namespaces. It has what an ssh-driven tool needs (sudo,
# coreutils, python3, the lab key for root and kbz, per-host host keys in
# known_hosts), but no systemd: no services, no `systemctl`.
#
# Hosts are lt001.. at 198.18.16.10.. (198.18.16.0/20: 200 a /24, which the full
# lab, 198.18.0.10-58, never uses), state in $KBZ_LIGHT_DIR (default
# /var/lib/kbz-light), so this and lab.sh run side by side: different names,
# addresses and files, the same bridge and base. lab.sh's helpers are shared by
# sourcing it. Usage: light.sh up N | down | status | env. See tests/lab/README.md.
set -euo pipefail

# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

LIGHT_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/light.sh
# The lab key is the full lab's (lab.sh set SSH_KEY from KBZ_LAB_DIR); every other
# file is this lab's own.
LAB_DIR=${KBZ_LIGHT_DIR:-/var/lib/kbz-light}
HOSTS_DIR=$LAB_DIR/hosts
SSH_CONFIG=$LAB_DIR/ssh_config
KNOWN_HOSTS=$LAB_DIR/known_hosts
INVENTORY_TSV=$LAB_DIR/inventory.tsv
INVENTORY_YML=$LAB_DIR/inventory.yml
LAB_SCRIPT=light.sh
LAB_TAG=light
MOUNT_PREFIX=kbzlt-
HOST_GLOB='lt*'
LAB_GROUP=light
HOST_PID_FILE=pid
HOST_PROCESS="the host's namespaces (unshare)"
LAB_DIR_VAR=KBZ_LIGHT_DIR
DISK_MIB=0 # no /dev/vdb
# A Linux bridge takes 1024 ports; the full lab may hold 49 of them.
MAX_HOSTS=970
LIGHT_NET=198.18 # hosts: 198.18.16.10 .. .209, 198.18.17.10 .., up to 198.18.31.x
PER_BLOCK=200
FIRST_BLOCK=16

host_name() { printf 'lt%03d' "$1"; }
host_ip() {
  local o=$(($1 - 1))
  echo "$LIGHT_NET.$((FIRST_BLOCK + o / PER_BLOCK)).$((FIRST_OCTET + o % PER_BLOCK))"
}
host_index() { # lt007 -> 7
  [[ $1 =~ ^lt([0-9]{3})$ ]] || die "bad host name '$1' (expected lt001, lt002, ...)"
  echo $((10#${BASH_REMATCH[1]}))
}

# ---------------------------------------------------------------------------------
# one host's processes

# "PID NAME" for every host's outermost process (unshare) under $HOSTS_DIR: the
# process whose death takes the host's pid namespace, sshd and sessions with it.
list_light() {
  local p comm arg
  local -a args
  for p in /proc/[0-9]*; do
    { read -r comm <"$p/comm"; } 2>/dev/null || continue
    [[ $comm == unshare ]] || continue
    { mapfile -d '' args <"$p/cmdline"; } 2>/dev/null || continue
    for arg in "${args[@]}"; do
      if [[ $arg == "$HOSTS_DIR/"* ]]; then echo "${p#/proc/} ${arg#"$HOSTS_DIR/"}"; fi
    done
  done
}

# Starts a host: in its network namespace, new mount, pid, UTS and IPC namespaces
# (unshare, which kills the host's pid 1 when it dies), this script's `_init`.
start_host() { # NAME
  local name=$1 d
  d=$(host_dir "$1")
  (
    detach_from_caller
    exec setsid ip netns exec "$(host_ns "$name")" \
      unshare --mount --uts --ipc --pid --fork --kill-child --propagation private \
      bash "$LIGHT_SRC" _init "$d" </dev/null >>"$d/sshd.log" 2>&1
  ) &
  echo "$!" >"$d/pid"
}

# The host's pid 1, inside its namespaces: mounts its own /proc, /sys, /dev and
# /run over the overlay root, makes that root its / (pivot_root, so the
# machine's mounts are not even visible), and becomes sshd.
host_init() { # HOST_DIR
  local d=$1 r=$1/root dev
  hostname "$(basename "$d")"
  mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
  mount -t tmpfs -o nosuid,mode=755,size=64k tmpfs "$r/dev"
  for dev in null zero full random urandom tty; do
    touch "$r/dev/$dev"
    mount --bind "/dev/$dev" "$r/dev/$dev"
  done
  mkdir "$r/dev/pts" "$r/dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
  mount -t tmpfs -o nosuid,nodev,mode=1777,size=16m tmpfs "$r/dev/shm"
  ln -s pts/ptmx "$r/dev/ptmx"
  ln -s /proc/self/fd "$r/dev/fd"
  ln -s /proc/self/fd/0 "$r/dev/stdin"
  ln -s /proc/self/fd/1 "$r/dev/stdout"
  ln -s /proc/self/fd/2 "$r/dev/stderr"
  mount -t tmpfs -o nosuid,nodev,mode=755,size=16m tmpfs "$r/run"
  mkdir -m 755 "$r/run/sshd" # sshd's privilege separation directory
  cd "$r"
  pivot_root . .
  umount -l .
  cd /
  exec /usr/sbin/sshd -D -e
}

# Kills the given hosts (SIGKILL to unshare; its pid 1 and everything in its pid
# namespace follow) and waits until they are gone.
stop_light() { # NAME...
  local -A want=()
  local n pid name pids=()
  for n in "$@"; do want[$n]=1; done
  while read -r pid name; do
    [[ -n ${want[$name]:-} ]] || continue
    pids+=("$pid")
    kill -KILL "$pid" 2>/dev/null || true
  done < <(list_light)
  local deadline=$((SECONDS + 30))
  for pid in "${pids[@]}"; do
    while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.1; done
  done
}

explain_host_failure() { # NAME
  local d
  d=$(host_dir "$1")
  {
    echo "---- $1 ($(cat "$d/ip" 2>/dev/null)): $(cat "$d/wait.err" 2>/dev/null || echo failed)"
    [[ ! -s $d/ssh.err ]] || { echo "-- last ssh error:"; tail -n 5 "$d/ssh.err"; }
    echo "-- sshd log tail ($d/sshd.log):"
    tail -n 20 "$d/sshd.log" 2>/dev/null || true
  } >&2
}

# ---------------------------------------------------------------------------------
# measures

mem_available_kib() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# Proportional set size of every light host's processes (unshare and all its
# descendants: sshd and any session), in KiB.
hosts_pss_kib() {
  local p
  for p in $(list_light | awk '{ print $1 }' | tree_pids); do
    awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true
  done | awk '{ t += $1 } END { print t + 0 }'
}

# The given pids (stdin) and all their descendants.
tree_pids() {
  local roots
  roots=$(tr '\n' ' ')
  ps -e -o pid=,ppid= | awk -v roots="$roots" '{ kids[$2] = kids[$2] " " $1 }
    END {
      n = split(roots, queue, " ")
      for (i = 1; i <= n; i++) {
        print queue[i]
        m = split(kids[queue[i]], k, " ")
        for (j = 1; j <= m; j++) queue[++n] = k[j]
      }
    }'
}

# ---------------------------------------------------------------------------------
# commands

light_down() {
  local quiet=${1:-} hosts=()
  mapfile -t hosts < <(list_light | awk '{ print $2 }')
  if ((${#hosts[@]})); then
    [[ -n $quiet ]] || log "stopping ${#hosts[@]} light host(s)"
    stop_light "${hosts[@]}"
  fi
  unmount_hosts_dir
  remove_host_links 'lt[0-9]{3}'
  remove_bridge_if_unused
  if [[ -d $HOSTS_DIR ]]; then safe_rmtree "$HOSTS_DIR"; fi
  rm -f "$INVENTORY_TSV" "$INVENTORY_YML" "$KNOWN_HOSTS" "$SSH_CONFIG" "$KNOWN_HOSTS.old" "$LAB_DIR/base"
  [[ -n $quiet ]] || log "light hosts are down"
}

light_up() {
  local count=${1:-} i n
  if ! [[ $count =~ ^[0-9]+$ ]] || ((count < 1 || count > MAX_HOSTS)); then
    die "usage: light.sh up N   (1 <= N <= $MAX_HOSTS)"
  fi
  require_root
  phase "machine prerequisites"
  ensure_deps
  modprobe overlay 2>/dev/null || true
  grep -qw overlay /proc/filesystems || die "the kernel has no overlayfs"
  phase_done
  lock_lab
  phase "tear down previous light hosts"
  light_down quiet
  phase_done
  phase "base image"
  ensure_base
  phase_done "$BASE"
  local mem0
  mem0=$(mem_available_kib)
  HOST_LIST=()
  for ((i = 1; i <= count; i++)); do HOST_LIST+=("$(host_name "$i")"); done

  phase "network ($count namespaces)"
  setup_bridge
  for ((i = 1; i <= count; i++)); do setup_host_net "$(host_name "$i")" "$(host_ip "$i")"; done
  phase_done

  phase "host roots + keys ($count overlays)"
  ensure_lab_key
  mkdir -p "$HOSTS_DIR"
  echo "$BASE" >"$LAB_DIR/base"
  write_etc_hosts "$HOSTS_DIR/etc-hosts" # every host's /etc/hosts
  run_parallel prep_host_root "${HOST_LIST[@]}"
  for n in "${HOST_LIST[@]}"; do cat "$HOSTS_DIR/$n/known_hosts"; done >"$KNOWN_HOSTS"
  chmod 600 "$KNOWN_HOSTS"
  write_ssh_config
  write_inventories
  phase_done

  boot_and_wait "${HOST_LIST[@]}"

  local mem1 pss
  mem1=$(mem_available_kib)
  pss=$(hosts_pss_kib)
  echo "light hosts are up: $count, ${HOST_LIST[0]} ($(host_ip 1)) .. ${HOST_LIST[-1]} ($(host_ip "$count"))"
  echo "inventory: $INVENTORY_TSV"
  echo "ssh:       ssh -F $SSH_CONFIG root@$(host_ip 1)"
  echo "env:       eval \"\$(bash $0 env)\""
  awk -v n="$count" -v d=$((mem0 - mem1)) -v p="$pss" 'BEGIN {
    printf "memory:    %.1f MiB per host (the machine'"'"'s MemAvailable fell by %.0f MiB), of which processes (PSS) %.2f MiB\n",
      d / n / 1024, d / 1024, p / n / 1024 }'
  print_timings
}

# FUNC NAME IP for every host, WIDTH at a time (each prep_host_root mounts,
# writes and makes two host keys: hundreds at once only thrash 2 cores); dies
# naming the hosts it failed for.
run_parallel() { # FUNC NAME...
  local func=$1 n pid running=0 bad=() width=${KBZ_LIGHT_JOBS:-16}
  shift
  local -A names=()
  for n in "$@"; do
    if ((running >= width)); then
      wait -n -p pid || bad+=("${names[$pid]}")
      running=$((running - 1))
    fi
    "$func" "$n" "$(host_ip "$(host_index "$n")")" &
    names[$!]=$n
    running=$((running + 1))
  done
  for ((; running > 0; running--)); do wait -n -p pid || bad+=("${names[$pid]}"); done
  ((${#bad[@]} == 0)) || die "$func failed for: ${bad[*]}"
}

light_status() {
  local -A running=()
  local pid n up=0 total=0
  while read -r pid n; do running[$n]=$pid; done < <(list_light)
  [[ -d $HOSTS_DIR ]] || { echo "no light hosts (no $HOSTS_DIR)"; return 0; }
  for n in "$HOSTS_DIR"/lt[0-9][0-9][0-9]; do
    [[ -d $n ]] || continue
    n=${n##*/}
    total=$((total + 1))
    if [[ -n ${running[$n]:-} ]]; then up=$((up + 1)); else echo "$n ($(cat "$HOSTS_DIR/$n/ip")): not running"; fi
  done
  echo "light hosts: $up of $total running (state $LAB_DIR), processes $(( $(hosts_pss_kib) / 1024 )) MiB PSS"
}

light_usage() {
  cat <<EOF
usage: light.sh COMMAND
  up N      bring up N light hosts (lt001..; 1..$MAX_HOSTS), replacing previous light hosts
  down      stop and remove every light host (safe to repeat; the full lab is left alone)
  status    how many run, and their memory
  env       print shell exports: eval "\$(light.sh env)" (KBZ_LAB_* names, KBZ_LIGHT_DIR)
state: \$KBZ_LIGHT_DIR (now $LAB_DIR); base: lab.sh's (\$KBZ_LAB_CACHE); key: lab.sh's
EOF
}

light_main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
  up) light_up "$@" ;;
  down)
    require_root
    lock_lab
    light_down
    ;;
  status) light_status ;;
  env) cmd_env ;;
  _init) host_init "$@" ;;
  -h | --help | help) light_usage ;;
  *)
    light_usage >&2
    exit 2
    ;;
  esac
}

light_main "$@"

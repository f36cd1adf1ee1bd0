#!/usr/bin/env bash
# kbz-play test lab: N real Debian 12 hosts on this machine.
#
# Each host is a systemd-nspawn container booting full systemd + sshd, with its own
# overlayfs root over a cached debootstrap base and its own network namespace wired
# by a veth to the bridge kbzlab0 (198.18.0.1/16). Hosts are lab01.. at 198.18.0.10..
# Traffic stays on the bridge: no forwarding, no NAT, no default route in the hosts.
#
# Usage: lab.sh up N | down | status | stop HOST [--hard] | start HOST | rekey HOST | env
# See tests/lab/README.md.
set -euo pipefail
export LC_ALL=C
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # this folder
LAB_DIR=${KBZ_LAB_DIR:-/var/lib/kbz-lab}
CACHE_DIR=${KBZ_LAB_CACHE:-/var/cache/kbz-lab}
BOOT_TIMEOUT=${KBZ_LAB_BOOT_TIMEOUT:-240}   # seconds to wait for every host's sshd
SUITE=bookworm
BRIDGE=kbzlab0
NET_BASE=198.18.0          # hosts: $NET_BASE.10, .11, ...
BRIDGE_IP=198.18.0.1
NET_LEN=16
NET_CIDR=198.18.0.0/16
FIRST_OCTET=10
MAX_HOSTS=49
NS_PREFIX=kbz-             # network namespace: kbz-lab01
VETH_PREFIX=vkbz-          # root-side veth:   vkbz-lab01 (<= 15 chars)
# What differs between this lab and light.sh's (which sources this file and
# sets its own): the script's name in messages, the overlay mounts' source name,
# the ssh_config host pattern, the inventory group, the file holding a host's
# main process id and what that process is, the state dir's variable in `env`.
LAB_SCRIPT=lab.sh
LAB_TAG=lab
MOUNT_PREFIX=kbzlab-
HOST_GLOB='lab*'
LAB_GROUP=lab
HOST_PID_FILE=nspawn.pid
HOST_PROCESS=systemd-nspawn
LAB_DIR_VAR=KBZ_LAB_DIR
HOSTS_DIR=$LAB_DIR/hosts
SSH_KEY=$LAB_DIR/id_ed25519
SSH_CONFIG=$LAB_DIR/ssh_config
KNOWN_HOSTS=$LAB_DIR/known_hosts
INVENTORY_TSV=$LAB_DIR/inventory.tsv
INVENTORY_YML=$LAB_DIR/inventory.yml

BASE_PACKAGES=(
  openssh-server systemd systemd-sysv dbus iproute2 python3 sudo
  ufw xfsprogs procps iputils-ping netcat-openbsd curl ca-certificates less
  apt-utils kmod iptables
  # What a fresh KeyBuzz server has: Docker, systemd-resolved. What the roles
  # install (chrony, pgbouncer, ...) their package ops fetch through the lab's
  # apt proxy.
  docker.io systemd-resolved e2fsprogs
)
# Lab hosts have no route out; their apt goes through tests/lab/apt_proxy.py on
# the bridge address, which fetches from the machine's Debian mirror only.
APT_PROXY_PORT=3142
APT_CACHE=${KBZ_LAB_APT_CACHE:-$CACHE_DIR/apt}

# Each host gets one empty block device, /dev/vdb (a sparse file on a loop device),
# for xfs_volume; its size in MiB.
DISK_MIB=${KBZ_LAB_DISK_MIB:-1024}
# Kernel parameters that are not per network namespace: roles set them from inside
# a host (base_os's sysctl file), which sets them for the whole machine. `up`
# records the machine's values once, `down` puts them back.
GLOBAL_SYSCTLS=(vm.swappiness vm.overcommit_memory vm.max_map_count fs.file-max)
# Extra Debian packages for the base (space or comma separated); changes the cache key.
if [[ -n ${KBZ_LAB_EXTRA_PACKAGES:-} ]]; then
  read -r -a _extra <<<"${KBZ_LAB_EXTRA_PACKAGES//,/ }"
  BASE_PACKAGES+=("${_extra[@]}")
fi

# ---------------------------------------------------------------------------------
# messages and timing

log() { printf '[%s %s] %s\n' "$LAB_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$LAB_SCRIPT" "$*" >&2; }
die() { printf '%s: error: %s\n' "$LAB_SCRIPT" "$*" >&2; exit 1; }

now_us() { local t=${EPOCHREALTIME}; echo "${t/./}"; }
fmt_secs() { local us=$1; printf '%d.%01ds' $((us / 1000000)) $(((us % 1000000) / 100000)); }

PHASES=()
PHASE_NAME=""
PHASE_T0=0
T_START=$(now_us)
phase() {
  PHASE_NAME=$1
  PHASE_T0=$(now_us)
  log "$PHASE_NAME ..."
}
phase_done() {
  local dt=$(($(now_us) - PHASE_T0))
  PHASES+=("$(printf '%-34s %s' "$PHASE_NAME" "$(fmt_secs "$dt")")")
  log "$PHASE_NAME done in $(fmt_secs "$dt")${1:+ ($1)}"
}
print_timings() {
  local p
  echo "timings:"
  for p in "${PHASES[@]}"; do echo "  $p"; done
  printf '  %-34s %s\n' total "$(fmt_secs $(($(now_us) - T_START)))"
}

# ---------------------------------------------------------------------------------
# naming

host_name() { printf 'lab%02d' "$1"; }
host_ip() { echo "$NET_BASE.$((FIRST_OCTET + $1 - 1))"; }
host_index() { # lab07 -> 7
  [[ $1 =~ ^lab([0-9]{2})$ ]] || die "bad host name '$1' (expected lab01, lab02, ...)"
  echo $((10#${BASH_REMATCH[1]}))
}
host_dir() { echo "$HOSTS_DIR/$1"; }
host_ns() { echo "$NS_PREFIX$1"; }
host_veth() { echo "$VETH_PREFIX$1"; }

# Hosts of the current lab, in order (from the state dir).
lab_hosts() {
  local d
  [[ -d $HOSTS_DIR ]] || return 0
  for d in "$HOSTS_DIR"/lab[0-9][0-9]; do
    if [[ -d $d ]]; then basename "$d"; fi
  done
}

require_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }

# Serialize commands that change the lab (up/down/start/stop/rekey).
lock_lab() {
  mkdir -p "$LAB_DIR"
  chmod 700 "$LAB_DIR"
  exec {LAB_LOCK_FD}>"$LAB_DIR/.lock"
  if ! flock -n "$LAB_LOCK_FD"; then
    log "waiting for another $LAB_SCRIPT (lock $LAB_DIR/.lock)"
    flock -w 600 "$LAB_LOCK_FD" || die "another $LAB_SCRIPT still holds $LAB_DIR/.lock after 600 s"
  fi
}

# ---------------------------------------------------------------------------------
# machine prerequisites

ensure_deps() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v systemd-nspawn >/dev/null || need+=(systemd-container)
  command -v ip >/dev/null || need+=(iproute2)
  { command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && command -v ssh-keyscan >/dev/null; } ||
    need+=(openssh-client)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || need+=(debian-archive-keyring)
  ((${#need[@]})) || return 0
  log "installing machine packages: ${need[*]}"
  local out
  out=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get update >"$out" 2>&1 || { cat "$out" >&2; die "apt-get update failed"; }
  fi
  if ! apt-get install -y --no-install-recommends "${need[@]}" >"$out" 2>&1; then
    apt-get update >"$out" 2>&1 || { cat "$out" >&2; die "apt-get update failed"; }
    apt-get install -y --no-install-recommends "${need[@]}" >"$out" 2>&1 ||
      { cat "$out" >&2; die "apt-get install ${need[*]} failed"; }
  fi
  rm -f "$out"
}

# In a subshell about to exec a long-lived daemon: leaves / and closes every
# inherited descriptor above stderr, so the daemon keeps neither our lock files
# nor a caller's pipes open for its lifetime.
detach_from_caller() {
  cd /
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-"; fi
  done
}

# The lab hosts' apt proxy (tests/lab/apt_proxy.py), on the bridge address only,
# fetching from the mirror the base came from.
start_apt_proxy() {
  stop_apt_proxy
  local d=$LAB_DIR/apt-proxy py=python3
  [[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
  mkdir -p "$d" "$APT_CACHE"
  (
    detach_from_caller
    exec setsid "$py" "$LAB_SRC/apt_proxy.py" --bind "$BRIDGE_IP" --port "$APT_PROXY_PORT" \
      --mirror "$(detect_mirror)" --cache "$APT_CACHE" </dev/null >>"$d/log" 2>&1
  ) &
  echo "$!" >"$d/pid"
  local i
  for ((i = 0; i < 100; i++)); do
    if timeout 1 bash -c ": <>/dev/tcp/$BRIDGE_IP/$APT_PROXY_PORT" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  tail -n 20 "$d/log" >&2
  die "the apt proxy does not answer on $BRIDGE_IP:$APT_PROXY_PORT (log: $d/log)"
}

stop_apt_proxy() {
  local pidfile=$LAB_DIR/apt-proxy/pid pid
  pid=$(cat "$pidfile" 2>/dev/null) || pid=""
  if [[ -n $pid ]] && grep -q apt_proxy.py "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
  # One left by an interrupted up (its pid file gone with the state dir).
  pkill -f "apt_proxy.py --bind $BRIDGE_IP --port $APT_PROXY_PORT" 2>/dev/null || true
}

raise_inotify_limits() {
  # Every booted systemd takes several inotify instances; only ever raise the limits.
  local key want cur
  for key in fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=1048576; do
    want=${key#*=}
    cur=$(sysctl -n "${key%%=*}")
    if ((cur < want)); then sysctl -qw "$key"; fi
  done
}

# The Debian mirror apt uses on this machine (bookworm, main archive).
detect_mirror() {
  if [[ -n ${KBZ_LAB_MIRROR:-} ]]; then
    echo "$KBZ_LAB_MIRROR"
    return
  fi
  local f uri=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    uri=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
      awk -v s="$SUITE" '$1 == "deb" && $3 == s && $2 ~ /^(https?|file):/ { print $2; exit }')
    [[ -n $uri ]] && break
  done
  if [[ -z $uri ]]; then
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -r $f ]] || continue
      uri=$(awk -v s="$SUITE" '
        BEGIN { RS = ""; FS = "\n" }
        {
          uris = ""; suites = ""; types = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            line = $i
            if (line ~ /^[ \t]*#/) continue
            key = tolower(line); sub(/:.*/, "", key)
            val = line; sub(/^[^:]*:[ \t]*/, "", val)
            if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "types") types = val
            else if (key == "enabled") enabled = tolower(val)
          }
          if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " s " ")) {
            split(uris, u, /[ \t]+/); print u[1]; exit
          }
        }' "$f")
      [[ -n $uri ]] && break
    done
  fi
  if [[ -z $uri ]]; then
    die "no Debian $SUITE mirror in this machine's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list or *.sources); add one, or set KBZ_LAB_MIRROR=URL"
  fi
  echo "$uri"
}

# ---------------------------------------------------------------------------------
# base image (debootstrap, cached outside the repo, keyed by what goes into it)

# Runs inside the freshly debootstrapped tree (chroot). Part of the cache key.
base_customize_script() {
  cat <<'EOF'
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# No host keys and no machine id in the base: every lab host gets its own at `up`.
rm -f /etc/ssh/ssh_host_*
rm -f /etc/machine-id /var/lib/dbus/machine-id
: > /etc/machine-id
ln -sf /etc/machine-id /var/lib/dbus/machine-id

# sshd: keys only, no DNS lookups, room for many parallel connections (benchmarks).
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/kbz-lab.conf <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxStartups 200:30:400
MaxSessions 100
CONF
# pam_loginuid cannot always write /proc/self/loginuid in a container.
sed -i -E 's/^(session\s+)required(\s+pam_loginuid\.so)/\1optional\2/' /etc/pam.d/sshd /etc/pam.d/login
systemctl enable ssh.service

# Units that fail, wait for nothing, or only cost time in a container.
systemctl mask \
  systemd-networkd-wait-online.service getty.target console-getty.service \
  getty@.service serial-getty@.service container-getty@.service \
  apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
  e2scrub_all.timer e2scrub_all.service e2scrub_reap.service fstrim.timer \
  dpkg-db-backup.timer systemd-journald-audit.socket \
  systemd-timesyncd.service systemd-firstboot.service >/dev/null 2>&1

# Journal on disk (readable from the machine when a host fails), kept small.
mkdir -p /etc/systemd/journald.conf.d /var/log/journal
cat > /etc/systemd/journald.conf.d/kbz-lab.conf <<'CONF'
[Journal]
Storage=persistent
SystemMaxUse=16M
RuntimeMaxUse=16M
CONF

# Users: root and kbz log in with the lab key only (password field '*': no
# password, but not a locked account).
usermod -p '*' root
useradd -m -s /bin/bash -G sudo kbz
usermod -p '*' kbz
install -d -m 700 -o root -g root /root/.ssh
install -d -m 700 -o kbz -g kbz /home/kbz/.ssh
printf 'kbz ALL=(ALL:ALL) NOPASSWD: ALL\n' > /etc/sudoers.d/kbz
chmod 0440 /etc/sudoers.d/kbz

echo 'LANG=C.UTF-8' > /etc/default/locale
# systemd-resolved made /etc/resolv.conf a link to its stub; the lab has no DNS.
rm -f /etc/resolv.conf
printf '# kbz lab: no DNS; lab names are in /etc/hosts\n' > /etc/resolv.conf
printf 'lab\n' > /etc/hostname

# apt goes through the lab's proxy on the bridge (lab.sh: APT_PROXY_PORT).
printf 'Acquire::http::Proxy "http://198.18.0.1:3142";\n' > /etc/apt/apt.conf.d/01kbz-lab-proxy

# Keep it lean, and keep it lean for later installs too.
cat > /etc/dpkg/dpkg.cfg.d/01-kbz-lab-nodoc <<'CONF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
CONF
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
  /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/lintian/* \
  /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log /var/log/bootstrap.log \
  /var/log/alternatives.log /tmp/* 2>/dev/null || true
EOF
}

base_key() {
  {
    echo "suite=$SUITE variant=minbase"
    echo "packages=${BASE_PACKAGES[*]}"
    base_customize_script
  } | sha256sum | cut -c1-16
}

# Unmount everything at or below $1 (deepest first), then delete it without ever
# crossing into another filesystem.
safe_rmtree() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  dir=$(realpath "$dir")
  while read -r m; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m"
  done < <(findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' | sort -r)
  rm -rf --one-file-system -- "$dir"
}

# A Debian minbase tree in DIR holding PKG..., from the machine's mirror; on
# failure DIR goes and the log's tail is shown. Used for the base and, by
# image.sh, for container images.
debootstrap_tree() { # DIR LOG PKG...
  local dir=$1 blog=$2 mirror
  shift 2
  mirror=$(detect_mirror)
  log "debootstrap $SUITE from $mirror into $dir"
  if ! debootstrap --variant=minbase --include="$(
    IFS=,
    echo "$*"
  )" "$SUITE" "$dir" "$mirror" >"$blog" 2>&1; then
    tail -n 30 "$blog" >&2
    safe_rmtree "$dir"
    die "debootstrap failed (full log: $blog)"
  fi
}

# Runs CMD... chrooted in DIR, appending its output to LOG; on failure shows the
# log's tail, removes DIR and dies with MESSAGE. Every build step after
# debootstrap_tree (the base's and the images') fails the same way.
chroot_or_die() { # DIR LOG MESSAGE CMD...
  local dir=$1 blog=$2 message=$3
  shift 3
  if ! chroot "$dir" "$@" >>"$blog" 2>&1; then
    tail -n 30 "$blog" >&2
    safe_rmtree "$dir"
    die "$message"
  fi
}

BASE=""
ensure_base() {
  mkdir -p "$CACHE_DIR"
  local key
  key=$(base_key)
  BASE=$CACHE_DIR/base-$key
  exec {cache_fd}>"$CACHE_DIR/.lock"
  flock -w 1800 "$cache_fd" || die "timed out waiting for $CACHE_DIR/.lock"
  if [[ -f $BASE/.kbz-lab-base ]]; then
    flock -u "$cache_fd"
    return 0
  fi
  # Leftovers of interrupted builds are never reused.
  local d
  for d in "$CACHE_DIR"/.tmp-base-*; do
    [[ -e $d ]] || continue
    log "removing interrupted base build $d"
    safe_rmtree "$d"
  done
  [[ ! -e $BASE ]] || safe_rmtree "$BASE" # exists without its marker: incomplete
  local tmp blog
  tmp=$(mktemp -d "$CACHE_DIR/.tmp-base-$key.XXXXXX")
  blog=$CACHE_DIR/build-$key.log
  log "building base image (log: $blog)"
  debootstrap_tree "$tmp" "$blog" "${BASE_PACKAGES[@]}"
  base_customize_script >"$tmp/tmp/kbz-lab-customize.sh"
  chroot_or_die "$tmp" "$blog" "customizing the base failed (full log: $blog)" \
    /bin/bash /tmp/kbz-lab-customize.sh
  rm -f "$tmp/tmp/kbz-lab-customize.sh"
  {
    echo "built=$(date -u +%FT%TZ) mirror=$(detect_mirror)"
    echo "packages=${BASE_PACKAGES[*]}"
  } >"$tmp/.kbz-lab-base"
  chmod 755 "$tmp"
  mv -T "$tmp" "$BASE"
  log "base ready: $BASE ($(du -sh --one-file-system "$BASE" | cut -f1))"
  # Drop bases built from older package lists unless some overlay still uses them.
  for d in "$CACHE_DIR"/base-*; do
    [[ -d $d && $d != "$BASE" ]] || continue
    if grep -qF "lowerdir=$d" /proc/self/mountinfo; then continue; fi
    log "removing old base $d"
    safe_rmtree "$d"
    rm -f "$CACHE_DIR/build-${d##*/base-}.log"
  done
  flock -u "$cache_fd"
}

# ---------------------------------------------------------------------------------
# processes

# "PID NAME" for every systemd-nspawn running a host root under $HOSTS_DIR.
list_nspawn() {
  local p comm arg
  local -a args
  for p in /proc/[0-9]*; do
    { read -r comm <"$p/comm"; } 2>/dev/null || continue
    [[ $comm == systemd-nspawn ]] || continue
    { mapfile -d '' args <"$p/cmdline"; } 2>/dev/null || continue
    for arg in "${args[@]}"; do
      if [[ $arg == "--directory=$HOSTS_DIR/"*/root ]]; then
        arg=${arg#"--directory=$HOSTS_DIR/"}
        echo "${p#/proc/} ${arg%/root}"
      fi
    done
  done
}

nspawn_pid() { # NAME -> pid or nothing
  list_nspawn | awk -v n="$1" '$2 == n { print $1; exit }'
}

# The container's PID 1 (nspawn's child).
container_init_pid() {
  local pid
  pid=$(nspawn_pid "$1")
  [[ -n $pid ]] || return 1
  pgrep -P "$pid" | head -n 1
}

# Stop hosts' nspawn: orderly shutdown (SIGTERM -> container poweroff) with a
# deadline, then SIGKILL the container's init and nspawn. --hard: SIGKILL at once.
stop_nspawn() {
  local hard=0
  if [[ ${1:-} == --hard ]]; then
    hard=1
    shift
  fi
  local -A want=()
  local n pid name
  for n in "$@"; do want[$n]=1; done
  local -a pids=()
  while read -r pid name; do
    [[ -n ${want[$name]:-} ]] || continue
    pids+=("$pid")
    if ((hard)); then
      pgrep -P "$pid" | xargs -r kill -KILL 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    else
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done < <(list_nspawn)
  ((${#pids[@]})) || return 0
  local deadline=$((SECONDS + 30)) alive
  while :; do
    alive=()
    for pid in "${pids[@]}"; do
      [[ -e /proc/$pid ]] && alive+=("$pid")
    done
    ((${#alive[@]})) || break
    if ((SECONDS >= deadline)); then
      warn "force-killing ${#alive[@]} nspawn process(es) that did not stop in 30 s"
      for pid in "${alive[@]}"; do
        pgrep -P "$pid" | xargs -r kill -KILL 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
      done
      sleep 1
      break
    fi
    sleep 0.2
  done
}

# Every host needs a cgroup subtree of its own. With --keep-unit nspawn puts the
# container below the cgroup it was started in (here the root: /payload for all of
# them), and containers sharing one subtree step on each other's units: one host's
# systemd removes or kills the cgroup of another's sshd, and boots end "degraded".
cgroup_roots() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then # pure cgroup v2
    echo /sys/fs/cgroup
    return
  fi
  local h
  for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do # v1 / hybrid
    if [[ -f $h/cgroup.procs ]]; then echo "$h"; fi
  done
}

host_cgroup_enter() { # NAME: moves the calling (sub)shell into kbz-lab/NAME
  local root
  while read -r root; do
    mkdir -p "$root/kbz-lab/$1"
    echo "$BASHPID" >"$root/kbz-lab/$1/cgroup.procs"
  done < <(cgroup_roots)
}

# Only the hosts' own cgroups: the shared kbz-lab parent stays, since hosts boot
# in parallel and removing it races with another host's mkdir (seen: "cannot
# create directory .../kbz-lab/lab02"). `down` removes it (host_cgroup_remove_all).
host_cgroup_remove() { # NAME... (only empty cgroups go; rmdir refuses the others)
  local root n
  while read -r root; do
    for n in "$@"; do
      if [[ -d $root/kbz-lab/$n ]]; then
        find "$root/kbz-lab/$n" -depth -type d -exec rmdir {} + 2>/dev/null || true
      fi
    done
  done < <(cgroup_roots)
}

host_cgroup_remove_all() {
  local root
  while read -r root; do
    if [[ -d $root/kbz-lab ]]; then
      find "$root/kbz-lab" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
  done < <(cgroup_roots)
}

start_nspawn() { # NAME
  local name=$1 d=$HOSTS_DIR/$1
  printf '\n==== lab.sh: boot %s at %(%FT%T%z)T ====\n' "$name" -1 >>"$d/console.log"
  (
    detach_from_caller
    host_cgroup_remove "$name" # leftovers of an earlier boot
    host_cgroup_enter "$name"
    export SYSTEMD_NSPAWN_API_VFS_WRITABLE=yes
    # Docker inside the host needs the unified cgroup hierarchy and these
    # syscalls (LAB-NOTES).
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
    local disk=()
    # The disk is /dev/vdb, and also keeps its kernel name: there is no udev in
    # the host, so `mount UUID=...` finds a filesystem by scanning
    # /proc/partitions, which names the loop device.
    if [[ -s $d/loop ]]; then
      local loop
      loop=$(cat "$d/loop")
      disk=(--bind="$loop":/dev/vdb --bind="$loop")
    fi
    exec setsid systemd-nspawn \
      --system-call-filter='add_key keyctl request_key bpf perf_event_open' \
      "${disk[@]}" \
      --boot \
      --directory="$d/root" \
      --machine="$name" \
      --hostname="$name" \
      --register=no --keep-unit \
      --network-namespace-path="/run/netns/$NS_PREFIX$name" \
      --capability=all \
      --resolv-conf=off --timezone=off --link-journal=no \
      --console=read-only \
      </dev/null >>"$d/console.log" 2>&1
  ) &
  echo "$!" >"$d/nspawn.pid"
}

# How boot_and_wait starts one host; light.sh has its own.
start_host() { start_nspawn "$@"; }

# ---------------------------------------------------------------------------------
# network

setup_bridge() {
  local other
  other=$(ip -4 -o addr show to "$NET_CIDR" | awk -v b="$BRIDGE" '$2 != b { print $2 " " $4 }')
  [[ -z $other ]] || die "another interface already has an address in $NET_CIDR: $other"
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge forward_delay 0 stp_state 0
  fi
  ip link set "$BRIDGE" addrgenmode none # IPv4 only: no link-local chatter
  ip addr replace "$BRIDGE_IP/$NET_LEN" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

setup_host_net() { # NAME IP
  local name=$1 ip=$2 ns veth
  ns=$(host_ns "$name")
  veth=$(host_veth "$name")
  # Three processes, not eight: light.sh wires hundreds of hosts.
  ip netns add "$ns"
  printf '%s\n' "link add $veth type veth peer name eth0 netns $ns" \
    "link set $veth addrgenmode none" "link set $veth master $BRIDGE up" | ip -batch -
  # The /16 gives the only route: 198.18.0.0/16 via eth0. No default route.
  printf '%s\n' "link set lo up" "link set eth0 addrgenmode none" \
    "addr add $ip/$NET_LEN dev eth0" "link set eth0 up" | ip -n "$ns" -batch -
}

# The bridge goes with the last host on it: the light hosts (light.sh) share it
# with this lab, and either may go down while the other is up.
remove_bridge_if_unused() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || return 0
  if [[ -z $(ip -o link show master "$BRIDGE" 2>/dev/null) ]]; then ip link del "$BRIDGE"; fi
}

host_link() { # NAME up|down
  local name=$1 state=$2 ns
  ns=$(host_ns "$name")
  [[ -e /run/netns/$ns ]] || die "network namespace $ns is missing (run lab.sh up again)"
  ip -n "$ns" link set eth0 "$state"
  if [[ $state == down ]]; then
    ip neigh flush to "$(host_ip "$(host_index "$name")")" dev "$BRIDGE" 2>/dev/null || true
  fi
}

# ---------------------------------------------------------------------------------
# per-host root

# ed25519 and ecdsa only: an RSA key costs about 1 s of CPU per host, and every
# client in use (OpenSSH, paramiko) takes ed25519.
gen_host_keys() { # ROOT NAME
  local root=$1 name=$2 t
  rm -f "$root"/etc/ssh/ssh_host_*
  for t in ed25519 ecdsa; do
    ssh-keygen -q -t "$t" -N '' -C "root@$name" -f "$root/etc/ssh/ssh_host_${t}_key"
  done
}

write_etc_hosts() { # FILE  (uses HOST_LIST)
  local f=$1 n
  {
    printf '127.0.0.1\tlocalhost\n'
    printf '::1\tlocalhost ip6-localhost ip6-loopback\n'
    printf '%s\tkbz-controller\n' "$BRIDGE_IP"
    for n in "${HOST_LIST[@]}"; do
      printf '%s\t%s\n' "$(host_ip "$(host_index "$n")")" "$n"
    done
  } >"$f"
}

prep_host_root() { # NAME IP
  local name=$1 ip=$2 d r
  d=$(host_dir "$name")
  r=$d/root
  mkdir -p "$d/upper" "$d/work" "$r"
  mount -t overlay "$MOUNT_PREFIX$name" -o "lowerdir=$BASE,upperdir=$d/upper,workdir=$d/work" "$r"
  echo "$name" >"$r/etc/hostname"
  cp "$HOSTS_DIR/etc-hosts" "$r/etc/hosts"
  tr -d '-' </proc/sys/kernel/random/uuid >"$r/etc/machine-id"
  gen_host_keys "$r" "$name"
  install -m 600 -o root -g root "$SSH_KEY.pub" "$r/root/.ssh/authorized_keys"
  local uid gid
  uid=$(awk -F: '$1 == "kbz" { print $3 }' "$r/etc/passwd")
  gid=$(awk -F: '$1 == "kbz" { print $4 }' "$r/etc/passwd")
  install -m 600 -o "$uid" -g "$gid" "$SSH_KEY.pub" "$r/home/kbz/.ssh/authorized_keys"
  # known_hosts lines for this host, from the keys just made (no trust on first use).
  local k
  for k in "$r"/etc/ssh/ssh_host_*_key.pub; do
    awk -v h="$ip,$name" '{ print h " " $1 " " $2 }' "$k"
  done >"$d/known_hosts"
  echo "$ip" >"$d/ip"
  if ((DISK_MIB > 0)); then attach_disk "$name"; fi
}

# /dev/vdb of a host: a sparse file on a loop device, bound into the container.
attach_disk() { # NAME
  local d img dev
  d=$(host_dir "$1")
  img=$d/vdb.img
  truncate -s "${DISK_MIB}M" "$img"
  dev=$(losetup -f --show "$img") || die "no free loop device for $1's /dev/vdb"
  echo "$dev" >"$d/loop"
}

# Detaches the loop devices of every host disk under the state dir.
detach_disks() {
  local dev file
  while read -r dev file; do
    [[ $file == "$(realpath -m "$HOSTS_DIR")"/*/vdb.img* ]] || continue
    losetup -d "$dev" 2>/dev/null || warn "could not detach $dev ($file)"
  done < <(losetup -n -l -O NAME,BACK-FILE 2>/dev/null)
}

# Records the machine's global kernel parameters (once per lab) ...
save_global_sysctls() {
  local f=$LAB_DIR/machine-sysctl k
  [[ -f $f ]] && return 0
  for k in "${GLOBAL_SYSCTLS[@]}"; do echo "$k=$(sysctl -n "$k")"; done >"$f.tmp"
  mv "$f.tmp" "$f"
}

# ... and puts them back when the lab goes down.
restore_global_sysctls() {
  local f=$LAB_DIR/machine-sysctl kv
  [[ -f $f ]] || return 0
  while read -r kv; do sysctl -qw "$kv" || warn "could not restore $kv"; done <"$f"
  rm -f "$f"
}

# ---------------------------------------------------------------------------------
# ssh and inventories

# The key lives in the full lab's folder, which light.sh may be first to need.
ensure_lab_key() {
  [[ -f $SSH_KEY && -f $SSH_KEY.pub ]] && return 0
  rm -f "$SSH_KEY" "$SSH_KEY.pub"
  mkdir -p "$(dirname "$SSH_KEY")"
  ssh-keygen -q -t ed25519 -N '' -C "kbz-lab" -f "$SSH_KEY"
}

write_ssh_config() {
  local n
  {
    echo "# Generated by tests/lab/$LAB_SCRIPT up; overwritten at every up."
    for n in "${HOST_LIST[@]}"; do
      printf 'Host %s\n    HostName %s\n' "$n" "$(host_ip "$(host_index "$n")")"
    done
    cat <<EOF
Host $HOST_GLOB 198.18.*
    IdentityFile $SSH_KEY
    IdentitiesOnly yes
    UserKnownHostsFile $KNOWN_HOSTS
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking accept-new
    LogLevel ERROR
EOF
  } >"$SSH_CONFIG"
}

write_inventories() {
  local i n ip grp
  {
    printf 'hostname\tip_private\tip_public\tgroups\n'
    for n in "${HOST_LIST[@]}"; do
      i=$(host_index "$n")
      ip=$(host_ip "$i")
      if ((i % 2)); then grp=web; else grp=db; fi
      printf '%s\t%s\t%s\t%s\n' "$n" "$ip" "$ip" "$LAB_GROUP,$grp"
    done
  } >"$INVENTORY_TSV"
  {
    echo "# Generated by tests/lab/$LAB_SCRIPT up (Ansible YAML inventory)."
    echo "all:"
    echo "  vars:"
    echo "    ansible_user: root"
    echo "    ansible_ssh_private_key_file: $SSH_KEY"
    echo "    ansible_ssh_common_args: -F $SSH_CONFIG"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "  children:"
    echo "    $LAB_GROUP:"
    echo "      hosts:"
    for n in "${HOST_LIST[@]}"; do
      echo "        $n:"
      echo "          ansible_host: $(host_ip "$(host_index "$n")")"
      echo "          ansible_user: root"
    done
    for grp in web db; do
      echo "    $grp:"
      echo "      hosts:"
      for n in "${HOST_LIST[@]}"; do
        i=$(host_index "$n")
        if { [[ $grp == web ]] && ((i % 2)); } || { [[ $grp == db ]] && ((i % 2 == 0)); }; then
          echo "        $n: {}"
        fi
      done
    done
  } >"$INVENTORY_YML"
}

ssh_lab() { # USER IP CMD...
  local user=$1 ip=$2
  shift 2
  ssh -F "$SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=3 "$user@$ip" "$@"
}

# Wait until `ssh root@IP true` works. Writes the reason of a failure to $d/wait.err.
wait_ssh() { # NAME DEADLINE(SECONDS value)
  local name=$1 deadline=$2 d ip pid
  d=$(host_dir "$name")
  ip=$(host_ip "$(host_index "$name")")
  pid=$(cat "$d/$HOST_PID_FILE")
  rm -f "$d/wait.err"
  while :; do
    if ssh_lab root "$ip" true </dev/null >/dev/null 2>"$d/ssh.err"; then
      return 0
    fi
    if [[ ! -e /proc/$pid ]]; then
      echo "$HOST_PROCESS exited" >"$d/wait.err"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "no ssh after ${BOOT_TIMEOUT}s" >"$d/wait.err"
      return 1
    fi
    sleep 0.5
  done
}

explain_host_failure() { # NAME
  local name=$1 d r
  d=$(host_dir "$name")
  r=$d/root
  {
    echo "---- $name ($(host_ip "$(host_index "$name")")): $(cat "$d/wait.err" 2>/dev/null || echo failed)"
    if [[ -s $d/ssh.err ]]; then
      echo "-- last ssh error:"
      tail -n 5 "$d/ssh.err"
    fi
    echo "-- console tail ($d/console.log):"
    tail -n 25 "$d/console.log" 2>/dev/null || true
    if [[ -d $r/var/log/journal ]]; then
      echo "-- journal tail ($r/var/log/journal):"
      journalctl --directory="$r/var/log/journal" --no-pager -n 30 2>&1 || true
    fi
  } >&2
}

# Boot the given hosts in parallel and wait for all of them; explain failures.
boot_and_wait() {
  local n failed=()
  phase "boot ${#} host(s)"
  for n in "$@"; do start_host "$n"; done
  phase_done
  phase "wait for ssh on ${#} host(s)"
  local deadline=$((SECONDS + BOOT_TIMEOUT))
  local -A waiters=()
  for n in "$@"; do
    wait_ssh "$n" "$deadline" &
    waiters[$n]=$!
  done
  for n in "$@"; do
    wait "${waiters[$n]}" || failed+=("$n")
  done
  if ((${#failed[@]})); then
    for n in "${failed[@]}"; do explain_host_failure "$n"; done
    die "${#failed[@]} host(s) did not come up: ${failed[*]} (the lab is left as is for inspection; '$LAB_SCRIPT down' cleans up)"
  fi
  phase_done
}

# ---------------------------------------------------------------------------------
# commands

# Overlays (and anything else) mounted under the state dir, deepest first.
unmount_hosts_dir() {
  local m
  [[ -d $HOSTS_DIR ]] || return 0
  while read -r m; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || { sleep 1; umount "$m" 2>/dev/null; } || {
      warn "$m busy; lazy unmount"
      umount -l "$m"
    }
  done < <(findmnt -rn -o TARGET | awk -v d="$(realpath "$HOSTS_DIR")" 'index($0, d "/") == 1' | sort -r)
}

# The network namespaces (their veth ends go with them) and stray root-side veths
# of the hosts whose names match NAME_ERE, e.g. 'lab[0-9]{2}'.
remove_host_links() { # NAME_ERE
  local ns n
  while read -r ns _; do
    if [[ $ns =~ ^$NS_PREFIX$1$ ]]; then ip netns del "$ns"; fi
  done < <(ip netns list 2>/dev/null)
  while read -r n; do
    ip link del "$n" 2>/dev/null || true
  done < <(ip -o link show type veth 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
    grep -E "^${VETH_PREFIX}$1$" || true)
}

cmd_down() {
  local quiet=${1:-}
  local hosts=()
  mapfile -t hosts < <(list_nspawn | awk '{ print $2 }')
  if ((${#hosts[@]})); then
    [[ -n $quiet ]] || log "stopping ${#hosts[@]} host(s)"
    stop_nspawn "${hosts[@]}"
  fi
  unmount_hosts_dir
  remove_host_links 'lab[0-9]{2}'
  stop_apt_proxy
  remove_bridge_if_unused
  host_cgroup_remove_all
  detach_disks
  restore_global_sysctls
  # nspawn leaves empty propagation dirs behind when /run is not a tmpfs.
  rmdir /run/systemd/nspawn/propagate/lab[0-9][0-9] 2>/dev/null || true
  # Per-run state (the lab key stays; the base cache stays).
  if [[ -d $HOSTS_DIR ]]; then safe_rmtree "$HOSTS_DIR"; fi
  rm -f "$INVENTORY_TSV" "$INVENTORY_YML" "$KNOWN_HOSTS" "$SSH_CONFIG" "$KNOWN_HOSTS.old" "$LAB_DIR/base"
  [[ -n $quiet ]] || log "lab is down"
}

cmd_up() {
  local count=${1:-}
  if ! [[ $count =~ ^[0-9]+$ ]] || ((count < 1 || count > MAX_HOSTS)); then
    die "usage: lab.sh up N   (1 <= N <= $MAX_HOSTS)"
  fi
  require_root
  phase "machine prerequisites"
  ensure_deps
  raise_inotify_limits
  modprobe overlay 2>/dev/null || true
  grep -qw overlay /proc/filesystems || die "the kernel has no overlayfs"
  phase_done
  lock_lab
  phase "tear down previous lab"
  cmd_down quiet
  phase_done
  save_global_sysctls
  phase "base image"
  ensure_base
  phase_done "$BASE"

  local i n
  HOST_LIST=()
  for ((i = 1; i <= count; i++)); do HOST_LIST+=("$(host_name "$i")"); done

  phase "network ($count namespaces)"
  setup_bridge
  start_apt_proxy
  for ((i = 1; i <= count; i++)); do setup_host_net "$(host_name "$i")" "$(host_ip "$i")"; done
  phase_done

  phase "host roots + keys ($count overlays)"
  ensure_lab_key
  mkdir -p "$HOSTS_DIR"
  echo "$BASE" >"$LAB_DIR/base"
  write_etc_hosts "$HOSTS_DIR/etc-hosts" # every host's /etc/hosts
  local -A jobs=()
  for ((i = 1; i <= count; i++)); do
    n=$(host_name "$i")
    prep_host_root "$n" "$(host_ip "$i")" &
    jobs[$n]=$!
  done
  local bad=()
  for n in "${HOST_LIST[@]}"; do wait "${jobs[$n]}" || bad+=("$n"); done
  ((${#bad[@]} == 0)) || die "preparing roots failed for: ${bad[*]}"
  for n in "${HOST_LIST[@]}"; do cat "$HOSTS_DIR/$n/known_hosts"; done >"$KNOWN_HOSTS"
  chmod 600 "$KNOWN_HOSTS"
  write_ssh_config
  write_inventories
  phase_done

  boot_and_wait "${HOST_LIST[@]}"

  echo "lab is up: $count host(s), ${HOST_LIST[0]} ($(host_ip 1)) .. ${HOST_LIST[-1]} ($(host_ip "$count"))"
  echo "inventory: $INVENTORY_TSV"
  echo "inventory: $INVENTORY_YML"
  echo "ssh:       ssh -F $SSH_CONFIG root@$(host_ip 1)"
  local envcmd="bash $0 env"
  if [[ $LAB_DIR != /var/lib/kbz-lab ]]; then envcmd="KBZ_LAB_DIR=$LAB_DIR $envcmd"; fi
  echo "env:       eval \"\$($envcmd)\""
  print_timings
}

require_host() { # NAME -> checks it belongs to the current lab
  host_index "$1" >/dev/null
  [[ -d $(host_dir "$1") ]] || die "no host '$1' in the lab at $LAB_DIR (is the lab up?)"
}

# What every one-host command checks first, in this order: a host named (or
# its USAGE shown), root, the lab's lock, and a host of this lab.
begin_host_command() { # NAME USAGE
  [[ -n $1 ]] || die "usage: lab.sh $2"
  require_root
  lock_lab
  require_host "$1"
}

cmd_stop() {
  local name=${1:-} hard=""
  begin_host_command "$name" "stop HOST [--hard]"
  [[ ${2:-} == --hard ]] && hard=--hard
  if [[ -z $(nspawn_pid "$name") ]]; then
    log "$name is not running"
  else
    local t0
    t0=$(now_us)
    stop_nspawn ${hard:+"$hard"} "$name"
    log "$name stopped in $(fmt_secs $(($(now_us) - t0)))"
  fi
  host_link "$name" down
}

cmd_start() {
  local name=${1:-}
  begin_host_command "$name" "start HOST"
  if [[ -n $(nspawn_pid "$name") ]]; then
    log "$name is already running"
    return 0
  fi
  local d
  d=$(host_dir "$name")
  if ! mountpoint -q "$d/root"; then
    BASE=$(cat "$LAB_DIR/base")
    [[ -f $BASE/.kbz-lab-base ]] || die "base $BASE is gone; run lab.sh up again"
    mount -t overlay "$MOUNT_PREFIX$name" -o "lowerdir=$BASE,upperdir=$d/upper,workdir=$d/work" "$d/root"
  fi
  host_link "$name" up
  boot_and_wait "$name"
  print_timings
}

cmd_rekey() {
  local name=${1:-}
  begin_host_command "$name" "rekey HOST"
  local d r ip init old new
  d=$(host_dir "$name")
  r=$d/root
  ip=$(host_ip "$(host_index "$name")")
  init=$(container_init_pid "$name") || die "$name is not running (lab.sh start $name)"
  old=$(ssh-keygen -lf "$r/etc/ssh/ssh_host_ed25519_key.pub" | awk '{ print $2 }')
  gen_host_keys "$r" "$name"
  new=$(ssh-keygen -lf "$r/etc/ssh/ssh_host_ed25519_key.pub" | awk '{ print $2 }')
  nsenter --target "$init" --mount --uts --ipc --net --pid -- systemctl restart ssh.service
  # Wait until sshd serves the new key.
  local want got deadline=$((SECONDS + 30))
  want=$(awk '{ print $2 }' "$r/etc/ssh/ssh_host_ed25519_key.pub")
  while :; do
    got=$(ssh-keyscan -T 2 -t ed25519 "$ip" 2>/dev/null | awk '{ print $3 }')
    [[ $got == "$want" ]] && break
    ((SECONDS < deadline)) || die "sshd on $name does not serve the new key"
    sleep 0.3
  done
  echo "$name ($ip): ssh host keys regenerated"
  echo "  ed25519 old: $old"
  echo "  ed25519 new: $new"
  echo "  $KNOWN_HOSTS still holds the old keys, so ssh with it now refuses the host."
}

cmd_status() {
  local hosts=() n pid ip state reach
  mapfile -t hosts < <(lab_hosts)
  if ((${#hosts[@]} == 0)); then
    echo "lab is down (no hosts in $LAB_DIR)"
    return 0
  fi
  local -A running=()
  while read -r pid n; do running[$n]=$pid; done < <(list_nspawn)
  echo "state dir: $LAB_DIR"
  echo "base:      $(cat "$LAB_DIR/base" 2>/dev/null || echo '?')"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    echo "bridge:    $BRIDGE $BRIDGE_IP/$NET_LEN"
  else
    echo "bridge:    $BRIDGE MISSING"
  fi
  printf '%-7s %-14s %-20s %s\n' HOST IP NSPAWN SSH
  for n in "${hosts[@]}"; do
    ip=$(host_ip "$(host_index "$n")")
    if [[ -n ${running[$n]:-} ]]; then state="running (pid ${running[$n]})"; else state=stopped; fi
    if [[ -n ${running[$n]:-} ]] && timeout 2 bash -c ": <>/dev/tcp/$ip/22" 2>/dev/null; then
      reach="port 22 open"
    else
      reach="-"
    fi
    printf '%-7s %-14s %-20s %s\n' "$n" "$ip" "$state" "$reach"
  done
}

cmd_env() {
  [[ -f $INVENTORY_TSV ]] || die "the lab at $LAB_DIR is not up (run: lab.sh up N)"
  local ips
  ips=$(awk -F'\t' 'NR > 1 { printf "%s%s", sep, $2; sep = " " }' "$INVENTORY_TSV")
  printf 'export %s=%q\n' "$LAB_DIR_VAR" "$LAB_DIR"
  printf 'export KBZ_LAB_SSH_CONFIG=%q\n' "$SSH_CONFIG"
  printf 'export KBZ_LAB_INVENTORY=%q\n' "$INVENTORY_TSV"
  printf 'export KBZ_LAB_INVENTORY_YML=%q\n' "$INVENTORY_YML"
  printf 'export KBZ_LAB_KNOWN_HOSTS=%q\n' "$KNOWN_HOSTS"
  printf 'export KBZ_LAB_KEY=%q\n' "$SSH_KEY"
  printf 'export KBZ_LAB_HOSTS="%s"\n' "$ips"
}

usage() {
  cat <<EOF
usage: lab.sh COMMAND
  up N            bring up N hosts (lab01..; 1..$MAX_HOSTS), replacing any previous lab
  down            stop and remove everything the lab made (safe to repeat)
  status          show the hosts and whether they run
  stop HOST       stop one host (orderly shutdown) so it is unreachable; --hard: kill it
  start HOST      boot a stopped host again with the same root
  rekey HOST      give a running host new ssh host keys (known_hosts keeps the old ones)
  env             print shell exports: eval "\$(lab.sh env)"
state: \$KBZ_LAB_DIR (now $LAB_DIR); base cache: \$KBZ_LAB_CACHE (now $CACHE_DIR)
EOF
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
  up) cmd_up "$@" ;;
  down)
    require_root
    lock_lab
    cmd_down
    ;;
  status) cmd_status ;;
  stop) cmd_stop "$@" ;;
  start) cmd_start "$@" ;;
  rekey) cmd_rekey "$@" ;;
  env) cmd_env ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

# Sourced (tests/lab/image.sh), only the functions are wanted.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi

#!/usr/bin/env bash
# kbz-play vs ansible-core vs pyinfra on the lab: the same 30-op workload on the same
# fresh hosts, first run and no-op rerun, plus the "floor" (one batched ssh probe per host).
# A benchmark, not a test: it asserts nothing about timings. See bench/README.md.
#
#   bash bench/run.sh            # 8 and 49 hosts
#   bash bench/run.sh 8          # host counts as arguments (1..49 full lab hosts)
#   bash bench/run.sh 100 250    # counts above 49 run on light hosts (tests/lab/light.sh, up to 970)
#   bash bench/run.sh --light 3  # light hosts for every count (the full lab is left alone)
#
# On light hosts (no systemd) the workload leaves out its one `service` op (kbz-play
# --skip-tags service, pyinfra KBZ_BENCH_NO_SERVICE=1) and Ansible is not run.
#
# Environment:
#   KBZ_BENCH_TOOLS="kbz pyinfra ansible"  tools to run (kbz-play is the reference for ratios);
#                                kbz25519 adds kbz-play with pyinfra's key exchange (curve25519-sha256
#                                preferred in the ssh config): OpenSSH's default, sntrup761x25519, costs
#                                the client about 0.1 CPU-s a connection, paramiko has none
#   KBZ_BENCH_RERUNS=3           no-op reruns (cold and warm) of kbz-play and pyinfra, and floor probes (median reported)
#   KBZ_BENCH_FIRSTS=1           first runs per tool, each on fresh hosts (median reported)
#   KBZ_BENCH_ANSIBLE_RERUNS=1   no-op reruns of Ansible (each takes minutes at 49 hosts)
#   KBZ_BENCH_ANSIBLE_MAX=49     largest host count Ansible runs at (8: the reference count only)
#   KBZ_BENCH_DIR=/var/cache/kbz-bench   venv, logs and results (outside the repository)
#   KBZ_BENCH_BUILD=1            run `cargo build --release` even if target/release/kbz-play exists
#   KBZ_BENCH_BUILD=head         build the committed HEAD instead (git archive into $KBZ_BENCH_DIR/src,
#                                target dir $KBZ_BENCH_DIR/target): for a work tree others are editing
#   KBZ_BENCH_KBZ=PATH           benchmark this kbz-play binary instead of target/release/kbz-play
#   KBZ_BENCH_KBZ_LABEL=TEXT     what that binary is (e.g. the commit it was built from), for the report
#   KBZ_BENCH_COPIES="30 300 1000"  ops per host of the copies workload (default only without
#                                host counts; "" skips it); kbz-play and pyinfra, not Ansible
#   KBZ_BENCH_COPIES_HOSTS=4     hosts of the copies workload
#
# Needs root (the lab). It replaces any lab it uses (full or light) and leaves it down at the end.
set -euo pipefail
export LC_ALL=C.UTF-8 # Ansible refuses a non-UTF-8 locale

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
LAB=$ROOT/tests/lab/lab.sh
LIGHT=$ROOT/tests/lab/light.sh
FULL_MAX=49   # larger counts run on light hosts
LIGHT_MAX=970
STATE=${KBZ_BENCH_DIR:-/var/cache/kbz-bench}
VENV=$STATE/venv
ANSIBLE_CORE_VERSION=2.19.14 # newest 2.19.x for Python 3.11 when written
PYINFRA_VERSION=3.10.0
KBZ=${KBZ_BENCH_KBZ:-$ROOT/target/release/kbz-play}
TOOLS=${KBZ_BENCH_TOOLS:-kbz pyinfra ansible}
RERUNS=${KBZ_BENCH_RERUNS:-3}
ANSIBLE_RERUNS=${KBZ_BENCH_ANSIBLE_RERUNS:-1}
ANSIBLE_MAX=${KBZ_BENCH_ANSIBLE_MAX:-$FULL_MAX}
FIRSTS=${KBZ_BENCH_FIRSTS:-1}
LIGHT_ALL=""
if [[ ${1:-} == --light ]]; then
  LIGHT_ALL=1
  shift
fi
STAMP=$(date +%Y%m%d-%H%M%S)
RUN_DIR=$STATE/runs/$STAMP
RESULTS=$STATE/results-$STAMP.md

# The copies workload: by default with the default host counts, else only when asked.
if (($# == 0)); then
  set -- 8 49
  COPIES=${KBZ_BENCH_COPIES-30 300 1000}
else
  COPIES=${KBZ_BENCH_COPIES:-}
fi
COPIES_HOSTS=${KBZ_BENCH_COPIES_HOSTS:-4}
COPIES_TOOLS=$(for t in $TOOLS; do [[ $t == ansible ]] || printf '%s ' "$t"; done)
for c in $COPIES; do
  [[ $c =~ ^[0-9]+$ ]] && ((c >= 1)) || { echo "run.sh: KBZ_BENCH_COPIES holds ops counts, got '$c'" >&2; exit 2; }
done
[[ $ANSIBLE_MAX =~ ^[0-9]+$ ]] || { echo "run.sh: KBZ_BENCH_ANSIBLE_MAX is a host count, got '$ANSIBLE_MAX'" >&2; exit 2; }
for n in "$@"; do
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= LIGHT_MAX)) ||
    { echo "run.sh: host counts are 1..$FULL_MAX (full lab) or up to $LIGHT_MAX (light hosts), got '$n'" >&2; exit 2; }
done
for t in $TOOLS; do
  case $t in kbz | kbz25519 | pyinfra | ansible) ;; *) echo "run.sh: unknown tool '$t' in KBZ_BENCH_TOOLS" >&2; exit 2 ;; esac
done
[[ $(id -u) == 0 ]] || { echo "run.sh: must run as root (the lab needs it)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "run.sh: /usr/bin/time is missing (Debian package: time)" >&2; exit 2; }

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------------------------------------
# tools

ensure_venv() {
  if [[ -x $VENV/bin/ansible-playbook && -x $VENV/bin/pyinfra ]] &&
    "$VENV/bin/python" - "$ANSIBLE_CORE_VERSION" "$PYINFRA_VERSION" <<'EOF' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(not (version("ansible-core") == sys.argv[1] and version("pyinfra") == sys.argv[2]))
EOF
    return 0
  fi
  local py
  py=$(command -v python3.11 || true)
  [[ -n $py ]] || die "python3.11 not found (ansible-core $ANSIBLE_CORE_VERSION is benchmarked on Python 3.11)"
  log "creating $VENV (ansible-core $ANSIBLE_CORE_VERSION, pyinfra $PYINFRA_VERSION)"
  mkdir -p "$STATE"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "ansible-core==$ANSIBLE_CORE_VERSION" "pyinfra==$PYINFRA_VERSION"
}

ensure_kbz() {
  if [[ -n ${KBZ_BENCH_KBZ:-} ]]; then
    [[ -x $KBZ ]] || die "KBZ_BENCH_KBZ=$KBZ is not an executable"
    return 0
  fi
  if [[ ${KBZ_BENCH_BUILD:-} == head ]]; then
    local rev
    rev=$(cd "$ROOT" && git rev-parse --short HEAD)
    log "building kbz-play from HEAD ($rev) in $STATE/src (cargo build --release)"
    rm -rf "$STATE/src"
    mkdir -p "$STATE/src"
    (cd "$ROOT" && git archive HEAD) | tar -x -C "$STATE/src"
    (cd "$STATE/src" && CARGO_TARGET_DIR=$STATE/target cargo build --release --quiet) ||
      die "cargo build --release of HEAD failed"
    KBZ=$STATE/target/release/kbz-play
    KBZ_BENCH_KBZ_LABEL="built from HEAD $rev"
    return 0
  fi
  if [[ ! -x $KBZ || ${KBZ_BENCH_BUILD:-} == 1 ]]; then
    log "building kbz-play (cargo build --release; several minutes on 2 cores)"
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
  fi
}

# Cold reruns stay cold: `--persist 0` closes kbz-play's masters with each run (by
# default they stay up 60 s for the next); a binary from before --persist (KBZ_BENCH_KBZ)
# closed them anyway.
KBZ_COLD=()
kbz_cold() {
  if [[ $("$KBZ" --help 2>/dev/null) == *--persist* ]]; then KBZ_COLD=(--persist 0); fi
  KBZ_PERSIST=("${KBZ_COLD[@]}")
}

# --------------------------------------------------------------------------------------
# timing and small helpers

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { # A B -> A/B as "12.3x", or "-" when either is missing
  if [[ $1 == - || $2 == - || -z $1 || -z $2 ]]; then echo "-"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else if (a / b < 10) printf "%.2fx", a / b; else printf "%.1fx", a / b }'
}

# Control-side cost of one tool run. CPU: every process the run starts, daemonised ssh
# masters included (they leave the process tree, so /usr/bin/time alone would miss their
# handshakes), read from a cpuacct cgroup of the run's own; where no cgroup can be made,
# /usr/bin/time's user+sys (waited-for children only) and the report says so. Memory:
# the peak RSS of the largest process (/usr/bin/time's %M), in MB.
CG_ROOT=/sys/fs/cgroup/cpuacct
CG_NOTE="user+sys of all processes (cpuacct cgroup)"
[[ -w $CG_ROOT ]] || { CG_ROOT=; CG_NOTE="user+sys of waited-for processes (/usr/bin/time; no cpuacct cgroup here)"; }
MEASURES=0

# Runs FUNC (a tool's command line, prefixed with "${TIMER[@]}") in a subshell, output
# to LOG; sets RUN_SECS, RUN_RC, RUN_CPU and RUN_MEM.
# With KEEP_CG set (warm reruns), the run joins that cgroup, which outlives it, and
# its CPU is the cgroup's growth over the run: the ssh masters an earlier run left
# there, which carry this run's traffic, are counted too.
measure() { # LOG FUNC ARGS...
  local log=$1 t0 t1 cg="" tf u0=0
  shift
  tf=$(mktemp /tmp/kbzb-time.XXXXXX)
  MEASURES=$((MEASURES + 1))
  if [[ -n $CG_ROOT ]]; then
    cg=${KEEP_CG:-$CG_ROOT/kbz-bench-$STAMP-$MEASURES}
    mkdir -p "$cg"
    u0=$(cat "$cg/cpuacct.usage")
  fi
  TIMER=(/usr/bin/time -o "$tf" -f '%U %S %M')
  t0=$(now)
  set +e
  (
    [[ -z $cg ]] || echo "$BASHPID" >"$cg/tasks"
    "$@"
  ) >"$log" 2>&1 </dev/null
  RUN_RC=$?
  set -e
  t1=$(now)
  RUN_SECS=$(elapsed "$t0" "$t1")
  if [[ -n $cg ]]; then
    RUN_CPU=$(awk -v u0="$u0" '{ printf "%.2f", ($1 - u0) / 1e9 }' "$cg/cpuacct.usage")
    [[ -n ${KEEP_CG:-} ]] || rmdir "$cg" 2>/dev/null || true # a master still closing keeps it; harmless
  else
    RUN_CPU=$(awk 'END { printf "%.2f", $1 + $2 }' "$tf")
  fi
  RUN_MEM=$(awk 'END { printf "%.0f", $3 / 1024 }' "$tf")
  rm -f "$tf"
}

# CPU busy percentage of the whole machine over one second.
cpu_busy() {
  local t1 i1 t2 i2
  read -r t1 i1 < <(awk '/^cpu / { for (k = 2; k <= NF; k++) t += $k; print t, $5 + $6 }' /proc/stat)
  sleep 1
  read -r t2 i2 < <(awk '/^cpu / { for (k = 2; k <= NF; k++) t += $k; print t, $5 + $6 }' /proc/stat)
  echo $((100 - 100 * (i2 - i1) / (t2 - t1 > 0 ? t2 - t1 : 1)))
}

# Before a timed run: wait until the machine is idle (others' builds and tests skew every
# figure on 2 cores): two consecutive seconds under QUIET_PCT% CPU, at most QUIET_WAIT s.
# Appends what it saw to QUIET_LOG (reported per tool).
QUIET_PCT=${KBZ_BENCH_QUIET_PCT:-15}
QUIET_WAIT=${KBZ_BENCH_QUIET_WAIT:-300}
wait_quiet() {
  local deadline=$((SECONDS + QUIET_WAIT)) start=$SECONDS busy calm=0 said=""
  while :; do
    busy=$(cpu_busy)
    if ((busy < QUIET_PCT)); then
      calm=$((calm + 1))
      ((calm >= 2)) && break
    else
      calm=0
      if [[ -z $said ]]; then
        log "machine busy (${busy}% CPU: $(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{ printf "%s%s %s%%", sep, $2, $1; sep = ", " }')); waiting up to ${QUIET_WAIT}s"
        said=1
      fi
    fi
    if ((SECONDS >= deadline)); then
      log "still busy (${busy}% CPU) after ${QUIET_WAIT}s; measuring anyway"
      QUIET_LOG+="BUSY ${busy}% "
      return 0
    fi
  done
  if ((SECONDS - start > 3)); then QUIET_LOG+="waited $((SECONDS - start))s "; fi
}

# IP CMD: batch mode, a fresh connection, or through the open master in
# CONTROL_PATH when set (the open-master floor).
lab_ssh() {
  ssh -F "$KBZ_LAB_SSH_CONFIG" -o BatchMode=yes -o ControlMaster=no -o ControlPath="${CONTROL_PATH:-none}" \
    -o ConnectTimeout=10 "root@$1" "$2"
}

# --------------------------------------------------------------------------------------
# the lab

# Which lab a host count runs on: the full lab (systemd-nspawn hosts) up to
# FULL_MAX hosts, light hosts (tests/lab/light.sh: one sshd per namespace, no
# systemd) above it, or with --light.
is_light() { [[ -n $LIGHT_ALL ]] || (($1 > FULL_MAX)); }

# What differs on light hosts: their lab script, the workload without its
# `service` op, no Ansible, and whose ssh clients count as foreign.
use_lab() { # N
  if is_light "$1"; then
    LAB_KIND=light LAB_SH=$LIGHT
    KBZ_SKIP=(--skip-tags service)
    export KBZ_BENCH_NO_SERVICE=1
    FOREIGN_PATTERN=$LIGHT_FOREIGN
  else
    LAB_KIND=full LAB_SH=$LAB
    KBZ_SKIP=()
    unset KBZ_BENCH_NO_SERVICE
    FOREIGN_PATTERN=$FULL_FOREIGN
  fi
  if [[ $WORKLOAD == demo ]]; then
    FLOOR_SCRIPT=$DEMO_FLOOR
    MANIFEST_SCRIPT=$DEMO_MANIFEST
    if [[ $LAB_KIND == light ]]; then # nor does the probe or the manifest ask systemd
      FLOOR_SCRIPT=${DEMO_FLOOR%%; systemctl*}
      MANIFEST_SCRIPT=$(grep -v '^echo "ssh.service' <<<"$DEMO_MANIFEST")
    fi
  fi
}

# The tools run on N hosts: Ansible on the full lab only, up to ANSIBLE_MAX hosts.
tools_for() { # N
  local t
  for t in $TOOLS; do
    if [[ $t == ansible ]] && { is_light "$1" || (($1 > ANSIBLE_MAX)); }; then continue; fi
    printf '%s ' "$t"
  done
}

USED_LABS=() # lab scripts to take down at the end
lab_up() { # N LOGFILE
  local n=$1 out=$2
  use_lab "$n"
  [[ " ${USED_LABS[*]} " == *" $LAB_SH "* ]] || USED_LABS+=("$LAB_SH")
  if ! bash "$LAB_SH" up "$n" >"$out" 2>&1; then
    tail -30 "$out" >&2
    die "${LAB_SH##*/} up $n failed (log: $out)"
  fi
  eval "$(bash "$LAB_SH" env)"
  if [[ $LAB_KIND == light ]]; then LAB_STATE=$KBZ_LIGHT_DIR; else LAB_STATE=$KBZ_LAB_DIR; fi
  echo "$FOREIGN_PATTERN" >"$RUN_DIR/foreign.pattern"
  mapfile -t IPS < <(awk -F'\t' 'NR > 1 { print $2 }' "$KBZ_LAB_INVENTORY")
  mapfile -t NAMES < <(awk -F'\t' 'NR > 1 { print $1 }' "$KBZ_LAB_INVENTORY")
  ((${#IPS[@]} == n)) || die "the lab has ${#IPS[@]} hosts, expected $n"
}

lab_down() {
  local l
  for l in "${USED_LABS[@]}"; do bash "$l" down >/dev/null 2>&1 || true; done
}

# Every host finished booting (no start jobs competing with the tool for the CPU), and
# starts from the base's state: no /opt/keybuzz, the base's sshd_config.
settle_and_check() {
  local base sha i bad=0 dir
  dir=$(mktemp -d)
  base=$(cat "$LAB_STATE/base")
  [[ $base == /* ]] || base=${KBZ_LAB_CACHE:-/var/cache/kbz-lab}/$base
  sha=$(sha256sum "$base/etc/ssh/sshd_config" | cut -d' ' -f1)
  local pids=()
  for i in "${!IPS[@]}"; do
    lab_ssh "${IPS[$i]}" 'if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        timeout 120 systemctl is-system-running --wait >/dev/null 2>&1;
        echo "state $(systemctl is-system-running)"; else echo "state running"; fi;
      if [ -e /opt/keybuzz ]; then echo "opt present"; else echo "opt absent"; fi;
      echo "sshd $(sha256sum /etc/ssh/sshd_config | cut -d" " -f1)"' >"$dir/$i" 2>&1 </dev/null &
    pids+=($!)
  done
  wait "${pids[@]}" || true # not a bare wait: the watcher runs in the background
  for i in "${!IPS[@]}"; do
    if ! grep -qx 'opt absent' "$dir/$i" || ! grep -qx "sshd $sha" "$dir/$i"; then
      log "host ${IPS[$i]} does not start from the base's state: $(tr '\n' ' ' <"$dir/$i")"
      bad=1
    elif ! grep -qx 'state running' "$dir/$i"; then
      log "note: host ${IPS[$i]} $(grep '^state' "$dir/$i")"
    fi
  done
  rm -rf "$dir"
  ((bad == 0)) || die "hosts are not fresh"
  sleep 1
}

# Inventories with ip_private for Ansible and pyinfra, from the lab's TSV (same host order).
write_inventories() { # DIR
  local d=$1
  {
    echo "# Generated by bench/run.sh from $KBZ_LAB_INVENTORY"
    echo "all:"
    echo "  vars:"
    echo "    ansible_user: root"
    echo "    ansible_ssh_private_key_file: $KBZ_LAB_KEY"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "  hosts:"
    awk -F'\t' 'NR > 1 { printf "    %s:\n      ansible_host: %s\n      ip_private: %s\n", $1, $2, $2 }' "$KBZ_LAB_INVENTORY"
  } >"$d/ansible-inventory.yml"
  {
    echo "# Generated by bench/run.sh from $KBZ_LAB_INVENTORY"
    echo "_ssh = {"
    echo "    \"ssh_user\": \"root\","
    echo "    \"ssh_key\": \"$KBZ_LAB_KEY\","
    echo "    \"ssh_config_file\": \"$KBZ_LAB_SSH_CONFIG\","
    echo "    \"ssh_known_hosts_file\": \"$KBZ_LAB_KNOWN_HOSTS\","
    echo "    \"ssh_strict_host_key_checking\": \"yes\","
    echo "    \"ssh_allow_agent\": False,"
    echo "    \"ssh_look_for_keys\": False,"
    echo "}"
    echo "lab = ["
    awk -F'\t' 'NR > 1 { printf "    (\"%s\", {**_ssh, \"ssh_hostname\": \"%s\", \"ip_private\": \"%s\"}),\n", $1, $2, $2 }' "$KBZ_LAB_INVENTORY"
    echo "]"
  } >"$d/pyinfra-inventory.py"
}

# --------------------------------------------------------------------------------------
# what a host looks like after the workload (compared across tools)

# Strict part: every path the workload declares, the sshd lines, stray files. Parents
# part: folders the workload creates without declaring them (modes may differ by tool).
DEMO_MANIFEST='
dirs="/opt/keybuzz/postgres/data /opt/keybuzz/postgres/config /opt/keybuzz/postgres/logs
/opt/keybuzz/redis/data /opt/keybuzz/redis/config /opt/keybuzz/redis/logs
/opt/keybuzz/rabbitmq/data /opt/keybuzz/rabbitmq/config /opt/keybuzz/rabbitmq/logs
/opt/keybuzz/mariadb/data /opt/keybuzz/mariadb/config /opt/keybuzz/mariadb/logs
/opt/keybuzz/minio/data /opt/keybuzz/minio/config /opt/keybuzz/minio/logs
/etc/systemd/journald.conf.d /etc/systemd/system/docker.service.d"
files="/opt/keybuzz/postgres/config/patroni.yml /opt/keybuzz/redis/config/sentinel.conf
/opt/keybuzz/postgres/config/haproxy.cfg /opt/keybuzz/mariadb/config/my.cnf
/opt/keybuzz/postgres/config/pgbouncer.ini /etc/systemd/journald.conf.d/keybuzz.conf
/etc/sysctl.d/99-keybuzz.conf /opt/keybuzz/README /etc/ssh/sshd_config"
for p in $dirs $files; do stat -c "%n %F %a %U:%G" "$p" 2>/dev/null || echo "$p MISSING"; done
for f in $files; do sha256sum "$f" 2>/dev/null || echo "$f MISSING"; done
grep -nE "^#?\s*(PermitRootLogin|PasswordAuthentication|X11Forwarding|MaxAuthTries)\s" /etc/ssh/sshd_config
echo "ssh.service $(systemctl is-active ssh) $(systemctl is-enabled ssh)"
echo "entries: $(find /opt/keybuzz /etc/ssh /etc/sysctl.d /etc/systemd/journald.conf.d /etc/systemd/system/docker.service.d | sort | tr "\n" " ")"
echo "--- parents"
stat -c "%n %F %a %U:%G" /opt/keybuzz /opt/keybuzz/postgres /opt/keybuzz/redis /opt/keybuzz/rabbitmq /opt/keybuzz/mariadb /opt/keybuzz/minio
'

# Writes DIR/manifest-<host> for the first and last host.
manifest() { # DIR
  local i
  for i in 0 $((${#IPS[@]} - 1)); do
    lab_ssh "${IPS[$i]}" "$MANIFEST_SCRIPT" >"$1/manifest-${NAMES[$i]}" 2>&1 </dev/null || true
  done
}

# Compares TOOL's manifests with the reference tool's; prints a verdict (and the diff).
compare_state() { # N TOOL
  local n=$1 tool=$2 ref=${REF_TOOL[$1]} f name strict parents verdict=same
  for name in "${NAMES[0]}" "${NAMES[-1]}"; do
    f=manifest-$name
    if [[ ! -s $RUN_DIR/$WORKLOAD-n$n-$ref/$f || ! -s $RUN_DIR/$WORKLOAD-n$n-$tool/$f ]]; then
      verdict="DIFFERENT (no $f to compare)"
      continue
    fi
    strict=$(diff <(sed '/^--- parents/,$d' "$RUN_DIR/$WORKLOAD-n$n-$ref/$f") <(sed '/^--- parents/,$d' "$RUN_DIR/$WORKLOAD-n$n-$tool/$f") || true)
    parents=$(diff <(sed -n '/^--- parents/,$p' "$RUN_DIR/$WORKLOAD-n$n-$ref/$f") <(sed -n '/^--- parents/,$p' "$RUN_DIR/$WORKLOAD-n$n-$tool/$f") || true)
    if [[ -n $strict ]]; then
      verdict=DIFFERENT
      log "STATE DIFFERS: $tool vs $ref on $name:"
      printf '%s\n' "$strict" | sed 's/^/    /' >&2
    fi
    if [[ -n $parents ]]; then
      [[ $verdict == same ]] && verdict="same (parent folder modes differ)"
      log "note: undeclared parent folders differ, $tool vs $ref on $name:"
      printf '%s\n' "$parents" | grep '^[<>]' | sed 's/^/    /' >&2
    fi
  done
  STATE_VERDICT[$n,$tool]=$verdict
  log "state after $tool's first run vs $ref's: $verdict"
}

# --------------------------------------------------------------------------------------
# the tools' runs. Each sets RUN_SECS, RUN_RC and RUN_NOTE (what the tool reported).

kbz_play() { # N PLAYBOOK ARGS...
  local n=$1 playbook=$2
  shift 2
  cd "$ROOT" && "${TIMER[@]}" "$KBZ" run "$playbook" -i "$KBZ_LAB_INVENTORY" -F "${KBZ_SSH_CONFIG:-$KBZ_LAB_SSH_CONFIG}" \
    --cache-dir "$KBZ_CACHE" -f "$n" "${KBZ_PERSIST[@]}" "${KBZ_SKIP[@]}" --output json "$@"
}

run_kbz() { # N PHASE LOG
  measure "$3" kbz_play "$1" "${KBZ_PLAYBOOK[@]}"
  kbz_note "$3"
}

# kbz-play with the key exchange pyinfra's paramiko negotiates: an ssh config that
# prefers curve25519-sha256, then includes the lab's.
run_kbz25519() { # N PHASE LOG
  local config=$INV_DIR/ssh_config.curve25519
  printf 'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org\nInclude %s\n' \
    "$KBZ_LAB_SSH_CONFIG" >"$config"
  KBZ_SSH_CONFIG=$config measure "$3" kbz_play "$1" "${KBZ_PLAYBOOK[@]}"
  kbz_note "$3"
}

# What kbz-play's JSON recap says: changes, failures, round trips per host.
kbz_note() { # LOG
  RUN_NOTE=$("$VENV/bin/python" - "$1" <<'EOF'
import json, sys
recap = None
for line in open(sys.argv[1], errors="replace"):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if isinstance(ev, dict) and ev.get("event") == "run_end":
        recap = ev["recap"]
if recap is None:
    print("changed=? (no recap)")
else:
    s = lambda k: sum(int(h[1].get(k) or 0) for h in recap)
    rt = sorted(int(h[1].get("round_trips") or 0) for h in recap)
    print(f"changed={s('changed')} ok={s('ok')} failed={s('failed')} unreachable={s('unreachable')} "
          f"round_trips/host={rt[0]}..{rt[-1]}")
EOF
  )
}

pyinfra_deploy() { # N DEPLOY
  cd "$BENCH/pyinfra" && "${TIMER[@]}" "$VENV/bin/pyinfra" "$INV_DIR/pyinfra-inventory.py" "$2" \
    -y --parallel "$1"
}

run_pyinfra() { # N PHASE LOG
  local log=$3
  measure "$log" pyinfra_deploy "$1" "$PYINFRA_DEPLOY"
  # pyinfra 3 ends with a results table; its last row sums every host's operations:
  # "Grand total  HOSTxOPS  SUCCESS(=changed)  ERROR  NO-CHANGE", "-" for none
  RUN_NOTE=$(awk '/Grand total/ { for (i = 3; i <= 6; i++) if ($i == "-") $i = 0;
      printf "changed=%d nochange=%d errors=%d (ops over all hosts)", $4, $6, $5; found = 1 }
    END { if (!found) print "changed=? (no results table)" }' "$log")
}

ansible_playbook() { # N CONTROL_PATH_DIR
  cd "$BENCH/ansible"
  export ANSIBLE_CONFIG=$BENCH/ansible/ansible.cfg ANSIBLE_SSH_CONTROL_PATH_DIR=$2
  if [[ $KBZ_LAB_SSH_CONFIG != /var/lib/kbz-lab/ssh_config ]]; then
    export ANSIBLE_SSH_ARGS="-F $KBZ_LAB_SSH_CONFIG -o ControlMaster=auto -o ControlPersist=60s"
  fi
  "${TIMER[@]}" "$VENV/bin/ansible-playbook" -i "$INV_DIR/ansible-inventory.yml" -f "$1" site.yml
}

run_ansible() { # N PHASE LOG
  local log=$3 cp s
  cp=$(mktemp -d /tmp/kbzb-cp.XXXXXX)
  measure "$log" ansible_playbook "$1" "$cp"
  # close this run's masters: the next run starts without connections, as the others do
  for s in "$cp"/*; do
    [[ -S $s ]] && ssh -F /dev/null -o ControlPath="$s" -O exit bench >/dev/null 2>&1 || true
  done
  rm -rf "$cp"
  # per op (loop item) lines of the default callback, plus the recap's unreachable count
  RUN_NOTE=$(awk '/^changed: \[/ { c++ } /^ok: \[/ { o++ } /^(failed|fatal): \[/ { f++ }
    / : ok=/ { for (i = 1; i <= NF; i++) if ($i ~ /^unreachable=/) { split($i, kv, "="); u += kv[2] } }
    END { printf "changed=%d ok=%d failed=%d unreachable=%d (ops over all hosts)", c, o, f, u }' "$log")
}

# One batched probe per host, all hosts in parallel, each on a fresh connection: what
# the workload needs to know (stat of its paths, hashes of its files, sshd_config, the
# unit), the least any tool can spend on a no-op rerun.
DEMO_FLOOR='stat -c "%n %F %a %u %g %s" /opt/keybuzz/postgres/data /opt/keybuzz/postgres/config /opt/keybuzz/postgres/logs /opt/keybuzz/redis/data /opt/keybuzz/redis/config /opt/keybuzz/redis/logs /opt/keybuzz/rabbitmq/data /opt/keybuzz/rabbitmq/config /opt/keybuzz/rabbitmq/logs /opt/keybuzz/mariadb/data /opt/keybuzz/mariadb/config /opt/keybuzz/mariadb/logs /opt/keybuzz/minio/data /opt/keybuzz/minio/config /opt/keybuzz/minio/logs /etc/systemd/journald.conf.d /etc/systemd/system/docker.service.d /opt/keybuzz/postgres/config/patroni.yml /opt/keybuzz/redis/config/sentinel.conf /opt/keybuzz/postgres/config/haproxy.cfg /opt/keybuzz/mariadb/config/my.cnf /opt/keybuzz/postgres/config/pgbouncer.ini /etc/systemd/journald.conf.d/keybuzz.conf /etc/sysctl.d/99-keybuzz.conf /opt/keybuzz/README /etc/ssh/sshd_config; sha256sum /opt/keybuzz/postgres/config/patroni.yml /opt/keybuzz/redis/config/sentinel.conf /opt/keybuzz/postgres/config/haproxy.cfg /opt/keybuzz/mariadb/config/my.cnf /opt/keybuzz/postgres/config/pgbouncer.ini /etc/systemd/journald.conf.d/keybuzz.conf /etc/sysctl.d/99-keybuzz.conf /opt/keybuzz/README; cat /etc/ssh/sshd_config; systemctl is-active ssh; systemctl is-enabled ssh'

run_floor() { # LOG
  local log=$1 t0 t1 ip pid rc=0 pids=()
  : >"$log"
  t0=$(now)
  for ip in "${IPS[@]}"; do
    lab_ssh "$ip" "$FLOOR_SCRIPT" >"$log.$ip" 2>&1 </dev/null &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=$?; done
  t1=$(now)
  for ip in "${IPS[@]}"; do cat "$log.$ip" >>"$log"; rm -f "$log.$ip"; done
  RUN_SECS=$(elapsed "$t0" "$t1")
  RUN_RC=$rc
}

# --------------------------------------------------------------------------------------
# Others using the lab while we measure (the lab is machine-wide: a `cargo test` with
# KBZ_LAB_DIR set runs tests/lab.rs against whatever lab is up, and those tests remove
# the workload's files): every second, list lab.sh, lab test binaries and OpenSSH
# clients to the lab that are not ours (ours carry KBZ_BENCH_RUN in their environment).

# Light hosts (198.18.16.0/20, lt001..) are the bench's own: others' lab tests do
# not touch them. The pattern in use is in $RUN_DIR/foreign.pattern (lab_up).
FULL_FOREIGN='/deps/lab-|lab\.sh|(^|/)ssh .*(198\.18\.|lab[0-9][0-9]|kbz-lab)'
LIGHT_FOREIGN='light\.sh|(^|/)ssh .*(198\.18\.(1[6-9]|2[0-9]|3[01])\.|[^a-z0-9]lt[0-9]{3}|kbz-light)'
#
# Only bash builtins read /proc: with 250 warm masters open, a `cat` and a `tr` per
# process and second were 500 programs a second, a quarter of the machine, measured
# as the warm reruns' competition and keeping the quiet wait from ever ending.
watch_foreign() { # runs in the background until killed
  set +eu # a process gone between two reads is no reason for the watch to end
  local pid comm args argv envs e ours pattern
  while sleep 1; do
    pattern=$(<"$RUN_DIR/foreign.pattern") 2>/dev/null || continue
    for pid in $(pgrep -f "$pattern"); do
      [[ $pid == "$BASHPID" ]] && continue
      # the lab's own hosts (nspawn; a light host's unshare, its init and sshd, whose
      # process title overwrites its environment) are not users
      read -r comm <"/proc/$pid/comm" 2>/dev/null || continue
      case $comm in systemd-nspawn | unshare | sshd) continue ;; esac
      # ours: the bench's environment, or one of its measuring cgroups, which keep the
      # ssh masters a run daemonised (a master's process title overwrites its
      # environment); a process gone meanwhile is nobody's
      mapfile -d '' -t envs <"/proc/$pid/environ" 2>/dev/null || continue
      ours=""
      for e in "${envs[@]}"; do [[ $e == "KBZ_BENCH_RUN=$STAMP" ]] && ours=1 && break; done
      while [[ -z $ours ]] && read -r e; do [[ $e == *"/kbz-bench-$STAMP-"* ]] && ours=1; done <"/proc/$pid/cgroup" 2>/dev/null
      [[ -z $ours ]] || continue
      # read last: a master that has retitled itself no longer matches, and is not a user
      mapfile -d '' -t argv <"/proc/$pid/cmdline" 2>/dev/null || continue
      args=${argv[*]}
      [[ $args =~ $pattern ]] || continue
      # nor are the masters of our warm reruns and open-master floor (their own folders)
      case $args in *"light.sh _init "* | *"/tmp/kbzw."* | *"/tmp/kbzf."*) continue ;; esac
      printf '%s %s %s\n' "${EPOCHREALTIME%.*}" "$pid" "${args:0:160}"
    done
  done >>"$RUN_DIR/foreign.log" 2>/dev/null
}

# Foreign processes seen between two epoch seconds: "none" or a count and a sample.
foreign_between() { # T0 T1
  awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b { if (!seen[$2]++) { n++; if (n <= 3) s = s (s ? "; " : "") substr($0, index($0, $3), 70) } }
    END { if (n) printf "%d foreign process(es) using the lab: %s", n, s; else print "none" }' "$RUN_DIR/foreign.log" 2>/dev/null || echo none
}

# --------------------------------------------------------------------------------------
# the workloads

# What a host holds after the copies workload: names, modes, owners, sizes and contents.
COPIES_MANIFEST='cd /opt/kbz-bench-copies && echo "files: $(ls | wc -l)" &&
stat -c "%n %F %a %U:%G %s" . * | sort | sha256sum && cat * | sha256sum'

# The copies workload's floor: what its rerun must know, in one probe per host.
COPIES_FLOOR='cd /opt/kbz-bench-copies && stat -c "%n %F %a %u %g %s" . * && sha256sum *'

# Sets what the tools run and how their result is checked. demo: playbooks/demo.rhai (30
# ops per host), with the floor probe. copies N: N small files per host, one op each
# (bench/copies/copies.rhai, bench/pyinfra/copies.py): the cost of many ops on one host.
use_workload() { # demo | copies N
  WORKLOAD=$1
  case $1 in
    demo)
      KBZ_PLAYBOOK=(playbooks/demo.rhai)
      PYINFRA_DEPLOY=deploy.py
      MANIFEST_SCRIPT=$DEMO_MANIFEST
      FLOOR_SCRIPT=$DEMO_FLOOR
      ;;
    copies)
      export KBZ_BENCH_COPIES_N=$2
      KBZ_PLAYBOOK=(bench/copies/copies.rhai -e "copies=$2")
      PYINFRA_DEPLOY=copies.py
      MANIFEST_SCRIPT=$COPIES_MANIFEST
      FLOOR_SCRIPT=$COPIES_FLOOR
      ;;
  esac
}

# --------------------------------------------------------------------------------------
# one tool on one lab size

declare -A FOREIGN LOAD FIRST RERUN RERUN_ALL NOTE_FIRST NOTE_RERUN STATE_VERDICT REF_TOOL PROBLEMS FLOOR FLOOR_ALL
declare -A CPU_FIRST CPU_RERUN MEM FIRST_ALL WARM WARM_ALL CPU_WARM FLOOR_OPEN FLOOR_OPEN_ALL LAB_OF

# Runs TOOL's first runs (FIRSTS, each on a fresh lab), cold reruns and, where the
# tool keeps connections, warm reruns of the current workload (see use_workload) on
# HOSTS hosts, then the floors; results are filed under KEY (the host count for the
# demo workload).
bench_tool() { # HOSTS TOOL [KEY]
  local hosts=$1 tool=$2 n=${3:-$1} d i firsts=() cpus=() fails=""
  d=$RUN_DIR/$WORKLOAD-n$n-$tool
  mkdir -p "$d"
  local t_start=${EPOCHREALTIME%.*}
  QUIET_LOG=""
  SERIES_MEM=0
  for ((i = 1; i <= FIRSTS; i++)); do
    log "== $WORKLOAD $n ($hosts hosts), $tool: fresh lab ($i of $FIRSTS)"
    lab_up "$hosts" "$d/lab-up-$i.log"
    LAB_OF[$n]=$LAB_KIND
    settle_and_check
    INV_DIR=$d
    write_inventories "$d"
    KBZ_CACHE=$d/kbz-cache # fresh for the first run, reused by the reruns
    rm -rf "$KBZ_CACHE"
    wait_quiet
    "run_$tool" "$hosts" first "$d/first-$i.log"
    log "$tool first run $i: ${RUN_SECS}s cpu ${RUN_CPU}s ${RUN_MEM}MB rc=$RUN_RC $RUN_NOTE"
    firsts+=("$RUN_SECS")
    cpus+=("$RUN_CPU")
    ((RUN_MEM > SERIES_MEM)) && SERIES_MEM=$RUN_MEM
    NOTE_FIRST[$n,$tool]=$RUN_NOTE
    if ((RUN_RC != 0)); then
      PROBLEMS[$n,$tool]+="first run $i exited $RUN_RC (log $d/first-$i.log); "
      fails="!" # shown as failed
      tail -20 "$d/first-$i.log" | sed 's/^/    /' >&2
    fi
  done
  FIRST[$n,$tool]="$(median "${firsts[@]}")$fails"
  FIRST_ALL[$n,$tool]=${firsts[*]}
  CPU_FIRST[$n,$tool]=$(median "${cpus[@]}")
  manifest "$d"
  [[ -n ${REF_TOOL[$n]:-} ]] || REF_TOOL[$n]=$tool
  if [[ ${REF_TOOL[$n]} != "$tool" ]]; then compare_state "$n" "$tool"; else STATE_VERDICT[$n,$tool]=reference; fi

  rerun_series "$hosts" "$tool" "$n" "$d/rerun"
  RERUN[$n,$tool]=$SERIES_MEDIAN
  RERUN_ALL[$n,$tool]=$SERIES_ALL
  CPU_RERUN[$n,$tool]=$SERIES_CPU
  NOTE_RERUN[$n,$tool]=$SERIES_NOTE
  if [[ $tool == kbz && -n $KBZ_COLD ]]; then warm_reruns "$hosts" "$n" "$d"; fi
  MEM[$n,$tool]=$SERIES_MEM
  if [[ $tool == kbz && -n $FLOOR_SCRIPT ]]; then run_floors "$n" "$d"; fi

  LOAD[$n,$tool]=${QUIET_LOG:-quiet}
  FOREIGN[$n,$tool]=$(foreign_between "$t_start" "${EPOCHREALTIME%.*}")
  if [[ ${FOREIGN[$n,$tool]} != none ]]; then
    log "WARNING: ${FOREIGN[$n,$tool]}"
    PROBLEMS[$n,$tool]+="${FOREIGN[$n,$tool]} (figures unreliable); "
  fi
  # kbz-play's masters should be gone with its process
  if pgrep -f "kbz-play-[0-9]" >/dev/null; then
    log "note: ssh processes of an ended kbz-play run are still alive: $(pgrep -af 'kbz-play-[0-9]' | head -3 | tr '\n' ' ')"
  fi
}

# RERUNS no-op reruns (Ansible: ANSIBLE_RERUNS), logs PREFIX-<i>.log. Sets
# SERIES_MEDIAN (of the clean no-ops; "-" without one), SERIES_ALL (every sample,
# "*" for one that was not a clean no-op), SERIES_CPU, SERIES_NOTE, and raises
# SERIES_MEM.
rerun_series() { # HOSTS TOOL KEY PREFIX
  local hosts=$1 tool=$2 n=$3 prefix=$4 i reruns=$RERUNS samples=() notes=() all=() cpus=()
  [[ $tool == ansible ]] && reruns=$ANSIBLE_RERUNS
  for ((i = 1; i <= reruns; i++)); do
    wait_quiet
    "run_$tool" "$hosts" rerun "$prefix-$i.log"
    log "$tool ${prefix##*/} $i: ${RUN_SECS}s cpu ${RUN_CPU}s ${RUN_MEM}MB rc=$RUN_RC $RUN_NOTE"
    cpus+=("$RUN_CPU")
    ((RUN_MEM > SERIES_MEM)) && SERIES_MEM=$RUN_MEM
    all+=("$RUN_SECS")
    if ((RUN_RC != 0)); then
      PROBLEMS[$n,$tool]+="${prefix##*/} $i exited $RUN_RC (log $prefix-$i.log); "
      tail -20 "$prefix-$i.log" | sed 's/^/    /' >&2
    fi
    if ((RUN_RC == 0)) && [[ $RUN_NOTE == changed=0\ * ]]; then
      samples+=("$RUN_SECS")
      notes+=("$RUN_NOTE")
    else
      all[-1]+="*"
      PROBLEMS[$n,$tool]+="${prefix##*/} $i not a clean no-op (left out of the median): $RUN_NOTE; "
    fi
  done
  if ((${#samples[@]})); then SERIES_MEDIAN=$(median "${samples[@]}"); else SERIES_MEDIAN=-; fi
  SERIES_ALL=${all[*]}
  SERIES_CPU=$(median "${cpus[@]}")
  SERIES_NOTE=${notes[0]:-$RUN_NOTE}
}

# kbz-play's warm reruns: --persist, so each run reuses the masters the
# previous one left (one unmeasured run opens them), in a control folder of this
# bench's own (short: a socket path has at most 107 bytes) and a cgroup that keeps
# the masters' CPU in the figures; `kbz-play disconnect` closes them afterwards.
warm_reruns() { # HOSTS KEY DIR
  local hosts=$1 n=$2 d=$3 xdg
  xdg=$(mktemp -d /tmp/kbzw.XXXXXX)
  [[ -z $CG_ROOT ]] || KEEP_CG=$CG_ROOT/kbz-bench-$STAMP-warm-$n
  # The masters outlive the quiet wait before each run (up to QUIET_WAIT s): under the
  # default 60 s a long wait let them time out, and a "warm" rerun was a cold one.
  KBZ_PERSIST=(--persist $((QUIET_WAIT + 60)))
  export XDG_RUNTIME_DIR=$xdg
  run_kbz "$hosts" warmup "$d/warmup.log"
  log "kbz warm-up (opens the masters): ${RUN_SECS}s rc=$RUN_RC $RUN_NOTE"
  rerun_series "$hosts" kbz "$n" "$d/warm"
  WARM[$n,kbz]=$SERIES_MEDIAN
  WARM_ALL[$n,kbz]=$SERIES_ALL
  CPU_WARM[$n,kbz]=$SERIES_CPU
  "$KBZ" disconnect >"$d/disconnect.log" 2>&1 || log "kbz-play disconnect failed: $(tail -1 "$d/disconnect.log")"
  unset XDG_RUNTIME_DIR
  KBZ_PERSIST=("${KBZ_COLD[@]}")
  sleep 1
  if [[ -n ${KEEP_CG:-} ]]; then rmdir "$KEEP_CG" 2>/dev/null || log "note: masters still alive in $KEEP_CG"; fi
  KEEP_CG=""
  rm -rf "$xdg"
}

# The floors, RERUNS probes each: one batched probe per host on a fresh connection
# (FLOOR, what a cold rerun cannot go below), and through a master opened
# beforehand (FLOOR_OPEN, the same for a warm rerun).
run_floors() { # KEY DIR
  local n=$1 d=$2 i samples=() cp ip pids=()
  for ((i = 1; i <= RERUNS; i++)); do
    wait_quiet
    run_floor "$d/floor-$i.log"
    log "floor probe $i (fresh connections): ${RUN_SECS}s rc=$RUN_RC"
    samples+=("$RUN_SECS")
  done
  FLOOR[$n]=$(median "${samples[@]}")
  FLOOR_ALL[$n]=${samples[*]}
  cp=$(mktemp -d /tmp/kbzf.XXXXXX)
  for ip in "${IPS[@]}"; do
    ssh -F "$KBZ_LAB_SSH_CONFIG" -o BatchMode=yes -o ControlMaster=yes -o ControlPath="$cp/%C" \
      -o ControlPersist=600 -fN "root@$ip" </dev/null >/dev/null 2>>"$d/floor-open-masters.log" &
    pids+=($!)
  done
  wait "${pids[@]}" || log "note: some floor masters did not open ($d/floor-open-masters.log)"
  samples=()
  for ((i = 1; i <= RERUNS; i++)); do
    wait_quiet
    CONTROL_PATH="$cp/%C" run_floor "$d/floor-open-$i.log"
    log "floor probe $i (open masters): ${RUN_SECS}s rc=$RUN_RC"
    samples+=("$RUN_SECS")
  done
  FLOOR_OPEN[$n]=$(median "${samples[@]}")
  FLOOR_OPEN_ALL[$n]=${samples[*]}
  for ip in "${IPS[@]}"; do
    ssh -F "$KBZ_LAB_SSH_CONFIG" -o ControlPath="$cp/%C" -O exit "root@$ip" >/dev/null 2>&1 || true
  done
  rm -rf "$cp"
}

# --------------------------------------------------------------------------------------
# report

tool_label() { case $1 in kbz) echo kbz-play ;; kbz25519) echo "kbz-play, curve25519 kex" ;; pyinfra) echo "pyinfra $PYINFRA_VERSION" ;; ansible) echo "ansible-core $ANSIBLE_CORE_VERSION" ;; esac; }
secs() {
  if [[ -z $1 || $1 == - ]]; then echo "-"
  elif [[ $1 == *! ]]; then echo "${1%!} s (failed)"
  else echo "$1 s"; fi
}

# "CPU first / rerun | peak" cells of KEY and TOOL.
cost() { # KEY TOOL
  echo "${CPU_FIRST[$1,$2]:--} s / ${CPU_RERUN[$1,$2]:--} s | ${MEM[$1,$2]:--} MB"
}

# The copies workload's table: how the cost grows with the ops per host.
copies_report() {
  local c t k r
  echo "Many ops per host: the copies workload on $COPIES_HOSTS hosts (N small files per host, one op each)."
  echo
  echo "| ops per host | tool | first run | rerun | first vs kbz | rerun vs kbz | CPU first / rerun | peak |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  for c in $COPIES; do
    k=${FIRST[copies$c,kbz]:-}
    for t in $COPIES_TOOLS; do
      echo "| $c | $(tool_label "$t") | $(secs "${FIRST[copies$c,$t]:-}") | $(secs "${RERUN[copies$c,$t]:-}") | $(ratio "${FIRST[copies$c,$t]%!}" "${k%!}") | $(ratio "${RERUN[copies$c,$t]:-}" "${RERUN[copies$c,kbz]:-}") | $(cost "copies$c" "$t") |"
    done
    r=${RERUN[copies$c,kbz]:-}
    [[ -z ${WARM[copies$c,kbz]:-} ]] ||
      echo "| $c | kbz-play warm (masters open) | - | $(secs "${WARM[copies$c,kbz]}") | - | $(ratio "${WARM[copies$c,kbz]}" "$r") | - / ${CPU_WARM[copies$c,kbz]:--} s | - |"
    [[ -z ${FLOOR[copies$c]:-} ]] ||
      echo "| $c | floor (1 ssh probe/host) | - | $(secs "${FLOOR[copies$c]}") | - | $(ratio "${FLOOR[copies$c]}" "$r") | - | - |"
    [[ -z ${FLOOR_OPEN[copies$c]:-} ]] ||
      echo "| $c | floor, masters open | - | $(secs "${FLOOR_OPEN[copies$c]}") | - | $(ratio "${FLOOR_OPEN[copies$c]}" "$r") | - | - |"
  done
  echo
  for c in $COPIES; do
    for t in $COPIES_TOOLS; do
      echo "- $c ops, $(tool_label "$t"): first [${NOTE_FIRST[copies$c,$t]:-}], rerun [${NOTE_RERUN[copies$c,$t]:-}], reruns: ${RERUN_ALL[copies$c,$t]:-} s; state vs ${REF_TOOL[copies$c]:-?}: ${STATE_VERDICT[copies$c,$t]:-?}"
      [[ -z ${PROBLEMS[copies$c,$t]:-} ]] || echo "  - PROBLEMS: ${PROBLEMS[copies$c,$t]}"
    done
  done
  echo
}

# "CPU first / cold / warm | peak" cells of the demo table.
cost3() { # KEY TOOL
  echo "${CPU_FIRST[$1,$2]:--} / ${CPU_RERUN[$1,$2]:--} / ${CPU_WARM[$1,$2]:--} s | ${MEM[$1,$2]:--} MB"
}

# How kbz-play's figures grow from one host count to the next, against the hosts.
scaling_report() { # N...
  local prev="" n
  echo "Growth of kbz-play's figures between host counts (x hosts; at most linear: each at most the hosts' factor):"
  echo
  for n in "$@"; do
    if [[ -n $prev && -n ${FIRST[$prev,kbz]:-} && -n ${FIRST[$n,kbz]:-} ]]; then
      echo "- $prev -> $n hosts ($(ratio "$n" "$prev")): first run $(ratio "${FIRST[$n,kbz]%!}" "${FIRST[$prev,kbz]%!}"), cold rerun $(ratio "${RERUN[$n,kbz]:-}" "${RERUN[$prev,kbz]:-}"), warm rerun $(ratio "${WARM[$n,kbz]:-}" "${WARM[$prev,kbz]:-}"), CPU cold rerun $(ratio "${CPU_RERUN[$n,kbz]:-}" "${CPU_RERUN[$prev,kbz]:-}"), peak memory $(ratio "${MEM[$n,kbz]:-}" "${MEM[$prev,kbz]:-}")"
    fi
    prev=$n
  done
  echo
}

report() {
  local n t k f r
  echo "# kbz-play vs ansible-core vs pyinfra ($(date '+%Y-%m-%d %H:%M'), $(nproc) cores)"
  echo
  echo "Workload: playbooks/demo.rhai (30 ops per host; on light hosts 29: no \`service\` op, no systemd there); same fresh lab hosts for every tool."
  echo "first = median of $FIRSTS first run(s), each on fresh hosts; cold rerun = median of $RERUNS no-op reruns (Ansible: $ANSIBLE_RERUNS) on new connections (kbz-play --persist 0);"
  echo "warm rerun = median of $RERUNS no-op reruns reusing the ssh masters the previous run left (kbz-play --persist $((QUIET_WAIT + 60)), longer than the quiet wait; pyinfra keeps no connections: -)."
  echo "Floors (median of $RERUNS): one batched ssh probe per host, all in parallel, on fresh connections / through masters opened beforehand."
  echo "kbz-play binary: $KBZ (built $(date -r "$KBZ" '+%Y-%m-%d %H:%M'))${KBZ_BENCH_KBZ_LABEL:+, $KBZ_BENCH_KBZ_LABEL}; repository at $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo '?')."
  echo "Machine quiet threshold: ${QUIET_PCT}% CPU (KBZ_BENCH_QUIET_PCT)."
  echo
  echo "CPU = control-side $CG_NOTE (warm: the masters' share included); peak = largest process's peak RSS over all runs."
  echo
  echo "| hosts | lab | tool | first run | cold rerun | warm rerun | CPU first / cold / warm | peak | first vs kbz | cold vs kbz |"
  echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for n in "$@"; do
    k=${FIRST[$n,kbz]:-}
    k=${k%!}
    r=${RERUN[$n,kbz]:-}
    for t in $(tools_for "$n"); do
      f=${FIRST[$n,$t]:-}
      echo "| $n | ${LAB_OF[$n]:-?} | $(tool_label "$t") | $(secs "$f") | $(secs "${RERUN[$n,$t]:-}") | $(secs "${WARM[$n,$t]:-}") | $(cost3 "$n" "$t") | $(ratio "${f%!}" "$k") | $(ratio "${RERUN[$n,$t]:-}" "$r") |"
    done
    if [[ -n ${FLOOR[$n]:-} ]]; then
      echo "| $n | ${LAB_OF[$n]:-?} | floor (1 ssh probe/host) | - | $(secs "${FLOOR[$n]}") | $(secs "${FLOOR_OPEN[$n]:-}") | - | - | - | $(ratio "${FLOOR[$n]}" "$r") |"
    fi
  done
  echo
  scaling_report "$@"
  [[ -z $COPIES ]] || copies_report
  for n in "$@"; do
    echo "**$n hosts** (${LAB_OF[$n]:-?} lab)"
    echo
    if [[ -n ${FLOOR_OPEN[$n]:-} && -n ${WARM[$n,kbz]:-} ]]; then
      echo "- kbz-play warm rerun vs open-master floor: $(ratio "${WARM[$n,kbz]}" "${FLOOR_OPEN[$n]}") (${WARM[$n,kbz]} s vs ${FLOOR_OPEN[$n]} s; issue target: at most 1.5x)"
    fi
    if [[ -n ${FLOOR[$n]:-} && -n ${RERUN[$n,kbz]:-} ]]; then
      echo "- kbz-play cold rerun vs fresh-connection floor: $(ratio "${RERUN[$n,kbz]}" "${FLOOR[$n]}") (${RERUN[$n,kbz]} s vs ${FLOOR[$n]} s)"
    fi
    if [[ -n ${FIRST[$n,kbz]:-} && -n ${FIRST[$n,pyinfra]:-} ]]; then
      echo "- kbz-play first run vs pyinfra's: $(ratio "${FIRST[$n,kbz]%!}" "${FIRST[$n,pyinfra]%!}") (issue target: at most 0.25x)"
    fi
    if [[ -n ${FIRST[$n,kbz25519]:-} && -n ${FIRST[$n,pyinfra]:-} ]]; then
      echo "- kbz-play first run vs pyinfra's, both with curve25519-sha256: $(ratio "${FIRST[$n,kbz25519]%!}" "${FIRST[$n,pyinfra]%!}")"
    fi
    [[ -z ${MEM[$n,kbz]:-} ]] || echo "- kbz-play peak memory: ${MEM[$n,kbz]} MB (issue target at 250 hosts: under 64 MB)"
    for t in $(tools_for "$n"); do
      echo "- $(tool_label "$t"): first [${NOTE_FIRST[$n,$t]:-}], rerun [${NOTE_RERUN[$n,$t]:-}], first runs: ${FIRST_ALL[$n,$t]:-} s, cold reruns: ${RERUN_ALL[$n,$t]:-} s$([[ -n ${WARM_ALL[$n,$t]:-} ]] && echo ", warm reruns: ${WARM_ALL[$n,$t]} s")$([[ "${RERUN_ALL[$n,$t]:-}${WARM_ALL[$n,$t]:-}" == *\** ]] && echo " (* = not a clean no-op)"); state vs ${REF_TOOL[$n]:-?}: ${STATE_VERDICT[$n,$t]:-?}; machine before the runs: ${LOAD[$n,$t]:-?}"
      [[ -z ${PROBLEMS[$n,$t]:-} ]] || echo "  - PROBLEMS: ${PROBLEMS[$n,$t]}"
    done
    [[ -z ${FLOOR_ALL[$n]:-} ]] || echo "- floor probes: fresh ${FLOOR_ALL[$n]} s; open masters ${FLOOR_OPEN_ALL[$n]:-} s"
    echo
  done
  echo "Logs: $RUN_DIR"
}

# --------------------------------------------------------------------------------------

main() {
  mkdir -p "$RUN_DIR"
  ensure_venv
  [[ " $TOOLS " == *" kbz"* ]] && ensure_kbz && kbz_cold
  log "tools: $TOOLS; host counts: $*; logs in $RUN_DIR"
  export KBZ_BENCH_RUN=$STAMP
  : >"$RUN_DIR/foreign.log"
  watch_foreign &
  WATCHER=$!
  trap 'kill "$WATCHER" 2>/dev/null || :; log "taking the lab down"; lab_down' EXIT
  local n t c
  use_workload demo
  for n in "$@"; do
    is_light "$n" && [[ " $TOOLS " == *" ansible "* ]] && log "$n hosts on light hosts: no Ansible there, and no \`service\` op in the workload"
    ! is_light "$n" && ((n > ANSIBLE_MAX)) && [[ " $TOOLS " == *" ansible "* ]] && log "$n hosts: no Ansible (KBZ_BENCH_ANSIBLE_MAX=$ANSIBLE_MAX)"
    for t in $(tools_for "$n"); do bench_tool "$n" "$t"; done
  done
  for c in $COPIES; do
    use_workload copies "$c"
    for t in $COPIES_TOOLS; do bench_tool "$COPIES_HOSTS" "$t" "copies$c"; done
  done
  report "$@" | tee "$RESULTS"
  log "results written to $RESULTS"
}

main "$@"; exit $? # on one line: bash reads a script as it runs it

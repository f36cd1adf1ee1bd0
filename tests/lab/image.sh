#!/usr/bin/env bash
# Container images for the lab, built from Debian packages.
#
# Lab hosts cannot pull from a registry, so the lab makes its own small images:
# a debootstrap minbase tree holding the Debian packages a service needs, packed
# as a tarball (cached, keyed by its package list) and `docker import`ed into the
# Docker of each lab host. The lab inventory then names these images instead of
# the production ones in playbooks/versions.yaml; the roles are unchanged.
#
# Usage:
#   image.sh build [OPTION]... NAME:TAG PKG...              tarball path on stdout (cached)
#   image.sh load  [OPTION]... NAME:TAG PKG... -- HOST...   build if needed, import where
#                                                          missing or built differently
#   image.sh build|load @SPEC [-- HOST...]                  the same, described by
#                                                          tests/lab/images/SPEC.image
# A spec file holds `key=value` lines: name=NAME:TAG, packages=PKG..., and any number
# of run=, add=, change= (the options below); `#` starts a comment line.
# Options:
#   --run CMD         a shell command run in the image tree (chroot) after the packages,
#                     e.g. 'usermod -u 999 postgres' (part of the cache key)
#   --add SRC:DEST    copy SRC (a path relative to the repo) to DEST in the image, mode
#                     kept, e.g. tests/lab/images/entrypoint.sh:/usr/local/bin/entrypoint
#   --change INSTR    docker import's --change, e.g. 'CMD ["haproxy", "-f", "/h.cfg"]',
#                     for images whose production counterpart has a default command
# HOST is a lab host name or address; ssh uses the lab's ssh config. Each import is
# labelled with the image's key, so a host holding an older build gets the new one.
set -euo pipefail

# lab.sh's functions (log, die, detect_mirror, safe_rmtree, ...) and paths.
# shellcheck source=tests/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

IMAGES_DIR=$CACHE_DIR/images
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNS=()    # --run
ADDS=()    # --add SRC:DEST
CHANGES=() # --change

image_customize_script() {
  cat <<'EOF'
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# A container image: no init, no services started at build, nothing to log in to.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
  /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/lintian/* \
  /usr/share/locale/* /var/log/* /tmp/* 2>/dev/null || true
: > /etc/machine-id
printf '# lab image: the host network supplies names\n' > /etc/resolv.conf
EOF
}

image_key() { # PKG...
  {
    echo "suite=$SUITE variant=minbase packages=$*"
    image_customize_script
    printf 'run %s\n' "${RUNS[@]}"
    local a
    for a in "${ADDS[@]}"; do
      echo "add $a $(sha256sum <"$REPO/${a%%:*}" | cut -c1-64) $(stat -c %a "$REPO/${a%%:*}")"
    done
  } | sha256sum | cut -c1-16
}

# Builds (or finds) the tarball for NAME:TAG with PKG..., prints its path.
build_image() { # NAME:TAG PKG...
  local ref=$1
  shift
  [[ $ref == *:* && $ref != *:latest ]] || die "image '$ref' needs a pinned tag"
  mkdir -p "$IMAGES_DIR"
  local key tar
  key=$(image_key "$@")
  tar=$IMAGES_DIR/$(tr '/:' '__' <<<"$ref")-$key.tar
  exec {img_fd}>"$IMAGES_DIR/.lock"
  flock -w 1800 "$img_fd" || die "timed out waiting for $IMAGES_DIR/.lock"
  if [[ ! -s $tar ]]; then
    local tmp blog
    tmp=$(mktemp -d "$IMAGES_DIR/.tmp-image.XXXXXX")
    blog=$IMAGES_DIR/build-$key.log
    log "building image $ref from Debian packages: $* (log: $blog)"
    debootstrap_tree "$tmp" "$blog" "$@"
    image_customize_script >"$tmp/kbz-image-customize.sh"
    chroot_or_die "$tmp" "$blog" "customizing $ref failed (log: $blog)" \
      /bin/sh /kbz-image-customize.sh
    rm -f "$tmp/kbz-image-customize.sh"
    local a r
    for a in "${ADDS[@]}"; do
      install -D -m "$(stat -c %a "$REPO/${a%%:*}")" "$REPO/${a%%:*}" "$tmp/${a#*:}"
    done
    for r in "${RUNS[@]}"; do
      chroot_or_die "$tmp" "$blog" "--run '$r' failed in $ref (log: $blog)" /bin/sh -c "$r"
    done
    chmod 0755 "$tmp" # mktemp made it 0700, and it becomes the image's /
    tar --numeric-owner -C "$tmp" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    safe_rmtree "$tmp"
    log "image $ref: $tar ($(du -h "$tar" | cut -f1))"
    # Older builds of the same NAME:TAG are never used again.
    local old
    for old in "${tar%-*}"-*.tar; do
      [[ $old == "$tar" ]] || rm -f "$old" "$IMAGES_DIR/build-$(basename "${old##*-}" .tar).log"
    done
  fi
  flock -u "$img_fd"
  echo "$tar"
}

# Imports NAME:TAG into the Docker of each host that does not have this build yet.
load_image() { # NAME:TAG TAR HOST...  (docker import options in CHANGES)
  local ref=$1 tar=$2 h key
  shift 2
  # The build's key, and the import options: either changing re-imports.
  key=$(printf '%s\n' "${tar##*/}" "${CHANGES[@]}" | sha256sum | cut -c1-16)
  local opts=() c
  for c in "${CHANGES[@]}" "LABEL kbz-lab.key=$key"; do opts+=(--change "$(printf %q "$c")"); done
  local -A jobs=()
  for h in "$@"; do
    (
      have=$(ssh -F "$SSH_CONFIG" -o BatchMode=yes "root@$h" \
        docker image inspect -f "'{{index .Config.Labels \"kbz-lab.key\"}}'" "$ref" 2>/dev/null) || have=""
      [[ $have != "$key" ]] || exit 0
      ssh -F "$SSH_CONFIG" -o BatchMode=yes "root@$h" docker import "${opts[@]}" - "$ref" <"$tar" >/dev/null
    ) &
    jobs[$h]=$!
  done
  local bad=()
  for h in "$@"; do wait "${jobs[$h]}" || bad+=("$h"); done
  ((${#bad[@]} == 0)) || die "importing $ref failed on: ${bad[*]}"
  log "image $ref present on: $*"
}

# Reads tests/lab/images/SPEC.image into SPEC_NAME, SPEC_PACKAGES, RUNS, ADDS, CHANGES.
read_spec() { # SPEC
  local file=$REPO/tests/lab/images/$1.image line key value
  [[ -f $file ]] || die "no image spec $file"
  SPEC_NAME="" SPEC_PACKAGES=()
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    key=${line%%=*} value=${line#*=}
    [[ $line == *=* ]] || die "$file: not key=value: $line"
    case $key in
    name) SPEC_NAME=$value ;;
    packages) read -r -a SPEC_PACKAGES <<<"$value" ;;
    run) RUNS+=("$value") ;;
    add) ADDS+=("$value") ;;
    change) CHANGES+=("$value") ;;
    *) die "$file: unknown key '$key' (name, packages, run, add, change)" ;;
    esac
  done <"$file"
  [[ -n $SPEC_NAME && ${#SPEC_PACKAGES[@]} -gt 0 ]] || die "$file needs name= and packages="
}

image_main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  while (($#)); do
    case $1 in
    --run | --add | --change)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
      --run) RUNS+=("$2") ;;
      --add)
        [[ $2 == *:/* && -f $REPO/${2%%:*} ]] || die "--add SRC:DEST needs a file of the repo and an absolute DEST: $2"
        ADDS+=("$2")
        ;;
      --change) CHANGES+=("$2") ;;
      esac
      shift 2
      ;;
    *) break ;;
    esac
  done
  local ref=${1:-} pkgs=() hosts=()
  (($# >= 1)) && shift
  if [[ $ref == @* ]]; then
    read_spec "${ref#@}"
    ref=$SPEC_NAME
    pkgs=("${SPEC_PACKAGES[@]}")
  fi
  while (($#)) && [[ $1 != -- ]]; do pkgs+=("$1"); shift; done
  (($#)) && shift
  hosts=("$@")
  case $cmd in
  build)
    [[ -n $ref && ${#pkgs[@]} -gt 0 ]] || die "usage: image.sh build [OPTION]... NAME:TAG PKG..."
    require_root
    build_image "$ref" "${pkgs[@]}"
    ;;
  load)
    [[ -n $ref && ${#pkgs[@]} -gt 0 && ${#hosts[@]} -gt 0 ]] ||
      die "usage: image.sh load [OPTION]... NAME:TAG PKG... -- HOST..."
    require_root
    local tar
    tar=$(build_image "$ref" "${pkgs[@]}")
    load_image "$ref" "$tar" "${hosts[@]}"
    ;;
  *)
    sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
  esac
}

image_main "$@"

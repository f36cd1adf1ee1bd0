# The smoke scripts' tally: source it, call `check`, `ok` or `bad` per
# finding, and end with `summary` (its status is the script's).
pass=0
fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # DESCRIPTION CMD...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
summary() {
  echo "$pass passed, $fail failed"
  ((fail == 0))
}

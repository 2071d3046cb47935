# SPDX-License-Identifier: Apache-2.0
# Helpers every guest scenario shares; tests/vm/run puts this file at /lib.sh in the guest and
# scenarios source it (`. /lib.sh`). POSIX sh for busybox. VMTEST_PREFIX (default empty) goes
# in front of every PASS/FAIL name; LOG is the ttygated log the log_* helpers read.

pass() { echo "VMTEST PASS ${VMTEST_PREFIX:-}$*"; }
FAILED=0
fail() {
  echo "VMTEST FAIL ${VMTEST_PREFIX:-}$*"
  FAILED=$((FAILED + 1))
}
# show_log_if_failed: the ttygated log as INFO lines, when a check of this scenario failed.
show_log_if_failed() {
  [ "$FAILED" -gt 0 ] && [ -e "$LOG" ] || return 0
  tail -40 "$LOG" | sed 's/^/VMTEST INFO log: /'
}
info() { echo "VMTEST INFO ${VMTEST_PREFIX:-}$*"; }
# check NAME DETAIL COMMAND...: one PASS or FAIL line (DETAIL shown on failure).
check() {
  name=$1 detail=$2
  shift 2
  if "$@"; then pass "$name"; else fail "$name: $detail"; fi
}
# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
  limit=$(($1 * 10))
  shift
  i=0
  until "$@"; do
    i=$((i + 1))
    [ $i -ge $limit ] && return 1
    sleep 0.1
  done
}
size() { if [ -e "$1" ]; then wc -c < "$1" | tr -d ' '; else echo 0; fi; }
size_at_least() { [ "$(size "$1")" -ge "$2" ]; }
log_count() { grep -c "$1" "$LOG" 2>/dev/null || true; }
log_has() { [ "$(log_count "$1")" -ge "$2" ]; }
listening() { netstat -ltn | grep -q ":$1 "; }
stat_of() { awk -v k="$1" '$1 == k {print $2}' /proc/net/tls_stat; }
# A background job that exited stays a zombie until waited for: kill -0 can't tell.
gone() { st=$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ]; }
# wait_exit PID SECONDS: the exit status of a background job, or 124 (and killed) on timeout.
wait_exit() {
  if ! wait_for "$2" gone "$1"; then
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 124
  fi
  wait "$1"
}
# client_key NAME: a P-256 key and self-signed certificate, NAME.key and NAME.crt.
# messages FILE: the RFC 2217 subnegotiations (IAC SB COM-PORT-OPTION ... IAC SE) in FILE, in hex,
# one per line.
messages() { od -An -tx1 -v "$1" | tr -d ' \n' | sed 's/fff0/fff0\n/g' | grep -o 'fffa2c.*fff0'; }
client_key() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.crt" -subj "/CN=$1" -days 2 2>/dev/null
}
# pin_client NAME: pins NAME.crt in gw.toml's state as a control client (ttygated --add-client),
# with one check; fails when it was not pinned.
pin_client() {
  ttygated --config gw.toml --add-client "$1.crt" --name "$1" --role control > add.out 2>&1
  check "provisioning pins the $1" "$(cat add.out)" grep -q "added $1 (control)" add.out
  grep -q "added $1 (control)" add.out
}
# start_tap: ptytap makes the device $W/tty (a pty whose output it echoes and copies to tap);
# TAP_PID is its pid. The scenario ends here, with a FAIL, if no device appears.
start_tap() {
  ptytap --link "$W/tty" --tap tap > ptytap.out 2>&1 &
  TAP_PID=$!
  wait_for 10 test -L "$W/tty" || { fail "ptytap: no device: $(cat ptytap.out)"; exit 1; }
}
# start_gateway DEVICE [NAME]: ttygated --config gw.toml in the background, its output in $LOG and
# its pid in GW_PID; succeeds once it listens and has DEVICE open. On failure: one FAIL line (NAME
# in front of its name), and the gateway is stopped.
start_gateway() {
  ttygated --config gw.toml > "$LOG" 2>&1 &
  GW_PID=$!
  wait_for 20 log_has "listening on" 1 && wait_for 10 log_has "device $1 open" 1 && return 0
  fail "${2:-}ttygated starts: $(tail -3 "$LOG")"
  kill "$GW_PID" 2>/dev/null
  wait_exit "$GW_PID" 10 > /dev/null
  return 1
}
# stop_gateway [NAME]: SIGTERM to the gateway, and one check (NAME in front of its name) that it
# exits with status 0 within 20 s.
stop_gateway() {
  kill -TERM "$GW_PID"
  wait_exit "$GW_PID" 20
  rc=$?
  check "${1:-}ttygated exits 0 after SIGTERM" "status $rc: $(tail -3 "$LOG")" [ $rc = 0 ]
}

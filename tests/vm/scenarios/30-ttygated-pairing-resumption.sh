# SPDX-License-Identifier: Apache-2.0
# A client paired a moment ago, and a client resuming its session, both end up in kernel TLS.
# Pairing: the (stand-in) button opens the window, confirmation is automatic, openssl s_client
# is the candidate. It sends 64 KiB before the verdict; the gateway reads none of it while
# pairing, so after the hand-over the kernel decrypts records that were already queued on the
# socket. Resumption: the paired client keeps its ticket (s_client -sess_out), comes back with
# it (-sess_in), and the resumed session, whose renewed ticket the gateway sent before the
# hand-over, relays byte-exact in the kernel; the renewed ticket resumes again.
# kernels: 6.1 new
# binaries: ttygated ptytap openssl
set -u
W=/tmp/pair
mkdir -p $W && cd $W || exit 1
PORT=7300
VMTEST_PREFIX="paired+resumed: "
. /lib.sh
LOG=$W/gw.log
tap_since() { tail -c +$(($1 + 1)) tap; }
kernel_sessions() { [ "$(stat_of TlsCurrTxSw)" = "$1" ] && [ "$(stat_of TlsCurrRxSw)" = "$1" ]; }

client_key phone || { fail "client key: openssl req failed"; exit 1; }
head -c 65536 /dev/urandom > medium
head -c 1000 /dev/urandom > record
cat > gw.toml <<EOF
[gateway]
state_dir = "$W/state"

[[port]]
name = "toy"
device = "$W/tty"
listen = ["127.0.0.1:$PORT"]

[pairing]
confirm = "auto"
auto_guard_ms = 500

[tls]
kernel = "auto"
EOF

start_tap
export TTYGATE_FAKE_BUTTON=$W/button  # a FIFO that stands in for the GPIO line: a byte is a press
start_gateway $W/tty || exit 1
check "kernel TLS available" "$(head -3 "$LOG")" log_has "Kernel TLS available" 1

# ---------------------------------------------------------------- pairing
printf x > button
check "the button opens the pairing window" "$(tail -2 "$LOG")" wait_for 10 log_has "Pairing window open" 1
tx0=$(stat_of TlsTxSw) rx0=$(stat_of TlsRxSw) t0=$(size tap)
rm -f in && mkfifo in
# -nocommands: random bytes must not be read as s_client's commands (a line starting with Q
# quits, with k or K sends a KeyUpdate).
openssl s_client -connect 127.0.0.1:$PORT -cert phone.crt -key phone.key -quiet -no_ign_eof \
  -nocommands -sess_out paired.sess < in > out1 2> err1 &
c=$!
exec 3> in
cat medium >&3  # before the verdict: it waits in the gateway's socket
{ printf 'TTYGATE PAIRED control\n'; cat medium; } > expected1
wait_for 60 size_at_least out1 "$(size expected1)"
check "the candidate is paired automatically" "$(grep -e Pairing -e closed: "$LOG")" \
  log_has "Paired \"" 1
check "the freshly paired session is handed to the kernel" "$(grep relaying "$LOG")" \
  log_has "as control, TLS in kernel space" 1
check "the kernel holds its TX and RX" \
  "TlsCurrTxSw $(stat_of TlsCurrTxSw) TlsCurrRxSw $(stat_of TlsCurrRxSw) TlsTxSw $tx0->$(stat_of TlsTxSw) TlsRxSw $rx0->$(stat_of TlsRxSw)" \
  kernel_sessions 1
tap_since "$t0" > up1
check "64 KiB sent before the verdict reach the device byte-exact, after it" "device got $(size up1) bytes" \
  cmp -s medium up1
check "the client reads the verdict, then the device's echo, byte-exact" "client got $(size out1) bytes" \
  cmp -s expected1 out1
exec 3>&-
wait_exit $c 30
rc=$?
check "the paired client ends with close_notify" "status $rc: $(cat err1)" [ $rc = 0 ]
check "the client kept a ticket" "$(cat err1)" test -s paired.sess
wait_for 10 kernel_sessions 0

# ---------------------------------------------------------------- resumption, twice
# resume N IN OUT: a session resumed with ticket IN that keeps the renewed one in OUT.
resume() {
  t0=$(size tap)
  # stdin stays open until the echo is back and the kernel's keys are checked: s_client ends at
  # its EOF, which a fixed pause reached first on a loaded host (the echo cut short).
  rm -f fifo && mkfifo fifo
  openssl s_client -connect 127.0.0.1:$PORT -cert phone.crt -key phone.key \
    -quiet -no_ign_eof -nocommands -sess_in "$2" -sess_out "$3" < fifo > "out$1" 2> "err$1" &
  c=$!
  exec 4> fifo
  cat record >&4
  wait_for 30 size_at_least "out$1" "$(size record)"
  check "resumption $1: the gateway resumed the session" "$(grep relaying "$LOG" | tail -1)" \
    wait_for 10 log_has "TLS in kernel space, resumed" "$1"
  check "resumption $1: the kernel holds its TX and RX" "TlsCurrTxSw $(stat_of TlsCurrTxSw)" kernel_sessions 1
  exec 4>&-
  tap_since "$t0" > "up$1"
  check "resumption $1: device got the client's bytes" "device got $(size "up$1") bytes" cmp -s record "up$1"
  check "resumption $1: client got the echo" "client got $(size "out$1") bytes" cmp -s record "out$1"
  wait_exit $c 30
  rc=$?
  check "resumption $1: ends with close_notify" "status $rc: $(cat "err$1")" [ $rc = 0 ]
  check "resumption $1: the client got a renewed ticket" "$(cat "err$1")" test -s "$3"
  wait_for 10 kernel_sessions 0
}
resume 1 paired.sess resumed1.sess
resume 2 resumed1.sess resumed2.sess
check "no session stayed in user space" "$(grep 'user space' "$LOG")" eval '! grep -q "TLS in user space" "$LOG"'

stop_gateway
show_log_if_failed
kill $TAP_PID 2>/dev/null
exit 0

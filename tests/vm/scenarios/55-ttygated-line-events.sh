# SPDX-License-Identifier: Apache-2.0
# RFC 2217 line events on a real UART driver: a BREAK received by the guest's second 16550
# (ttyS1) reaches an RFC 2217 session as NOTIFY-LINESTATE with break-detect (0x10), found by the
# gateway's polling of the driver's error counters (TIOCGICOUNT). The break comes from the host:
# the scenario prints "VMTEST SEND-BREAK n" and tests/vm/run sends Telnet IAC BREAK to ttyS1's
# chardev, which qemu turns into a break on the UART's receiver; the 8250 driver counts it in
# /proc/tty/driver/serial ("brk:"), which is what the scenario waits for (no fixed sleeps).
# Session A asks for break-detect and gets the first break; then A sets its mask to 0 while
# session B still asks: the second break reaches B and, by then, nothing more reached A (A's
# reply to a later query comes after anything the gateway had queued for it).
# kernels: 6.1
# binaries: ttygated openssl
set -u
W=/tmp/le
mkdir -p $W && cd $W || exit 1
PORT=7550
TTY=/dev/ttyS1
. /lib.sh
started=$(cut -d' ' -f1 /proc/uptime)

count_of() { messages "$1" | grep -cx "$2" || true; }
has_message() { [ "$(count_of "$1" "$2")" -ge 1 ]; }
# Breaks the 8250 driver counted on ttyS1 (the line shows "brk:N" once N > 0).
breaks() { n=$(sed -n 's/^1: .* brk:\([0-9]*\).*/\1/p' /proc/tty/driver/serial); echo "${n:-0}"; }
more_breaks_than() { [ "$(breaks)" -gt "$1" ]; }
# send_break: asks tests/vm/run for one BREAK on ttyS1 and waits until the driver counted it.
# A request the host missed is asked again (the count is what matters, not the marker).
REQUESTS=0
send_break() {
  before=$(breaks)
  for attempt in 1 2 3; do
    REQUESTS=$((REQUESTS + 1))
    echo "VMTEST SEND-BREAK $REQUESTS"
    wait_for 30 more_breaks_than "$before" && return 0
  done
  return 1
}

if ! grep -q '^1: uart:16550A' /proc/tty/driver/serial 2>/dev/null; then
  fail "the guest has a 16550 at ttyS1: $(cat /proc/tty/driver/serial 2>&1 | head -3)"
  exit 1
fi
client_key alice && client_key bob || { fail "client keys: openssl req failed"; exit 1; }
cat > gw.toml <<CONF
[gateway]
state_dir = "$W/state"
name = "vm-gateway"

[[port]]
name = "uart"
device = "$TTY"
listen = ["127.0.0.1:$PORT"]
CONF
for c in "alice control" "bob monitor"; do
  set -- $c
  ttygated --config gw.toml --add-client $1.crt --name $1 --role $2 > add.out 2>&1 ||
    { fail "provisioning $1: $(cat add.out)"; exit 1; }
done
LOG=$W/gw.log
start_gateway "$TTY" || exit 1
check "no RFC 2217 session, no polling of the error counters" "$(grep -i 'polled\|polling' "$LOG")" \
  sh -c "! grep -q 'error counters' $LOG"

# Telnet by hand (RFC 2217): WILL COM-PORT-OPTION, SET-LINESTATE-MASK break-detect (10, 0x10);
# A later sets the mask to 0 (10, 0) and asks for the baud rate (SET-BAUDRATE 0).
sb() { printf '\377\372\054'"$1"'\377\360'; }
feed_a() {
  printf '\377\373\054'
  sb '\012\020'
  wait_for 240 test -e a.mask0 && sb '\012\000'
  wait_for 240 test -e a.query && sb '\001\000\000\000\000'
  wait_for 240 test -e checked  # stdin stays open (s_client -quiet) until the checks are done
}
feed_b() {
  printf '\377\373\054'
  sb '\012\020'
  wait_for 240 test -e checked
}
session() {  # session NAME FEED
  $2 | openssl s_client -connect 127.0.0.1:$PORT -cert $1.crt -key $1.key -alpn ttygate-rfc2217 -quiet \
    > $1.out 2> $1.err &
}
session alice feed_a
A_PID=$!

# 0x6e: the reply to SET-LINESTATE-MASK; 0x6a: NOTIFY-LINESTATE.
if wait_for 60 has_message alice.out fffa2c6e10fff0 &&
   wait_for 20 log_has 'uart: polling the line.s error counters every 200 ms' 1; then
  pass "A's break-detect mask is answered and the error counters are polled"
else
  fail "A's mask and the polling: $(messages alice.out | tr '\n' ' ') $(cat alice.err) $(grep -i polling "$LOG")"
fi
if send_break; then
  info "the driver counted break $(breaks) after $REQUESTS request(s)"
  check "a break reaches A as NOTIFY-LINESTATE break-detect" "$(messages alice.out | tr '\n' ' ')" \
    wait_for 20 has_message alice.out fffa2c6a10fff0
else
  fail "the host's IAC BREAK reaches ttyS1: brk $(breaks) after $REQUESTS requests; $(grep '^1:' /proc/tty/driver/serial)"
fi

session bob feed_b
B_PID=$!
wait_for 60 has_message bob.out fffa2c6e10fff0 || fail "B's mask is answered: $(messages bob.out | tr '\n' ' ') $(cat bob.err)"
touch a.mask0
wait_for 20 has_message alice.out fffa2c6e00fff0 || fail "A's mask 0 is answered: $(messages alice.out | tr '\n' ' ')"
if send_break; then
  check "the next break reaches B, whose mask still asks" "$(messages bob.out | tr '\n' ' ')" \
    wait_for 20 has_message bob.out fffa2c6a10fff0
  touch a.query
  wait_for 20 sh -c "od -An -tx1 -v alice.out | tr -d ' \n' | grep -q 'fffa2c65'" ||
    fail "A's baud query is answered: $(messages alice.out | tr '\n' ' ')"
  check "with A's mask at 0 the next break gives A nothing" "$(messages alice.out | tr '\n' ' ')" \
    test "$(count_of alice.out fffa2c6a10fff0)" = 1
else
  fail "the second IAC BREAK reaches ttyS1: brk $(breaks) after $REQUESTS requests"
fi
info "A was sent: $(messages alice.out | tr '\n' ' '); B was sent: $(messages bob.out | tr '\n' ' ')"

touch checked
kill $A_PID $B_PID 2>/dev/null
for p in $A_PID $B_PID; do wait_exit $p 20 > /dev/null; done
check "polling stops when no session asks any more" "$(grep -i 'error counters' "$LOG")" \
  wait_for 20 log_has 'uart: line error counters no longer polled' 1
stop_gateway
info "scenario took $(awk -v s="$started" -v e="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN {printf "%.1f", e - s}') s"
show_log_if_failed

# SPDX-License-Identifier: Apache-2.0
# RFC 2217 line control on a real UART driver: the guest's second 16550 (ttyS1, tests/vm/run adds
# it; ttyS0 is the console). A pty forces CS8 without parity, so 8E2 can only be shown here. A
# client speaking ALPN ttygate-rfc2217 through openssl s_client sets 9600 8E2 with RTS/CTS:
# `stty -a` shows exactly that, and the replies carry the same values. Then the modem lines:
# with the UART in loopback (DSR follows DTR), a DTR change is reported as NOTIFY-MODEMSTATE by
# the gateway's polling, which runs only while a session's modem-state mask is non-zero.
# kernels: 6.1
# binaries: ttygated openssl modem_loop
set -u
W=/tmp/lc
mkdir -p $W && cd $W || exit 1
PORT=7500
TTY=/dev/ttyS1
. /lib.sh
started=$(cut -d' ' -f1 /proc/uptime)

has_message() { messages out | grep -qx "$1"; }
# stty_all WORD...: stty.out has every one of these settings, as whole words.
stty_all() {
  for w in "$@"; do grep -Eq -- "(^| )$w( |\$)" stty.out || return 1; done
}

if ! grep -q '^1: uart:16550A' /proc/tty/driver/serial 2>/dev/null; then
  fail "the guest has a 16550 at ttyS1: $(cat /proc/tty/driver/serial 2>&1 | head -3)"
  exit 1
fi
client_key phone || { fail "client key: openssl req failed"; exit 1; }
cat > gw.toml <<CONF
[gateway]
state_dir = "$W/state"
name = "vm-gateway"

[[port]]
name = "uart"
device = "$TTY"
listen = ["127.0.0.1:$PORT"]
CONF
pin_client phone || exit 1
LOG=$W/gw.log
start_gateway $TTY || exit 1
MODEM_LOOP_PROBE=1 modem_loop $TTY on > loop.out 2>&1 || fail "loopback on $TTY: $(cat loop.out)"
info "modem_loop $TTY on: $(cat loop.out)"
check "no RFC 2217 session, no modem polling" "$(grep -i 'modem' "$LOG")" sh -c "! grep -q 'polling the modem lines' $LOG"

# Telnet by hand (RFC 2217 section 3): WILL COM-PORT-OPTION, then SET-BAUDRATE 9600,
# SET-DATASIZE 8, SET-PARITY EVEN, SET-STOPSIZE 2, SET-CONTROL hardware flow; later DTR off,
# SET-MODEMSTATE-MASK 0 and DTR on.
sb() { printf '\377\372\054'"$1"'\377\360'; }
# Each step waits for the gateway's answer to the one before (the handshake may take seconds
# under TCG, and an open of the tty, such as stty's, raises DTR again).
feed() {
  printf '\377\373\054'
  sb '\001\000\000\045\200'; sb '\002\010'; sb '\003\003'; sb '\004\002'; sb '\005\003'
  wait_for 60 test -e stty.done
  sb '\005\011'   # DTR off: in loopback DSR drops, which the polling must report
  wait_for 20 has_message fffa2c6909fff0 && sleep 1.5
  sb '\013\000'   # mask 0: no more notifications, no more polling
  wait_for 20 has_message fffa2c6f00fff0
  sb '\005\010'   # DTR on: DSR rises, and nobody may be told
  wait_for 20 has_message fffa2c6908fff0 && sleep 1.5
  touch feed.done
  wait_for 90 test -e checked  # stdin stays open (s_client -quiet) until the checks are done
}
feed | openssl s_client -connect 127.0.0.1:$PORT -cert phone.crt -key phone.key -alpn ttygate-rfc2217 -quiet \
  > out 2> client.err &
CLIENT_PID=$!

if wait_for 20 has_message fffa2c6903fff0; then
  stty -F $TTY -a > stty.out 2> stty.err
  touch stty.done
  info "stty -F $TTY -a: $(tr '\n' ' ' < stty.out)"
  check "stty shows 9600 baud" "$(head -1 stty.out)" grep -q '^speed 9600 baud' stty.out
  check "stty shows 8E2: cs8 parenb -parodd -cmspar cstopb" "$(sed -n 5p stty.out)" \
    stty_all cs8 parenb -parodd -cmspar cstopb
  check "stty shows RTS/CTS flow, no XON/XOFF" "$(sed -n 5,6p stty.out | tr '\n' ' ')" stty_all crtscts -ixon
  for reply in fffa2c6500002580fff0:"SET-BAUDRATE 9600" fffa2c6608fff0:"SET-DATASIZE 8" \
               fffa2c6703fff0:"SET-PARITY EVEN" fffa2c6802fff0:"SET-STOPSIZE 2" fffa2c6903fff0:"SET-CONTROL hardware flow"; do
    check "the reply carries $(echo "$reply" | cut -d: -f2) in effect" "$(messages out | tr '\n' ' ')" \
      has_message "${reply%%:*}"
  done
else
  fail "the gateway answers the line settings: $(messages out | tr '\n' ' ') $(cat client.err) $(tail -3 "$LOG")"
fi

# Modem lines. The first NOTIFY-MODEMSTATE (when COM-PORT-OPTION came on) has DSR; after DTR off
# one arrives with DSR clear and its delta set; after the mask went to 0, none.
touch stty.done  # (if it failed above: let the modem part run anyway)
wait_for 90 test -e feed.done || fail "the modem-line steps finished: $(messages out | tr '\n' ' ')"
check "polling started for the session and stopped with its mask at 0" "$(grep -i 'modem' "$LOG")" \
  sh -c "grep -q 'uart: polling the modem lines every 200 ms' $LOG && grep -q 'uart: modem lines no longer polled' $LOG"
touch checked
kill $CLIENT_PID 2>/dev/null
wait $CLIENT_PID 2>/dev/null
info "the gateway sent: $(messages out | tr '\n' ' ')"
modem=$(messages out | sed -n 's/^fffa2c6b\(..\)fff0$/\1/p' | tr '\n' ' ')
info "NOTIFY-MODEMSTATE values: $modem"
first=$(echo "$modem" | cut -d' ' -f1)
check "the first modem state has DSR (the UART's real lines, not a pty's 0)" "$modem" \
  test -n "$first" -a $((0x${first:-0} & 0x20)) -ne 0
check "a DTR change is reported as DSR dropping, with its delta" "$modem" \
  sh -c "for v in $modem; do [ \$((0x\$v & 0x22)) -eq 2 ] && exit 0; done; exit 1"
after_mask=$(messages out | sed -n '/^fffa2c6f00fff0$/,$p' | grep -c '^fffa2c6b' || true)
check "with the mask at 0 nothing more is reported" "$after_mask notifications after the mask" \
  test "$(messages out | grep -c '^fffa2c6f00fff0$')" = 1 -a "$after_mask" = 0

stop_gateway
modem_loop $TTY off > /dev/null 2>&1
info "scenario took $(awk -v s="$started" -v e="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN {printf "%.1f", e - s}') s"
show_log_if_failed

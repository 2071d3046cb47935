# SPDX-License-Identifier: Apache-2.0
# The real ttygated on real kernel TLS, for every suite, with openssl s_client as the client:
# offload proven per session (the gateway's log and /proc/net/tls_stat), byte-exact relay through
# the pty both ways (2 MiB, the first bytes sent right after the client's Finished),
# close_notify from either side, a tampered record, an unpinned client.
# kernels: 6.1 new
# binaries: ttygated ptytap tamper_proxy openssl
set -u
W=/tmp/gw
mkdir -p $W && cd $W || exit 1
PORT=7000
PROXY=7100
BIG=2097152

. /lib.sh
count() { grep -c "$1" "$2" 2>/dev/null || true; }
# The bytes the device received since offset $1 (from the tap).
tap_since() { tail -c +$(($1 + 1)) tap; }
# Exactly one kTLS socket open (ours), and one more installed in each direction since tx0, rx0.
offloaded_once() {
  [ "$(stat_of TlsCurrTxSw)" = 1 ] && [ "$(stat_of TlsCurrRxSw)" = 1 ] &&
    [ "$(stat_of TlsTxSw)" -eq $((tx0 + 1)) ] && [ "$(stat_of TlsRxSw)" -eq $((rx0 + 1)) ]
}
none_offloaded() { [ "$(stat_of TlsCurrTxSw)" = 0 ] && [ "$(stat_of TlsCurrRxSw)" = 0 ]; }
tamper_rejected() {
  grep -q 'flipped record 4' proxy.out && grep -q 'closed: a record failed authentication.*Bad message' "$LOG"
}
refused() { [ "$1" != 0 ] && [ "$1" != 124 ] && grep -q 'refused: unknown client key' "$LOG"; }
stayed_in_kernel() { ! grep -q 'TLS in user space' "$LOG"; }

# ---------------------------------------------------------------- keys, config, device
client_key phone && client_key stranger || { fail "client keys: openssl req failed"; exit 1; }
head -c $BIG /dev/urandom > big
head -c 65536 /dev/urandom > medium
head -c 1000 /dev/urandom > record

cat > gw.toml <<EOF
[gateway]
state_dir = "$W/state"
name = "vm-gateway"

[[port]]
name = "toy"
device = "$W/tty"
listen = ["127.0.0.1:$PORT"]

[tls]
kernel = "auto"
EOF
pin_client phone

start_tap

# client SUITE WHO [--port P] ARGS...: openssl s_client to the gateway (or to port P) with WHO's
# certificate. Always run in the background: it execs.
client() {
  suite=$1 who=$2 port=$PORT
  shift 2
  if [ "${1:-}" = --port ]; then port=$2; shift 2; fi
  exec openssl s_client -connect 127.0.0.1:$port -cert $who.crt -key $who.key -ciphersuites "$suite" \
    -quiet "$@"
}

# ---------------------------------------------------------------- one suite
run_suite() {
  S=$1
  LOG=$W/gw-$S.log
  start_gateway $W/tty "$S " || return
  check "$S ttygated probed kernel TLS" "$(head -3 "$LOG")" log_has "Kernel TLS available" 1

  # 1. Client close_notify. The client sends 64 KiB through a fifo as soon as its handshake
  #    is done, waits for the echo, then closes stdin: s_client (-no_ign_eof) sends close_notify.
  tx0=$(stat_of TlsTxSw) rx0=$(stat_of TlsRxSw) t0=$(size tap)
  rm -f fifo echo1 && mkfifo fifo
  client "$S" phone -no_ign_eof -nocommands < fifo > echo1 2> client1.err &
  c=$!
  exec 3> fifo
  cat medium >&3
  wait_for 60 size_at_least echo1 65536
  check "$S session handed to the kernel (gateway log)" "$(grep relaying "$LOG")" \
    log_has "as control, TLS in kernel space" 1
  check "$S kernel has this session's TX and RX (/proc/net/tls_stat)" \
    "TlsCurrTxSw $(stat_of TlsCurrTxSw) TlsCurrRxSw $(stat_of TlsCurrRxSw) TlsTxSw $tx0->$(stat_of TlsTxSw) TlsRxSw $rx0->$(stat_of TlsRxSw)" \
    offloaded_once
  tap_since "$t0" > up1
  check "$S 64 KiB sent right after Finished reach the device byte-exact" "device got $(size up1) bytes" \
    cmp -s medium up1
  check "$S 64 KiB come back from the device byte-exact" "client got $(size echo1) bytes" cmp -s medium echo1
  exec 3>&-
  wait_exit $c 30
  rc=$?
  check "$S client close_notify: s_client ends cleanly" "status $rc: $(cat client1.err)" [ $rc = 0 ]
  check "$S client close_notify: the gateway closes the session in order" "$(grep closed: "$LOG")" \
    wait_for 10 log_has "closed: peer closed the session" 1
  check "$S session left the kernel's count" "TlsCurrTxSw $(stat_of TlsCurrTxSw)" \
    wait_for 10 none_offloaded

  # 2. Tampered record: one byte of the first application-data record flipped on its way in.
  t0=$(size tap) de0=$(stat_of TlsDecryptError)
  tamper_proxy --listen $PROXY --to $PORT > proxy.out 2>&1 &
  p=$!
  wait_for 10 listening $PROXY
  (cat record; sleep 3) | client "$S" phone --port $PROXY > echo2 2> client2.err &
  c=$!
  wait_for 30 log_has "closed: a record failed authentication" 1
  check "$S tampered record: the gateway ends the session on EBADMSG" \
    "$(grep -e closed: -e relaying "$LOG" | tail -2) / $(cat proxy.out)" \
    tamper_rejected
  check "$S tampered record was the kernel's to reject" "$(grep relaying "$LOG")" \
    log_has "as control, TLS in kernel space" 2
  check "$S tampered record: kernel counted the decrypt error" \
    "TlsDecryptError $de0->$(stat_of TlsDecryptError)" [ "$(stat_of TlsDecryptError)" -gt "$de0" ]
  sleep 0.3
  check "$S tampered record: nothing reached the device" "device got $(($(size tap) - t0)) bytes" \
    [ "$(size tap)" = "$t0" ]
  check "$S tampered record: nothing came back" "client got $(size echo2) bytes" [ "$(size echo2)" = 0 ]
  wait_exit $c 20 >/dev/null
  wait_exit $p 10 >/dev/null

  # 3. An unpinned client is refused; what it sends right after its Finished goes nowhere.
  t0=$(size tap)
  (cat record; sleep 2) | client "$S" stranger > echo3 2> client3.err &
  c=$!
  wait_exit $c 20
  rc=$?
  check "$S unpinned client refused" "s_client status $rc; $(tail -2 "$LOG")" \
    refused $rc
  check "$S unpinned client: nothing reached the device" "device got $(($(size tap) - t0)) bytes" \
    [ "$(size tap)" = "$t0" ]

  # 4. 2 MiB both ways, the first bytes right after Finished; then SIGTERM: the gateway's
  #    close_notify must end s_client cleanly (-ign_eof, so only the gateway can end it).
  t0=$(size tap)
  client "$S" phone -ign_eof < big > echo4 2> client4.err &
  c=$!
  wait_for 90 size_at_least echo4 $BIG
  tap_since "$t0" > up4
  check "$S 2 MiB client to device byte-exact" "device got $(size up4) bytes" cmp -s big up4
  check "$S 2 MiB device to client byte-exact" "client got $(size echo4) bytes" cmp -s big echo4
  check "$S 2 MiB session in kernel TLS" "$(grep relaying "$LOG")" log_has "as control, TLS in kernel space" 3
  stop_gateway "$S "
  check "$S the gateway closes the session as it shuts down" "$(grep closed: "$LOG")" \
    log_has "closed: gateway shutting down" 1
  wait_exit $c 20
  rc=$?
  check "$S gateway close_notify: s_client ends cleanly" "status $rc: $(cat client4.err)" [ $rc = 0 ]
  check "$S no session stayed in user space" "$(grep 'user space' "$LOG")" \
    stayed_in_kernel
}

for suite in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
  started=$(cut -d' ' -f1 /proc/uptime)
  run_suite $suite
  echo "VMTEST INFO $suite took $(awk -v s="$started" '{printf "%.1f", $1 - s}' /proc/uptime) s"
done
echo "VMTEST INFO tls_stat $(tr -s ' \t\n' ' ' < /proc/net/tls_stat)"
kill $TAP_PID 2>/dev/null
exit 0

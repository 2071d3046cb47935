# SPDX-License-Identifier: Apache-2.0
# Re-keying kernel TLS sessions (TLS 1.3 KeyUpdate), per suite, with the real ttygated and
# openssl s_client (user space, OpenSSL 3.0) as the client, ptytap as the device.
# On a kernel that re-keys (VMTEST_KERNEL=new, Linux >= 6.14):
#   - s_client without -nocommands sends "k" (KeyUpdate) and "K" (update_requested) between
#     blocks of data: 10 updates, byte-exact both ways, the session stays in kernel TLS, and
#     /proc/net/tls_stat counts TlsRxRekeyOk +10 and TlsTxRekeyOk +5 (one answer per K);
#   - the gateway re-keys at rekey_after_bytes (512 KiB, over both directions) during 4 MiB each
#     way, byte-exact both ways: TlsTxRekeyOk grows by one per 512 KiB (as many as the gateway
#     logs), s_client follows, and its answers re-key the gateway's receive side (every KeyUpdate
#     the kernel received was followed: TlsRxRekeyReceived = TlsRxRekeyOk, no errors);
#   - a KeyUpdate followed by a record under the old key, a garbage KeyUpdate and a KeyUpdate
#     storm (rekey_peer) each close the session with the cause logged, and nothing of the bad
#     record reaches the device.
# On 6.1 (it answers EBUSY): the same "k" ends the session with close_notify and the reason,
# and the client resumes with its ticket.
# kernels: 6.1 new
# binaries: ttygated ptytap rekey_peer openssl
set -u
W=/tmp/rekey
mkdir -p $W && cd $W || exit 1
PORT=7400
BLOCK=16384
BULK=4194304

. /lib.sh
KERNEL=${VMTEST_KERNEL:-6.1}
tap_since() { tail -c +$(($1 + 1)) tap; }
count() { grep -c "$1" "$2" 2>/dev/null || true; }
in_kernel() { [ "$(stat_of TlsCurrTxSw)" = 1 ] && [ "$(stat_of TlsCurrRxSw)" = 1 ]; }
none_offloaded() { [ "$(stat_of TlsCurrTxSw)" = 0 ] && [ "$(stat_of TlsCurrRxSw)" = 0 ]; }
stat_or_0() { v=$(stat_of "$1"); echo "${v:-0}"; }
# s_client reads its commands from the first byte of a read() of stdin: data blocks must never
# hold Q, R, k or K (they would quit, renegotiate or update keys), so they are mapped away.
safe_random() { head -c "$1" /dev/urandom | tr 'QRkK' 'qrjJ'; }
# growing_to FILE SIZE: waits until FILE has SIZE bytes; gives up once it stopped growing for
# 20 s (TCG on a busy host is slow, a stalled session is stuck).
growing_to() {
  last=-1 still=0
  while [ "$(size "$1")" -lt "$2" ]; do
    now=$(size "$1")
    if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; fi
    [ $still -ge 20 ] && return 1
    last=$now
    sleep 1
  done
}
updates_sent() { [ "$(count KEYUPDATE err)" -ge "$1" ]; }
since() { echo $(($(stat_or_0 "$1") - $2)); }

client_key phone || { fail "client key: openssl req failed"; exit 1; }
for b in 0 1 2 3 4 5 6 7 8 9 10; do safe_random $BLOCK > block$b; done

cat > gw.toml <<EOF
[gateway]
state_dir = "$W/state"
name = "vm-rekey"

[[port]]
name = "toy"
device = "$W/tty"
listen = ["127.0.0.1:$PORT"]

[tls]
kernel = "auto"
rekey_after_bytes = 524288
EOF
pin_client phone

start_tap

LOG=$W/gw.log
start_gateway $W/tty || exit 1
if [ "$KERNEL" = new ]; then
  check "the probe finds that the kernel re-keys" "$(grep 'Kernel TLS' "$LOG")" \
    log_has "Kernel TLS re-keys in place" 1
else
  check "the probe finds that the kernel cannot re-key (EBUSY)" "$(grep 'Kernel TLS' "$LOG")" \
    log_has "Kernel TLS cannot re-key (.*busy" 1
fi

# s_client SUITE ARGS...: to the gateway with the phone's key. -quiet then -no_ign_eof: quiet
# output, and commands on (-quiet alone would ignore EOF and turn them off).
s_client() {
  suite=$1
  shift
  exec openssl s_client -connect 127.0.0.1:$PORT -cert phone.crt -key phone.key -ciphersuites "$suite" \
    -quiet -no_ign_eof "$@"
}
sessions=0
relaying_in_kernel() { log_has "as control, TLS in kernel space" "$sessions"; }

# ---------------------------------------------------------------- new kernel
# 10 updates from s_client between 11 blocks, alternating k and K.
client_updates() {
  S=$1
  rx0=$(stat_or_0 TlsRxRekeyOk) tx0=$(stat_or_0 TlsTxRekeyOk) t0=$(size tap) closed0=$(log_count "closed:")
  peer_closed=$(log_count "closed: peer closed the session")
  rm -f fifo out err expected msgs && mkfifo fifo
  s_client "$S" -msg -msgfile msgs < fifo > out 2> err &
  c=$!
  exec 3> fifo
  cat block0 >&3
  cat block0 > expected
  u=1  # not i: wait_for's counter
  while [ $u -le 10 ]; do
    # The block before is back: s_client has read all of it, so the command is a read of its own.
    wait_for 30 size_at_least out "$(size expected)" || break
    if [ $((u % 2)) = 1 ]; then echo k >&3; else echo K >&3; fi
    wait_for 10 updates_sent $u || break
    cat block$u >&3
    cat block$u >> expected
    u=$((u + 1))
  done
  growing_to out "$(size expected)"
  sessions=$((sessions + 1))
  check "$S s_client sent 10 KeyUpdates (k, K) between blocks" "$(count KEYUPDATE err) sent: $(tail -2 err)" \
    [ "$(count KEYUPDATE err)" = 10 ] ||
    { grep -e '<<<\|>>>' msgs | grep -v -e RecordHeader -e InnerContent | tail -12 | sed 's/^/VMTEST INFO msgs: /'
      tail -5 "$LOG" | sed 's/^/VMTEST INFO log: /'; gone $c && info "s_client has exited"; }
  tap_since "$t0" > up
  check "$S across 10 updates the device got every block byte-exact" "device got $(size up) of $(size expected) bytes" \
    cmp -s expected up
  check "$S across 10 updates the client got every echo byte-exact" "client got $(size out) of $(size expected) bytes" \
    cmp -s expected out
  check "$S the session stayed open and in kernel TLS" \
    "$(grep -e relaying -e closed: "$LOG" | tail -2); TlsCurrTxSw $(stat_of TlsCurrTxSw)" \
    eval 'relaying_in_kernel && in_kernel && [ "$(log_count "closed:")" = "$closed0" ]'
  rx=$(($(stat_or_0 TlsRxRekeyOk) - rx0)) tx=$(($(stat_or_0 TlsTxRekeyOk) - tx0))
  info "$S client updates: TlsRxRekeyOk +$rx, TlsTxRekeyOk +$tx"
  check "$S the kernel re-keyed RX once per KeyUpdate (TlsRxRekeyOk +10)" "+$rx" [ "$rx" = 10 ]
  check "$S the kernel re-keyed TX once per update_requested (TlsTxRekeyOk +5)" "+$tx" [ "$tx" = 5 ]
  exec 3>&-
  wait_exit $c 30
  rc=$?
  check "$S s_client ends with close_notify after the updates" "status $rc: $(tail -2 err)" [ $rc = 0 ]
  check "$S the gateway saw the client's close_notify" "$(grep closed: "$LOG" | tail -1)" \
    wait_for 10 log_has "closed: peer closed the session" $((peer_closed + 1))
  wait_for 10 none_offloaded
}

# 4 MiB each way with rekey_after_bytes = 512 KiB (counted over both directions): the gateway
# starts about 16 KeyUpdates. The stall this once hit: s_client's answer arrived right behind
# data, the kernel kept it decrypted where poll() never reports it (ktls/kernel_channel.hpp).
gateway_updates() {
  S=$1
  rx0=$(stat_or_0 TlsRxRekeyOk) tx0=$(stat_or_0 TlsTxRekeyOk) got0=$(stat_or_0 TlsRxRekeyReceived)
  rxe0=$(stat_or_0 TlsRxRekeyError) txe0=$(stat_or_0 TlsTxRekeyError)
  t0=$(size tap) closed0=$(log_count "closed:") updated0=$(log_count "traffic keys were updated")
  # Through a fifo held open: at EOF of a file s_client would close before the echo is back.
  rm -f fifo out err && mkfifo fifo
  s_client "$S" -nocommands < fifo > out 2> err &
  c=$!
  exec 3> fifo
  cat bulk >&3 &
  feeder=$!
  t_start=$(cut -d' ' -f1 /proc/uptime)
  growing_to out $BULK ||
    info "$S stalled at $(size out) of $BULK: TlsTxRekeyOk +$(since TlsTxRekeyOk $tx0)," \
      "TlsRxRekeyOk +$(since TlsRxRekeyOk $rx0), TlsRxRekeyReceived +$(since TlsRxRekeyReceived $got0)"
  info "$S 4 MiB each way through the gateway's updates took" \
    "$(awk -v s="$t_start" '{printf "%.1f", $1 - s}' /proc/uptime) s"
  # OpenSSL 3.0 answers an update_requested with its next write: a last line makes s_client
  # write after the gateway's last update.
  wait_exit $feeder 10 >/dev/null
  echo "last line after the updates" >&3
  cp bulk expected && echo "last line after the updates" >> expected
  growing_to out "$(size expected)"
  sessions=$((sessions + 1))
  tap_since "$t0" > up
  check "$S gateway re-keys: 4 MiB client to device byte-exact" "device got $(size up) of $(size expected) bytes" \
    cmp -s expected up
  check "$S gateway re-keys: 4 MiB device to client byte-exact" "client got $(size out) of $(size expected) bytes" \
    cmp -s expected out
  check "$S the re-keyed session stayed open and in kernel TLS" \
    "$(grep -e relaying -e closed: "$LOG" | tail -2); TlsCurrTxSw $(stat_of TlsCurrTxSw)" \
    eval 'relaying_in_kernel && in_kernel && [ "$(log_count "closed:")" = "$closed0" ]'
  wait_for 10 eval '[ "$(since TlsRxRekeyOk $rx0)" -ge 1 ]'
  exec 3>&-
  wait_exit $c 30
  rc=$?
  check "$S s_client ends with close_notify after the gateway's updates" "status $rc: $(tail -2 err)" [ $rc = 0 ]
  wait_for 10 log_has "traffic keys were updated" $((updated0 + 1))
  logged=$(grep "traffic keys were updated" "$LOG" | tail -1 | sed 's/.*updated \([0-9]*\) times.*/\1/')
  tx=$(since TlsTxRekeyOk $tx0) rx=$(since TlsRxRekeyOk $rx0) got=$(since TlsRxRekeyReceived $got0)
  errors=$(($(since TlsRxRekeyError $rxe0) + $(since TlsTxRekeyError $txe0)))
  info "$S gateway updates over 8 MiB: TlsTxRekeyOk +$tx (gateway logged $logged), TlsRxRekeyOk +$rx," \
    "TlsRxRekeyReceived +$got, rekey errors +$errors"
  check "$S the gateway re-keyed its TX at the byte limit (TlsTxRekeyOk +15 or +16 for 8 MiB at 512 KiB)" \
    "+$tx" eval '[ "$tx" -ge 15 ] && [ "$tx" -le 16 ]'
  check "$S every TX re-key was one of the gateway's own updates (its log counts the same)" \
    "+$tx, logged ${logged:-none}" [ "$tx" = "${logged:-x}" ]
  check "$S s_client answered: its KeyUpdates re-keyed the gateway's receive side (TlsRxRekeyOk +1 or more)" \
    "+$rx for +$tx" [ "$rx" -ge 1 ]
  check "$S every KeyUpdate the kernel received was followed, none failed" \
    "received +$got, followed +$rx, errors +$errors" eval '[ "$got" = "$rx" ] && [ "$errors" = 0 ]'
  wait_for 10 none_offloaded
}

# bad_peer SUITE MODE CAUSE: rekey_peer misbehaves; the gateway closes naming CAUSE and the
# device gets only the "hello\n" that came before.
bad_peer() {
  S=$1 mode=$2 cause=$3
  t0=$(size tap) causes=$(log_count "closed: .*$cause")
  rekey_peer --port $PORT --key phone.key --cert phone.crt --suite "$S" --mode "$mode" \
    --marker "MARKER-$mode-$S" > peer.out 2>&1 &
  c=$!
  wait_exit $c 30
  rc=$?
  sessions=$((sessions + 1))
  check "$S $mode KeyUpdate: the gateway closes the session naming the cause" \
    "rekey_peer $rc: $(cat peer.out); $(grep closed: "$LOG" | tail -1)" \
    eval '[ $rc = 0 ] && wait_for 10 log_has "closed: .*$cause" $((causes + 1))'
  tap_since "$t0" > up
  check "$S $mode KeyUpdate: nothing of the bad record reached the device" "device got: $(head -c 80 up)" \
    eval '[ "$(cat up)" = hello ] && ! grep -q MARKER up'
  wait_for 10 none_offloaded
}

# ---------------------------------------------------------------- 6.1
# "k" on a kernel that cannot re-key: close_notify with the reason, then the client resumes.
update_ends_session() {
  S=$1
  rm -f fifo out err sess && mkfifo fifo
  s_client "$S" -sess_out sess < fifo > out 2> err &
  c=$!
  exec 3> fifo
  cat block0 >&3
  wait_for 30 size_at_least out $BLOCK
  sessions=$((sessions + 1))
  check "$S block before the KeyUpdate echoed byte-exact" "client got $(size out) bytes" cmp -s block0 out
  echo k >&3
  wait_exit $c 30
  rc=$?
  exec 3>&-
  check "$S k: s_client ends cleanly on the gateway's close_notify" "status $rc: $(tail -2 err)" \
    eval '[ $rc = 0 ] && grep -q KEYUPDATE err'
  check "$S k: the gateway logs why it ended the session" "$(grep closed: "$LOG" | tail -1)" \
    wait_for 10 log_has "closed: session ended: peer sent KeyUpdate but the kernel already has receive" "$n"
  wait_for 10 none_offloaded
  t0=$(size tap)
  # stdin stays open until the echo is back: s_client ends at its EOF, which a fixed pause
  # reached first on a loaded host (the echo cut short).
  rm -f fifo && mkfifo fifo
  s_client "$S" -nocommands -sess_in sess < fifo > out 2> err &
  c=$!
  exec 4> fifo
  cat block1 >&4
  wait_for 30 size_at_least out $BLOCK
  exec 4>&-
  sessions=$((sessions + 1))
  check "$S the client resumes after the close_notify, in kernel TLS" "$(grep relaying "$LOG" | tail -1)" \
    log_has "TLS in kernel space, resumed" "$n"
  tap_since "$t0" > up
  check "$S the resumed session relays byte-exact" "device $(size up), client $(size out) bytes" \
    eval 'cmp -s block1 up && cmp -s block1 out'
  wait_exit $c 30 >/dev/null
  wait_for 10 none_offloaded
}

n=0
for S in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
  n=$((n + 1))
  started=$(cut -d' ' -f1 /proc/uptime)
  if [ "$KERNEL" = new ]; then
    client_updates $S
    safe_random $BULK > bulk
    gateway_updates $S
    bad_peer $S stale "a record failed authentication"
    bad_peer $S garbage "unexpected handshake message 24"
    bad_peer $S storm "KeyUpdates with no application data between them"
  else
    update_ends_session $S
  fi
  info "$S took $(awk -v s="$started" '{printf "%.1f", $1 - s}' /proc/uptime) s"
done
info "tls_stat $(grep -e Rekey -e Decrypt /proc/net/tls_stat | tr -s ' \t\n' ' ')"

stop_gateway
show_log_if_failed
kill $TAP_PID 2>/dev/null
exit 0

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The image scenario, run in the guest by ttygate-image-test.service once the system is up
# (systemd is PID 1, the system bus runs, ttygated is installed with cmake --install but not yet
# started). Reports VMTEST lines on the console (ttyS0); powers the guest off at the end.
# Device: /dev/ttyS1, whose far end the host echoes; /dev/ttyS2 is a UART with nothing attached.
exec > /dev/ttyS0 2>&1
. /usr/local/lib/ttygate-vm/lib.sh
# wait_for SECONDS COMMAND...: lib.sh counts polls, which a slow TCG guest stretches several
# times over; here the limit is wall-clock time.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.2
  done
}
export OPENSSL_CONF=/dev/null
W=/root/work
mkdir -p $W && cd $W
DEST=org.ttygate.Gateway1
OBJ=/org/ttygate/Gateway1
IFACE=org.ttygate.Gateway1
CONF=/etc/ttygate/ttygated.toml
PORT=7000 PORT2=7001
info "systemd $(systemctl --version | head -1 | cut -d' ' -f2) up after $(cut -d' ' -f1 /proc/uptime) s"

main_pid() { systemctl show -p MainPID --value ttygated; }
journal() { journalctl -u ttygated -o cat --no-pager; }
journal_has() { journal | grep -q -- "$1"; }
json_has() {  # json_has PATTERN...: one journal entry of ttygated carries every PATTERN
  journalctl -u ttygated -o json --no-pager | { while read -r line; do
    ok=1
    for p in "$@"; do case $line in *"$p"*) ;; *) ok=0 ;; esac; done
    [ $ok = 1 ] && exit 0
  done; exit 1; }
}
client() {  # client WHO [PORT] S_CLIENT_ARGS...
  who=$1 port=$PORT; shift
  case ${1:-} in [0-9]*) port=$1; shift ;; esac
  exec openssl s_client -connect 127.0.0.1:$port -cert $who.crt -key $who.key -quiet "$@"
}
# Clients read a held-open stdin through process substitution, never a pipeline: `wait` on a
# background pipeline waits for all of it, so a `(sleep 90) | client &` cost the whole 90 s even
# when the client was done in one.
# echo_check WHO [PORT]: a payload through the gateway to the device and back, byte-exact.
echo_check() {
  head -c 2000 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 3000 > payload.$1
  # stdin stays open until the echo is in (s_client -no_ign_eof leaves at its end); a loaded
  # host can stretch a TCG guest's handshake and UART round trip to many seconds.
  client "$@" -no_ign_eof -nocommands < <(cat payload.$1; sleep 90) > got.$1 2> err.$1 &
  c=$!
  wait_for 60 size_at_least got.$1 3000
  kill $c 2>/dev/null; wait $c 2>/dev/null
  cmp -s payload.$1 got.$1
}
finish() {
  [ "$FAILED" -gt 0 ] && journal | tail -30 | sed 's/^/VMTEST INFO journal: /'
  info "scenario done after $(cut -d' ' -f1 /proc/uptime) s"
  echo "VMTEST DONE"
  systemctl poweroff --force --force
}
trap finish EXIT

client_key phone && client_key stranger && client_key newcomer || { fail "client keys: openssl req failed"; exit 1; }
useradd --system --no-create-home --groups ttygate ttyadmin
useradd --system --no-create-home visitor

# The configuration is the administrator's (a build configured with another prefix installs the
# example elsewhere).
mkdir -p /etc/ttygate
cat > $CONF <<CONF
[gateway]
state_dir = "/var/lib/ttygate"
name = "image"

[[port]]
name = "serial1"
device = "/dev/ttyS1"
baud = 115200
listen = ["127.0.0.1:$PORT"]

[pairing]
confirm = "auto"
CONF

# ------------------------------------------------------------- start: the shipped unit
systemctl start ttygated  # Type=notify: returns once READY=1 arrived (or fails)
check "systemctl start returns once READY=1 arrived: the unit is active" "$(systemctl status ttygated --no-pager 2>&1 | tail -5)" \
  [ "$(systemctl is-active ttygated)" = active ]
if [ "$(systemctl is-active ttygated)" != active ]; then
  exit 1  # nothing else can be shown without a running daemon; finish() shows the journal
fi
PID=$(main_pid)
check "ttygated runs as user ttygate" "$(ps -o user=,group= -p $PID)" [ "$(ps -o user= -p $PID)" = ttygate ]
status=/proc/$PID/status
check "no capabilities, bounding set empty (CapabilityBoundingSet=)" "$(grep Cap $status)" \
  sh -c "grep -q '^CapEff:.*0000000000000000' $status && grep -q '^CapBnd:.*0000000000000000' $status"
check "NoNewPrivileges= in force" "$(grep NoNewPrivs $status)" grep -q '^NoNewPrivs:.1' $status
check "a seccomp filter is in force (SystemCallFilter=)" "$(grep Seccomp $status)" grep -q '^Seccomp:.2' $status
check "own mount namespace (ProtectSystem=, PrivateTmp=)" "same as PID 1" \
  [ "$(readlink /proc/$PID/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ]
check "supplementary group dialout" "$(grep Groups $status)" \
  grep -q "^Groups:.*\b$(getent group dialout | cut -d: -f3)\b" $status
check "the state directory is 0700 and belongs to ttygate" "$(stat -c '%a %U' /var/lib/ttygate)" \
  [ "$(stat -c '%a %U' /var/lib/ttygate)" = "700 ttygate" ]
check "the tty opened under DevicePolicy=closed" "$(journal | tail -5)" journal_has "device /dev/ttyS1 open"
check "the loop runs on io_uring under the SystemCallFilter" "$(ls -l /proc/$PID/fd)" \
  sh -c "ls -l /proc/$PID/fd | grep -q 'io_uring'"
exposure=$(systemd-analyze security ttygated --no-pager 2>/dev/null | sed -n 's/.*Overall exposure level for ttygated.service: \([0-9.]*\).*/\1/p')
info "systemd-analyze security: exposure $exposure"
check "systemd-analyze security rates the running unit 1.5 or better" "exposure '$exposure'" \
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 1.5) }'

# ------------------------------------------------------------- the system bus and its policy
check "busctl on the system bus sees $DEST" "$(busctl --system list --no-pager | grep -i ttygate)" \
  sh -c "busctl --system list --no-pager | grep -q '^$DEST '"
# Each call runs first, so its error output can be shown by the check.
# "--": the PEM argument starts with dashes.
busctl --system -- call $DEST $OBJ $IFACE AddClient sss "$(cat phone.crt)" phone control > add.out 2>&1
check "root manages: AddClient pins the phone" "$(cat add.out)" grep -q '^o "/org/ttygate/Gateway1/client/' add.out
runuser -u ttyadmin -- busctl --system call $DEST $OBJ $IFACE StartPairing u 30 > op.out 2>&1 &&
  runuser -u ttyadmin -- busctl --system call $DEST $OBJ $IFACE StopPairing >> op.out 2>&1
rc=$?
check "group ttygate manages: StartPairing, StopPairing" "status $rc: $(cat op.out)" [ $rc = 0 ]
runuser -u visitor -- busctl --system get-property $DEST $OBJ $IFACE Ports > vis.out 2>&1
check "others read: Ports" "$(cat vis.out)" grep -q serial1 vis.out
runuser -u visitor -- busctl --system call $DEST $OBJ $IFACE StartPairing u 30 > vis2.out 2>&1
check "others may not manage: StartPairing is denied by the bus" "$(cat vis2.out)" grep -qiE 'access denied|rejected send message' vis2.out

# ------------------------------------------------------------- a pinned client relays
check "the pinned client relays through /dev/ttyS1 byte-exact" "client got $(size got.phone) bytes: $(tail -2 err.phone)" \
  echo_check phone
check "journald: the session's line carries TTYGATE_PORT, _CLIENT, _PEER, _SESSION" \
  "$(journalctl -u ttygated -o json --no-pager | grep relaying | head -1)" \
  json_has '"TTYGATE_PORT":"serial1"' '"TTYGATE_CLIENT":"' '"TTYGATE_PEER":"127.0.0.1:' '"TTYGATE_SESSION":"' 'relaying on port'

# ------------------------------------------------------------- journald MESSAGE_IDs
client stranger -no_ign_eof < <(sleep 3) > /dev/null 2>&1 &
wait_exit $! 20 > /dev/null
check "journald: an unpinned client's refusal has the authorisation-failure MESSAGE_ID" \
  "$(journal | grep refused | tail -2)" wait_for 10 json_has '"MESSAGE_ID":"6e8c0b2cb5b44bad812a193e19c07f63"' '"TTYGATE_PEER":"' 'refused'
busctl --system call $DEST $OBJ $IFACE StartPairing u 60 > /dev/null
client newcomer -no_ign_eof < <(sleep 12) > paired.out 2>&1 &
c=$!
wait_for 40 journal_has 'Paired "newcomer"'
check "journald: pairing has the client-paired MESSAGE_ID" "$(journal | grep -i pair | tail -3)" \
  json_has '"MESSAGE_ID":"157b30e75efc4ac5b304d818414b555f"' '"TTYGATE_CLIENT":"' 'Paired'
kill $c 2>/dev/null; wait $c 2>/dev/null
fpr=$(journal | sed -n 's/.*Paired "newcomer" \([^ ]*\) .*/\1/p' | head -1)
ttygatectl remove newcomer > rm.out 2>&1
check "journald: removing a client has the client-removed MESSAGE_ID" "$(cat rm.out); $(journal | grep Removed)" \
  wait_for 10 json_has '"MESSAGE_ID":"ffa946cb41e54d8ea9e5601986b3c2fa"' "\"TTYGATE_CLIENT\":\"$fpr\""

# ------------------------------------------------------------- systemctl reload
client phone -ign_eof < <(sleep 60) > held.out 2> held.err &
held=$!
wait_for 30 json_has 'relaying on port serial1' '"TTYGATE_SESSION":"'
sessions_before=$(journal | grep -c 'relaying on port serial1')
cat >> $CONF <<CONF

[[port]]
name = "serial2"
device = "/dev/ttyS2"
listen = ["127.0.0.1:$PORT2"]
CONF
check "systemctl reload succeeds" "$(journal | tail -3)" systemctl reload ttygated
check "the reload applied the new [[port]]" "$(journal | tail -5)" \
  wait_for 30 journal_has "1 ports added, 0 removed, 0 changed, 1 unchanged"
check "the new port accepts the pinned client" "$(journal | tail -5)" \
  sh -c "(sleep 4) | timeout 60 openssl s_client -connect 127.0.0.1:$PORT2 -cert phone.crt -key phone.key -quiet -no_ign_eof > /dev/null 2>&1; journalctl -u ttygated -o cat --no-pager | grep -q 'relaying on port serial2'"
check "the session on the unchanged port survived the reload" "$(journal | grep closed: | tail -2)" \
  sh -c "! journalctl -u ttygated -o cat --no-pager | grep -q 'port changed by a reload\|port removed by a reload' && kill -0 $held"
check "the unit stayed active, same main PID" "$(systemctl is-active ttygated) $(main_pid)" \
  [ "$(systemctl is-active ttygated) $(main_pid)" = "active $PID" ]

# ------------------------------------------------------------- systemctl stop: close_notify
systemctl stop ttygated
wait_exit $held 20
rc=$?
check "systemctl stop: the held session ends with the gateway's close_notify (s_client -ign_eof exits 0)" \
  "status $rc: $(tail -3 held.err)" [ $rc = 0 ]

# ------------------------------------------------------------- watchdog
systemctl start ttygated
PID=$(main_pid)
restarts=$(systemctl show -p NRestarts --value ttygated)
kill -STOP $PID
info "SIGSTOP to $PID at $(cut -d' ' -f1 /proc/uptime) s; WatchdogSec=$(systemctl show -p WatchdogUSec --value ttygated)"
wait_for 90 sh -c "[ \"\$(systemctl show -p NRestarts --value ttygated)\" -gt $restarts ] && [ \"\$(systemctl is-active ttygated)\" = active ]"
check "the watchdog restarted the stopped daemon" \
  "NRestarts $restarts -> $(systemctl show -p NRestarts --value ttygated), $(systemctl is-active ttygated), PID $PID -> $(main_pid)" \
  sh -c "[ \"\$(systemctl show -p NRestarts --value ttygated)\" -gt $restarts ] && [ $(main_pid) != $PID ] && [ \"\$(systemctl is-active ttygated)\" = active ]"
check "the journal names the watchdog" "$(journalctl -u ttygated --no-pager | grep -i watchdog | tail -2)" \
  sh -c "journalctl -u ttygated --no-pager | grep -qi 'watchdog timeout'"
info "restarted at $(cut -d' ' -f1 /proc/uptime) s"
check "after the restart the pinned client relays again" "client got $(size got.phone) bytes" echo_check phone

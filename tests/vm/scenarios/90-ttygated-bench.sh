# SPDX-License-Identifier: Apache-2.0
# Measurements in the guest, kernel TLS against user-space TLS on the same kernel and the same
# run: memory per idle session (100 sessions), relay round trip of 32-byte frames, bulk
# throughput through the pty; and the relay experiment on a kTLS socket with io_uring
# (bench/splice_relay): splice against recv/write, plus poll + non-blocking syscalls (the way
# ttygated's sessions drive the socket). TCG makes absolute figures meaningless and a busy host
# makes them noisy: every system runs at once and the latency rounds interleave them; read the
# ratios. Bulk transfers also report the TLS records that carried them (bytes per record) and the
# gateway's kernel CPU share; one more transfer each way runs under `strace -c` to count the
# gateway's system calls per MiB (strace slows that pass: only its counts are read). Asserts only that every run worked (sessions opened, echo byte-exact, kernel or user
# space as configured); figures are "VMTEST INFO bench ..." lines.
# binaries: ttygated tlsbench ptydev splice_relay openssl strace

W=/tmp/bench
mkdir -p $W && cd $W || exit 1
FRAMES=100
ROUNDS=3
BYTES=524288
SYSTEMS="auto off rw splice poll"  # ttygated tls.kernel = auto | off; splice_relay modes

VMTEST_PREFIX="bench "
. /lib.sh
# field JSON KEY: a number or boolean from tlsbench's one-line JSON.
field() { echo "$1" | sed -n "s/.*\"$2\": \([^,}]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
median() { sort -n "$1" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
slab_kib() { awk '$1 == "Slab:" {print $2}' /proc/meminfo; }
get() { eval "echo \${$1_$2}"; }  # get PORT auto → $PORT_auto
TLS="--cert phone.crt --key phone.key"

client_key phone || { fail "client key"; exit 1; }

# A gateway's udev loads the AES-NI driver at boot; this initramfs has no udev, and without it the
# kernel's TLS would encrypt with generic C AES while OpenSSL uses AES-NI.
modprobe aesni_intel 2>/dev/null || info "no aesni_intel: the kernel's TLS uses generic AES"

# Every system gets its own echo device (ptydev) and port.
DEVICES=
port=7200
for sys in $SYSTEMS; do
  port=$((port + 1))
  eval "PORT_$sys=$port"
  ptydev --link $W/tty-$sys --ctl $W/ctl-$sys > ptydev-$sys.out 2>&1 &
  DEVICES="$DEVICES $!"
  wait_for 10 test -S $W/ctl-$sys || { fail "ptydev: $(cat ptydev-$sys.out)"; exit 1; }
done

# ---------------------------------------------------------------- ttygated, kernel vs user
# start_gateway auto|off: ttygated with tls.kernel = MODE; sets PID_<mode>.
start_gateway() {
  mode=$1
  LOG=$W/gw-$mode.log
  cat > gw-$mode.toml <<EOF
[gateway]
state_dir = "$W/state-$mode"
[[port]]
name = "bench"
device = "$W/tty-$mode"
listen = ["127.0.0.1:$(get PORT $mode)"]
[tls]
kernel = "$mode"
[limits]
max_sessions = 1000             # 100 idle sessions of one client: past the defaults, on purpose
max_sessions_per_client = 1000
EOF
  ttygated --config gw-$mode.toml --add-client phone.crt --name phone --role control >/dev/null 2>&1
  ttygated --config gw-$mode.toml > "$LOG" 2>&1 &
  eval "PID_$mode=$!"
  if ! wait_for 20 log_has "device $W/tty-$mode open" 1 || ! wait_for 10 listening "$(get PORT $mode)"; then
    fail "$mode: ttygated did not start: $(tail -2 "$LOG")"
    return 1
  fi
}

closed_at_least() { [ "$(log_count 'closed:')" -ge "$1" ]; }
all_closed() { closed_at_least "$(log_count 'relaying on port')"; }

# idle auto|off: 100 idle sessions; the gateway's RSS per session (tlsbench), and the kernel's
# slab memory per session sampled while all are held. Sets RSS_<mode>, SLAB_<mode>.
idle() {
  mode=$1 space=kernel
  [ "$mode" = off ] && space=user
  LOG=$W/gw-$mode.log
  # 16 sessions opened and closed first, so what the gateway sets up once (library pages a first
  # handshake touches, tables OpenSSL builds on first use) is not spread over the ones measured.
  tlsbench idle --port "$(get PORT $mode)" $TLS --sessions 16 --warmup 0 --settle-ms 0 \
    --pids "$(get PID $mode)" > /dev/null 2>&1
  wait_for 30 all_closed && sleep 1
  n0=$(log_count "TLS in $space space") c0=$(log_count 'closed:')
  slab0=$(slab_kib)
  tlsbench idle --port "$(get PORT $mode)" $TLS --sessions 100 --warmup 0 --settle-ms 3000 \
    --pids "$(get PID $mode)" > idle.json 2> idle.err &
  t=$!
  wait_for 120 log_has "TLS in $space space" $((n0 + 100)) && sleep 1
  slab1=$(slab_kib)
  wait $t
  j=$(cat idle.json)
  eval "RSS_$mode=$(field "$j" rss_kib_per_session)"
  eval "SLAB_$mode=$(awk -v a="$slab0" -v b="$slab1" 'BEGIN {printf "%.1f", (b - a) / 100}')"
  if [ "$(field "$j" opened)" = 100 ] && log_has "TLS in $space space" $((n0 + 100)); then
    pass "$mode: 100 idle sessions in $space space"
  else
    fail "$mode: idle sessions: $j $(cat idle.err)"
  fi
  info "$mode idle: $j; kernel slab $slab0 -> $slab1 KiB"
  wait_for 30 closed_at_least $((c0 + 100))
}

# ---------------------------------------------------------------- the kTLS relay experiment
start_relay() {
  mode=$1
  splice_relay --port "$(get PORT $mode)" --link $W/tty-$mode --mode "$mode" > relay-$mode.out 2>&1 &
  eval "PID_$mode=$!"
  wait_for 10 listening "$(get PORT $mode)" || { fail "splice_relay $mode: $(cat relay-$mode.out)"; return 1; }
}

# ---------------------------------------------------------------- measuring
latency() {
  j=$(tlsbench latency --port "$(get PORT $1)" $TLS --frames $FRAMES --warmup 50 2>&1)
  [ "$(field "$j" byte_exact)" = true ] || { fail "$1: latency: $j"; return; }
  field "$j" p50_us >> lat-$1
}

# throughput SYSTEM [ROUND]: one transfer each way; its figures are appended to <figure>-SYSTEM-DIR.
throughput() {
  sys=$1 round=${2:-}
  for dir in down up; do
    j=$(tlsbench throughput --port "$(get PORT $sys)" $TLS --dir $dir --bytes $BYTES \
      --ctl $W/ctl-$sys --pids "$(get PID $sys)" 2>&1)
    [ "$(field "$j" byte_exact)" = true ] && pass "$sys: $dir throughput byte-exact${round:+ (round $round)}" ||
      fail "$sys: $dir: $j"
    for figure in mib_per_s cpu_ms_per_mib sys_ms_per_mib bytes_per_record; do
      field "$j" $figure >> $figure-$sys-$dir
    done
    info "$sys throughput $dir: $j"
  done
}

# medians SYSTEM: DOWN_, UP_, CPU_*, SYS_*, REC_* of SYSTEM from its transfers.
medians() {
  for dir in down up; do
    D=$(echo $dir | tr a-z A-Z)
    eval "${D}_$1=$(median mib_per_s-$1-$dir)"
    eval "CPU_${D}_$1=$(median cpu_ms_per_mib-$1-$dir)"
    eval "SYS_${D}_$1=$(median sys_ms_per_mib-$1-$dir)"
    eval "REC_${D}_$1=$(median bytes_per_record-$1-$dir)"
  done
}

# traced PID: a tracer is attached to PID.
traced() { grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/"$1"/status; }

# syscalls auto|off: one more transfer each way with strace counting the gateway's system calls.
syscalls() {
  sys=$1
  for dir in down up; do
    strace -f -c -q -o $W/strace-$sys-$dir -p "$(get PID $sys)" 2> strace.err &
    st=$!
    wait_for 20 traced "$(get PID $sys)" || { fail "$sys: strace did not attach: $(cat strace.err)"; kill $st; return; }
    j=$(tlsbench throughput --port "$(get PORT $sys)" $TLS --dir $dir --bytes $BYTES \
      --ctl $W/ctl-$sys --pids "$(get PID $sys)" 2>&1)
    kill -INT $st
    wait $st
    [ "$(field "$j" byte_exact)" = true ] || { fail "$sys: $dir under strace: $j"; continue; }
    # strace -c: "% time seconds usecs/call calls [errors] syscall", then a "total" row.
    per_mib=$(awk -v mib="$(awk -v b=$BYTES 'BEGIN {print b / 1048576}')" '
      $NF == "total" { total = $4 }
      $1 ~ /^[0-9.]+$/ && $NF != "total" { n[$NF] = $4 }
      END {
        printf "%d in all;", total / mib
        for (k = 0; k < 5; k++) { best = ""; for (c in n) if (best == "" || n[c] > n[best]) best = c
          if (best == "") break; printf " %s %d", best, n[best] / mib; delete n[best] }
      }' $W/strace-$sys-$dir)
    pass "$sys: $dir byte-exact under strace"
    info "$sys system calls per MiB $dir: $per_mib"
  done
}

start_gateway auto && idle auto
start_gateway off && idle off
for mode in rw splice poll; do start_relay $mode; done
rm -f lat-*
round=1
while [ $round -le $ROUNDS ]; do
  for sys in $SYSTEMS; do latency $sys; done
  round=$((round + 1))
done
for sys in $SYSTEMS; do
  eval "RTT_$sys=$(median lat-$sys)"
  [ "$(wc -l < lat-$sys)" = $ROUNDS ] && pass "$sys: round trips byte-exact in every round"
  info "$sys RTT p50 per round (us): $(tr '\n' ' ' < lat-$sys)"
done
# ttygated's two modes alternate over $ROUNDS rounds: within one guest boot a transfer's rate varies
# several-fold from one to the next (TCG on a shared host), so only paired rounds compare.
rm -f mib_per_s-* cpu_ms_per_mib-* sys_ms_per_mib-* bytes_per_record-*
round=1
while [ $round -le $ROUNDS ]; do
  for sys in auto off; do throughput $sys $round; done
  round=$((round + 1))
done
for sys in rw splice poll; do throughput $sys; done
for sys in $SYSTEMS; do medians $sys; done
for dir in down up; do
  info "ttygated MiB/s $dir per round: kernel $(tr '\n' ' ' < mib_per_s-auto-$dir)| user $(tr '\n' ' ' < mib_per_s-off-$dir)"
done
for sys in auto off; do syscalls $sys; done
for sys in $SYSTEMS; do kill "$(get PID $sys)"; done
kill $DEVICES
gcm=$(awk '$1 == "name" {n = $3} $1 == "driver" {d = $3} $1 == "priority" && n == "gcm(aes)" {print d " (" $3 ")"}' /proc/crypto)
info "the kernel's gcm(aes): $(echo $gcm)"

info "RSS KiB per idle session: kernel TLS $RSS_auto, user-space TLS $RSS_off (kernel/user $(ratio "$RSS_auto" "$RSS_off"))"
info "kernel slab KiB per idle session: kernel TLS $SLAB_auto, user-space TLS $SLAB_off"
info "ttygated RTT p50 us (32 B, median of $ROUNDS rounds): kernel $RTT_auto, user $RTT_off (kernel/user $(ratio "$RTT_auto" "$RTT_off"))"
info "ttygated MiB/s down/up (median of $ROUNDS rounds): kernel $DOWN_auto/$UP_auto, user $DOWN_off/$UP_off"
info "ttygated bytes per record down/up: kernel $REC_DOWN_auto/$REC_UP_auto, user $REC_DOWN_off/$REC_UP_off"
info "ttygated CPU ms/MiB down/up (of it kernel): kernel TLS $CPU_DOWN_auto ($SYS_DOWN_auto)/$CPU_UP_auto ($SYS_UP_auto), user-space TLS $CPU_DOWN_off ($SYS_DOWN_off)/$CPU_UP_off ($SYS_UP_off)"
info "kTLS relay RTT p50 us: recv/write $RTT_rw, splice $RTT_splice (splice/rw $(ratio "$RTT_splice" "$RTT_rw")), poll+syscalls $RTT_poll"
info "kTLS relay MiB/s down: recv/write $DOWN_rw, splice $DOWN_splice (splice/rw $(ratio "$DOWN_splice" "$DOWN_rw")), poll $DOWN_poll; up: recv/write $UP_rw, splice $UP_splice (splice/rw $(ratio "$UP_splice" "$UP_rw")), poll $UP_poll"
info "kTLS relay CPU ms/MiB down: recv/write $CPU_DOWN_rw, splice $CPU_DOWN_splice, poll $CPU_DOWN_poll; up: recv/write $CPU_UP_rw, splice $CPU_UP_splice, poll $CPU_UP_poll"
exit 0

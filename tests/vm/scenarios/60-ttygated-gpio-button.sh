# SPDX-License-Identifier: Apache-2.0
# The pairing button on a real gpiochip: gpio-sim, set up through configfs, gives a chip whose
# line levels follow a pull written to sysfs, so the test plays the button. ttygated requests the
# line through the GPIO uAPI v2, active low, debounce_ms = 1000: the kernel debounces in software
# (gpio-sim has no debouncer of its own); the period is long so that even a slow TCG guest on a
# loaded host bounces well within it. Proven: a bounce shorter than the debounce (the line pulled
# low and released at once, three times) opens no pairing window; a press held longer than the
# debounce, with contact bounce as it goes down and up, is one press and opens the window.
# Only the generic kernel flavour has gpiolib (the cloud one leaves GPIO out).
# kernels: new-generic
# modules: gpio-sim
# binaries: ttygated ptytap
set -u
W=/tmp/gpio-button
mkdir -p $W && cd $W || exit 1
PORT=7500
LINE=3
DEBOUNCE_MS=1000
VMTEST_PREFIX="gpio button: "
. /lib.sh
LOG=$W/gw.log
CFS=/sys/kernel/config/gpio-sim/ttygate

# ---------------------------------------------------------------- the simulated chip
modprobe gpio-sim || { fail "modprobe gpio-sim failed"; exit 1; }
grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs configfs /sys/kernel/config ||
  { fail "mounting configfs failed"; exit 1; }
mkdir $CFS $CFS/bank0 && echo 8 > $CFS/bank0/num_lines && echo 1 > $CFS/live ||
  { fail "gpio-sim: making a live chip through configfs failed"; exit 1; }
CHIP=$(cat $CFS/bank0/chip_name)
PULL=/sys/devices/platform/$(cat $CFS/dev_name)/$CHIP/sim_gpio$LINE/pull
check "gpio-sim made a chip with a character device" "chip '$CHIP', $PULL" \
  test -c "/dev/$CHIP" -a -w "$PULL"
# Active low: released is high. Set before ttygated requests the line, so its first level is idle.
release() { echo pull-up > "$PULL"; }
press() { echo pull-down > "$PULL"; }
release
info "chip $CHIP line $LINE, debounce $DEBOUNCE_MS ms, kernel $(uname -r)"

# ---------------------------------------------------------------- the gateway
cat > gw.toml <<EOF
[gateway]
state_dir = "$W/state"

[[port]]
name = "toy"
device = "$W/tty"
listen = ["127.0.0.1:$PORT"]

[pairing.button]
chip = "$CHIP"
line = $LINE
active_low = true
debounce_ms = $DEBOUNCE_MS
EOF
start_tap
start_gateway $W/tty || exit 1
check "ttygated watches the gpiochip line" "$(grep -i button "$LOG")" \
  log_has "Pairing button: /dev/$CHIP line $LINE" 1

# ---------------------------------------------------------------- a bounce opens nothing
# uptime_ms: the guest's clock, to show each bounce really was shorter than the debounce.
uptime_ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
t0=$(uptime_ms)
press; release
press; release
press; release
t1=$(uptime_ms)
info "three bounces in $((t1 - t0)) ms"
check "the three bounces took less than the debounce" "they took $((t1 - t0)) ms" \
  [ $((t1 - t0)) -lt $DEBOUNCE_MS ]
sleep 2  # two debounce periods: any edge the kernel let through has reached ttygated
check "a bounce shorter than the debounce is no press" "$(grep -i pairing "$LOG")" \
  [ "$(log_count "Pairing button pressed")" = 0 ]
check "a bounce opens no pairing window" "$(grep -i pairing "$LOG")" \
  [ "$(log_count "Pairing window open")" = 0 ]

# ---------------------------------------------------------------- a held press opens the window
press; release; press  # contact bounce as the button goes down
sleep 2                # held for two debounce periods
release; press; release
check "a held press opens the pairing window" "$(grep -i pairing "$LOG")" \
  wait_for 10 log_has "Pairing window open" 1
sleep 2  # the bounce at release has settled too
check "the bouncy press and release count as one press" "$(grep -i pairing "$LOG")" \
  [ "$(log_count "Pairing button pressed")" = 1 ]

stop_gateway
show_log_if_failed
kill $TAP_PID 2>/dev/null
echo 0 > $CFS/live && rmdir $CFS/bank0 $CFS
exit 0

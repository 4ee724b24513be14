# SPDX-License-Identifier: GPL-2.0-or-later
# ATX on real GPIO lines: kvmvnc-atx-probe (GpioAtxPins and AtxController,
# tests/lab/atx_probe.cpp) on gpio-sim, while this script watches the
# button lines' values and drives the LED lines through their pulls.
#
# gpio-sim chip "atx", 8 lines: 0 power button, 1 reset button, 2 power LED,
# 3 HDD LED. The LEDs are wired active-low (optocouplers pull the input low
# when lit), so their lines rest pulled up: dark.
#
# Verbs:
#   atx-up              creates the chip; prints chip=/dev/gpiochipN
#   atx-click [ARGS]    the probe clicks power (500 ms, probe ARGS added) while
#                       line 0 is sampled for 5 s; prints the probe's output,
#                       probe_rc=N, then "line0=V at=MS" for the first sample
#                       and each change (MS from the first sample, 10 ms steps)
#   atx-leds            the probe watches the LEDs while the power LED lights,
#                       the HDD LED flickers shorter than the debounce, the
#                       power LED goes dark; prints the probe's output
#   atx-probe ARGS      the probe on the chip's lines with ARGS, in the
#                       foreground; its output and probe_rc=N
#   gpio-pull LINE up|down, gpio-value LINE

CHIP=
PROBE_LINES="--power-button 0 --reset-button 1 --power-led 2 --hdd-led 3"

scenario_setup() { :; }

cmd_atx_up() {
    CHIP=$(lab_gpiosim_create atx 8) || return 1
    [ -c "$CHIP" ] || { echo "$CHIP is not a device"; return 1; }
    cmd_gpio_pull 2 up && cmd_gpio_pull 3 up || return 1
    echo "chip=$CHIP"
}

cmd_gpio_pull() { echo "pull-$2" >"$(lab_gpiosim_line atx "$1")/pull"; }
cmd_gpio_value() { echo "value=$(cat "$(lab_gpiosim_line atx "$1")/value")"; }

# Uptime in centiseconds, without a fork.
uptime_cs() {
    local up rest fraction
    read -r up rest </proc/uptime
    fraction=${up#*.}
    echo $(( ${up%.*} * 100 + ${fraction#0} ))  # "08" would read as octal
}

# Samples the value file $1 for $2 centiseconds; prints the first value and
# each change with its time from the start.
sample_changes() {
    local start now value previous=
    start=$(uptime_cs)
    now=$start
    while [ $((now - start)) -lt "$2" ]; do
        read -r value <"$1"
        now=$(uptime_cs)
        if [ "$value" != "$previous" ]; then
            echo "line0=$value at=$(( (now - start) * 10 ))"
            previous=$value
        fi
    done
}

cmd_atx_click() {
    local value probe
    value=$(lab_gpiosim_line atx 0)/value
    # shellcheck disable=SC2086
    (usleep 300000; kvmvnc-atx-probe --chip "$CHIP" $PROBE_LINES --click-ms 500 \
        --watch-ms 2000 "$@" power >/tmp/probe.out 2>&1; echo "probe_rc=$?" >>/tmp/probe.out) &
    probe=$!
    sample_changes "$value" 500 >/tmp/samples
    wait $probe
    cat /tmp/probe.out /tmp/samples
}

cmd_atx_leds() {
    local probe
    # shellcheck disable=SC2086
    kvmvnc-atx-probe --chip "$CHIP" $PROBE_LINES --watch-ms 20000 >/tmp/probe.out 2>&1 &
    probe=$!
    lab_wait 'grep -q "^leds" /tmp/probe.out' 10 || { cat /tmp/probe.out; return 1; }
    cmd_gpio_pull 2 down  # lit
    lab_wait 'grep -q "^state power=1" /tmp/probe.out' 5
    # A flicker of a few milliseconds, well under the 100 ms debounce.
    cmd_gpio_pull 3 down
    cmd_gpio_pull 3 up
    usleep 500000
    cmd_gpio_pull 2 up  # dark
    lab_wait 'grep -q "^state power=0" /tmp/probe.out' 5
    usleep 300000
    kill -TERM $probe
    wait $probe
    echo "probe_rc=$?" >>/tmp/probe.out
    cat /tmp/probe.out
}

cmd_atx_probe() {
    # shellcheck disable=SC2086
    kvmvnc-atx-probe --chip "$CHIP" "$@" 2>&1
    echo "probe_rc=$?"
}

# SPDX-License-Identifier: GPL-2.0-or-later
# Keyboard and mouse through the real HID gadget: kvmvncd writes
# /dev/hidg0 and /dev/hidg1 (or /dev/hidg2) of packaging/kvmvnc-gadget's
# gadget on dummy_udc, and the guest's own USB host is the target whose evdev
# devices this script records. Viewers connect from the host.
#
# Verbs:
#   kvmvncd-start [LAYOUT [MOUSE_MODE]]
#                           kvmvncd on the virtual screen with the gadget's
#                           keyboard and mouse (layout us, mouse absolute by
#                           default)
#   kvmvncd-stop
#   events-start            records the target's keyboard and mice events
#   events-stop             stops; prints "kbd type=T code=C value=V",
#                           "mouse ..." (absolute mouse) and "rel ..."
#                           (relative mouse) for key (1), relative (2) and
#                           absolute (3) events
#   set-led caps|none       sets the target keyboard's LEDs (as its OS would)
#   gadget-unbind / gadget-bind   unplugs / plugs the gadget (the UDC)
#   target-sees-gadget 0|1  whether the target has the keyboard, after waiting
#                           up to 15 s for the given answer

NAME="kvmvnc kvmvnc keyboard and mouse"
GADGET=/sys/kernel/config/usb_gadget/kvmvnc

scenario_setup() {
    lab_usb_modules || return 1
    kvmvnc-gadget up >/dev/null || { lab_fail "kvmvnc-gadget up failed"; return 1; }
    lab_wait '[ -n "$(lab_input_device "$NAME" kbd)" ] && [ -n "$(lab_input_device "$NAME" mouse /input1)" ] &&
              [ -n "$(lab_input_device "$NAME" mouse /input2)" ]' 20 ||
        { lab_fail "the target has no kvmvnc keyboard and mice"; cat /proc/bus/input/devices; return 1; }
}

cmd_kvmvncd_start() {
    cat >/tmp/kvmvnc.ini <<INI
[server]
listen = 0.0.0.0
port = 5900
[capture]
source = virtual
width = 640
height = 480
[virtual]
animate = false
boot_seconds = 0
[hid]
target = gadget
keyboard = /dev/hidg0
mouse = /dev/hidg1
relative_mouse = /dev/hidg2
mouse_mode = ${2:-absolute}
layout = ${1:-us}
type_interval_ms = 1
[atx]
target = none
[msd]
target = none
[log]
level = debug
INI
    kvmvncd_start /tmp/kvmvnc.ini
}

# Whether process $1 has $2 open (on any fd: the shell's own, such as the
# command channel, come before it).
has_open() {
    local fd
    for fd in /proc/"$1"/fd/*; do
        [ "$(readlink "$fd")" = "$2" ] && return 0
    done
    return 1
}

cmd_events_start() {
    local kbd mouse rel
    kbd=$(lab_input_device "$NAME" kbd) && mouse=$(lab_input_device "$NAME" mouse /input1) &&
        rel=$(lab_input_device "$NAME" mouse /input2) || { echo "no keyboard or mice"; return 1; }
    rm -f /tmp/kbd.events /tmp/mouse.events /tmp/rel.events /tmp/events.pids
    for device in "kbd $kbd" "mouse $mouse" "rel $rel"; do
        set -- $device
        cat "$2" >"/tmp/$1.events" &
        echo $! >>/tmp/events.pids
        # Events reach only readers that have the device open: return once
        # cat has it, or a report sent right after this verb is lost to the
        # recording.
        lab_wait "has_open $! '$2'" 5 || { echo "the $1 recorder did not open $2"; return 1; }
    done
    echo "recording $kbd $mouse $rel"
}

cmd_events_stop() {
    usleep 300000  # the last reports' events
    local pids name
    pids=$(cat /tmp/events.pids)
    kill $pids 2>/dev/null
    wait $pids 2>/dev/null
    for name in kbd mouse rel; do
        lab_decode_events "/tmp/$name.events" | grep -E '^type=(1|2|3) ' | sed "s/^/$name /"
    done
}

cmd_set_led() {
    local kbd value=0 zero16=00000000000000000000000000000000
    kbd=$(lab_input_device "$NAME" kbd) || return 1
    [ "$1" = caps ] && value=1
    # EV_LED (0x11) LED_CAPSL (1), then EV_SYN: two 24-byte input_events.
    echo "${zero16}110001000${value}000000${zero16}0000000000000000" | xxd -r -p >"$kbd"
}

cmd_gadget_unbind() { echo "" >"$GADGET/UDC"; }
cmd_gadget_bind() { ls /sys/class/udc | head -n 1 >"$GADGET/UDC"; }

cmd_target_sees_gadget() {
    lab_wait "[ \$([ -n \"\$(lab_input_device '$NAME' kbd)\" ] && echo 1 || echo 0) = $1 ]" 15
    [ -n "$(lab_input_device "$NAME" kbd)" ] && echo "present=1" || echo "present=0"
}

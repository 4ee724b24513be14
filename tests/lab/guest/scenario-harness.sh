# SPDX-License-Identifier: GPL-2.0-or-later
# The lab's own check: the device paths later scenarios build on work in
# this kernel. A USB gadget (boot keyboard + mass storage) on dummy_hcd seen
# by the guest's own USB host, and gpio-sim lines.
#
# Verbs:
#   gadget-up           creates and binds gadget "lab"; prints hidg=, input=, block=
#   key-roundtrip       a keyboard report for 'a' on /dev/hidgN; prints the key
#                       events the target's evdev device reports
#   led-roundtrip       Caps Lock set on the target's evdev device; prints the
#                       LED output report /dev/hidgN receives
#   disk-matches        the target reads the gadget's disk: 1 if it matches the image
#   udc-state           the UDC's state (configured, not attached...)
#   target-sees-gadget 0|1  whether the target has the gadget's keyboard, after
#                       waiting up to 10 s for the given answer
#   gadget-unbind / gadget-bind
#   gpio-up             gpio-sim chip "lab" with 8 lines; prints its /dev/gpiochipN
#   gpio-pull LINE up|down, gpio-value LINE
#   kvmvnc-gadget ARGS  packaging/kvmvnc-gadget (in the image when it exists)
#   target-inputs NAME  the target's input devices named NAME

DISK=/tmp/disk.img
HIDG=
EVENT=

scenario_setup() {
    lab_usb_modules
}

cmd_gadget_up() {
    # A 4 MiB disk whose first sector is recognisable.
    dd if=/dev/zero of="$DISK" bs=1M count=4 2>/dev/null
    echo "kvmvnc lab disk $(date +%s)" | dd of="$DISK" conv=notrunc 2>/dev/null
    lab_gadget_create lab &&
        lab_gadget_keyboard lab usb0 &&
        lab_gadget_mass_storage lab usb0 "$DISK" 0 || return 1
    echo "KVMVNC  Lab disk        0001" >"$LAB_GADGETS/lab/functions/mass_storage.usb0/lun.0/inquiry_string"
    lab_gadget_bind lab || return 1
    lab_wait '[ -e /dev/hidg0 ]' 10 || { echo "no /dev/hidg0"; return 1; }
    HIDG=/dev/hidg0
    lab_wait '[ -n "$(lab_input_device "kvmvnc lab gadget")" ]' 15 || { echo "no input device"; cat /proc/bus/input/devices; return 1; }
    EVENT=$(lab_input_device "kvmvnc lab gadget")
    lab_wait 'lab_usb_block_device KVMVNC >/dev/null' 15 || { echo "no block device"; return 1; }
    echo "hidg=$HIDG input=$EVENT block=$(lab_usb_block_device KVMVNC) udc=$(cat "$LAB_GADGETS/lab/UDC")"
}

cmd_key_roundtrip() {
    rm -f /tmp/events.bin
    # Press and release: EV_KEY, EV_SYN, EV_KEY, EV_SYN (MSC_SCAN events too).
    (timeout 3 dd if="$EVENT" of=/tmp/events.bin bs=24; true) 2>/dev/null &
    local reader=$!
    usleep 300000
    echo 0000040000000000 | xxd -r -p >"$HIDG"
    usleep 100000
    echo 0000000000000000 | xxd -r -p >"$HIDG"
    wait $reader
    lab_decode_events /tmp/events.bin | grep '^type=1 '
}

cmd_led_roundtrip() {
    rm -f /tmp/led.bin
    # Every LED report the target sends (it sends the state when it sets
    # the keyboard up, too); the last one counts.
    (timeout 3 cat "$HIDG" >/tmp/led.bin; true) 2>/dev/null &
    local reader=$!
    usleep 300000
    # EV_LED (0x11) LED_CAPSL (1) value 1, then EV_SYN: two input_event
    # records of 24 bytes, timestamps zero.
    local zero16=00000000000000000000000000000000
    echo "${zero16}1100010001000000${zero16}0000000000000000" | xxd -r -p >"$EVENT"
    wait $reader
    echo "led_report=$(xxd -p /tmp/led.bin | tail -c 3)"
}

cmd_disk_matches() {
    local block
    block=$(lab_usb_block_device KVMVNC) || return 1
    if [ "$(dd if="$block" bs=512 count=8 2>/dev/null | md5sum | cut -c1-32)" = \
        "$(dd if="$DISK" bs=512 count=8 2>/dev/null | md5sum | cut -c1-32)" ]; then
        echo "disk_matches=1"
    else
        echo "disk_matches=0"
    fi
}

cmd_udc_state() { cat /sys/class/udc/*/state; }
# Whether the target (the guest's USB host) has the gadget's keyboard: 1 or 0
# once it has settled (waits up to 10 s for the wanted $1).
cmd_target_sees_gadget() {
    lab_wait "[ \$([ -n \"\$(lab_input_device 'kvmvnc lab gadget')\" ] && echo 1 || echo 0) = $1 ]" 10
    [ -n "$(lab_input_device 'kvmvnc lab gadget')" ] && echo "present=1" || echo "present=0"
}
cmd_gadget_unbind() { lab_gadget_unbind lab; }
cmd_gadget_bind() { lab_gadget_bind lab; }

cmd_gpio_up() {
    local chip
    chip=$(lab_gpiosim_create lab 8) || return 1
    [ -c "$chip" ] || { echo "$chip is not a device"; return 1; }
    echo "chip=$chip"
}

cmd_gpio_pull() { echo "pull-$2" >"$(lab_gpiosim_line lab "$1")/pull"; }
cmd_gpio_value() { echo "value=$(cat "$(lab_gpiosim_line lab "$1")/value")"; }

# packaging/kvmvnc-gadget, the gadget kvmvncd's HID output uses (bash).
cmd_kvmvnc_gadget() { kvmvnc-gadget "$@"; }

# The target's input devices named "$*": one line each with their handlers
# and capability bitmaps (/proc/bus/input/devices).
cmd_target_inputs() {
    awk -v want="$*" '
        /^N: Name=/ { name = substr($0, 9) }
        /^H: Handlers=/ { handlers = substr($0, 13); sub(/ +$/, "", handlers) }
        /^B: EV=/ { ev = substr($0, 7) }
        /^B: ABS=/ { abs = substr($0, 8) }
        /^$/ { if (name == "\"" want "\"") print "handlers=" handlers " ev=" ev " abs=" abs; name = ""; abs = "" }
    ' /proc/bus/input/devices | sed -E 's/event[0-9]+/eventN/; s/mouse[0-9]+/mouseN/'
}

# SPDX-License-Identifier: GPL-2.0-or-later
# The hardware checks on a machine wired up as a KVM: vivid's HDMI input as
# the capture device, packaging/kvmvnc-gadget's gadget on dummy_udc.0 (the
# guest's own USB host is the target), a gpio-sim chip of 8 lines for the
# front panel (power button 0, reset button 1, power LED 2, HDD LED 3).
# Then parts are broken one at a time.
#
# Verbs:
#   check [KEY=VALUE...]     kvmvncd --check-hardware with the setup's INI file;
#                            KEY=VALUE changes one of its keys (device=,
#                            power_button=); rc is its exit status
#   kvmvncd-start            kvmvncd with that INI file (for kvmvncctl doctor)
#   kvmvncd-stop
#   gadget-unbind / gadget-bind   unplugs / plugs the gadget (its UDC)
#   vivid-unload             removes vivid: no capture device any more

VIDEO=
HDMI_INPUT=
CHIP=
GADGET=/sys/kernel/config/usb_gadget/kvmvnc

scenario_setup() {
    lab_vivid_hdmi || return 1
    # Selected, as a TC358743's only input is: the checks ask the current one.
    v4l2-ctl -d "$VIDEO" -i "$HDMI_INPUT" >/dev/null || { lab_fail "cannot set up vivid"; return 1; }
    lab_usb_modules || return 1
    kvmvnc-gadget up >/dev/null || { lab_fail "kvmvnc-gadget up failed"; return 1; }
    udc_configured || { lab_fail "the target did not configure the gadget"; return 1; }
    CHIP=$(lab_gpiosim_create panel 8) || { lab_fail "no gpio-sim chip"; return 1; }
    lab_report "event=doctor video=$VIDEO hdmi_input=$HDMI_INPUT chip=$CHIP"
}

# The INI file of the setup, with KEY=VALUE arguments replacing its values.
doctor_write_config() {
    local device=$VIDEO power_button=0 setting
    for setting in "$@"; do
        case ${setting%%=*} in
        device) device=${setting#*=} ;;
        power_button) power_button=${setting#*=} ;;
        *) echo "unknown key ${setting%%=*}"; return 2 ;;
        esac
    done
    cat >/tmp/kvmvnc.ini <<INI
[server]
listen = 0.0.0.0
port = 5900
[security]
tls_dir = /tmp/kvmvnc-tls
[capture]
source = v4l2
device = $device
input = $HDMI_INPUT
edid = default
[hid]
target = gadget
keyboard = /dev/hidg0
mouse = /dev/hidg1
[atx]
target = device
chip = $CHIP
power_button = $power_button
reset_button = 1
power_led = 2
hdd_led = 3
[msd]
target = device
storage = /tmp/images
[log]
level = debug
INI
}

cmd_check() {
    doctor_write_config "$@" || return 2
    kvmvncd --check-hardware --config /tmp/kvmvnc.ini
}

cmd_kvmvncd_start() {
    doctor_write_config "$@" || return 2
    kvmvncd_start /tmp/kvmvnc.ini
}

# Until the target's USB host has enumerated the gadget, the UDC's state is
# "default" or "addressed" (and the usb host check warns).
udc_configured() {
    lab_wait '[ "$(cat /sys/class/udc/*/state)" = configured ] && [ -c /dev/hidg0 ] &&
              [ -c /dev/hidg1 ]' 20
}

cmd_gadget_unbind() { echo "" >"$GADGET/UDC"; }
cmd_gadget_bind() {
    ls /sys/class/udc | head -n 1 >"$GADGET/UDC"
    udc_configured
}
cmd_vivid_unload() {
    modprobe -r vivid || return 1
    lab_wait "[ ! -e $VIDEO ]" 5
}

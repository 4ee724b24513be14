# SPDX-License-Identifier: GPL-2.0-or-later
# The lab guest's library (busybox ash), sourced by /init.
#
# Protocol with the host (tests/lab/lab_vm.h):
#  - the console (ttyS0) carries structured lines "KVMVNC-LAB key=value ...";
#    "KVMVNC-LAB event=ready" says the scenario is set up and commands are
#    served, anything else on the console is for humans;
#  - the command channel (ttyS1) takes lines "ID VERB ARGS..." and answers
#    each with its output as "OUT ID text" lines and then "ACK ID rc=N".
#    VERB runs the shell function cmd_VERB (defined here or by the scenario).
#
# Scenarios live in /lab/scenario-NAME.sh and define scenario_setup (and
# any cmd_* verbs of their own).

LAB_CONSOLE=/dev/console
LAB_CHANNEL=/dev/ttyS1
KVMVNCD_LOG=/tmp/kvmvncd.log
KVMVNCD_PID=

# One structured line on the console.
lab_report() {
    echo "KVMVNC-LAB $*" >"$LAB_CONSOLE"
}

# A file on the console, each line prefixed, for failures to explain themselves.
lab_dump() {  # file label
    [ -f "$1" ] || return 0
    echo "----- $2 -----" >"$LAB_CONSOLE"
    sed "s/^/$2| /" "$1" >"$LAB_CONSOLE"
    echo "----- end of $2 -----" >"$LAB_CONSOLE"
}

lab_fail() {
    lab_report "event=failed reason=\"$*\""
    lab_dump "$KVMVNCD_LOG" kvmvncd
    dmesg | tail -40 >/tmp/dmesg.txt
    lab_dump /tmp/dmesg.txt "dmesg (the end)"
}

lab_modprobe() {
    modprobe "$@" || { lab_fail "modprobe $* failed"; return 1; }
}

# Waits up to $2 seconds (default 10) for the shell condition $1.
lab_wait() {
    local tries=$(( ${2:-10} * 10 ))
    while [ "$tries" -gt 0 ]; do
        eval "$1" && return 0
        tries=$((tries - 1))
        usleep 100000
    done
    return 1
}

lab_network() {
    # virtio-net: its link is up at once (e1000's takes 2 s).
    lab_modprobe virtio_pci && lab_modprobe virtio_net || return 1
    ip link set lo up
    lab_wait '[ -e /sys/class/net/eth0 ]' 10 || { lab_fail "no eth0"; return 1; }
    ip addr add 10.0.2.15/24 dev eth0
    ip link set eth0 up
    ip route add default via 10.0.2.2
    # QEMU's user network learns the guest's MAC address from the guest's
    # own packets; until then the first forwarded connection waits for a
    # SYN retransmission (6 s). One ARP request teaches it (arping lingers
    # for a second, hence in the background).
    arping -q -c 1 -w 2 -I eth0 10.0.2.2 &
}

# --- kvmvncd -------------------------------------------------------------------

kvmvncd_listening() {  # port
    local hex
    hex=$(printf '%04X' "$1")
    # /proc/net/tcp: local address 00000000:170C, state 0A (LISTEN).
    grep -q ":$hex 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Starts kvmvncd with the INI file $1 and waits until it listens on port
# 5900 (or $2). Its stderr goes to $KVMVNCD_LOG.
kvmvncd_start() {
    local config=$1 port=${2:-5900}
    if [ -n "$KVMVNCD_PID" ] && kill -0 "$KVMVNCD_PID" 2>/dev/null; then
        echo "kvmvncd is already running"
        return 1
    fi
    : >"$KVMVNCD_LOG"
    kvmvncd --config "$config" >>"$KVMVNCD_LOG" 2>&1 &
    KVMVNCD_PID=$!
    if ! lab_wait "kvmvncd_listening $port || ! kill -0 $KVMVNCD_PID 2>/dev/null" 30 ||
        ! kill -0 "$KVMVNCD_PID" 2>/dev/null; then
        wait "$KVMVNCD_PID" 2>/dev/null
        local status=$?
        KVMVNCD_PID=
        lab_report "event=kvmvncd-exit status=$status"
        lab_fail "kvmvncd did not start"
        cat "$KVMVNCD_LOG"
        return 1
    fi
    lab_report "event=kvmvncd-started pid=$KVMVNCD_PID"
    echo "kvmvncd started, pid $KVMVNCD_PID"
}

# SIGTERM, then the exit status; SIGKILL after 10 s (status 137). Prints
# the log when the exit was not clean.
kvmvncd_stop() {
    [ -n "$KVMVNCD_PID" ] || { echo "kvmvncd is not running"; return 0; }
    kill -TERM "$KVMVNCD_PID" 2>/dev/null
    if ! lab_wait "! kill -0 $KVMVNCD_PID 2>/dev/null || [ \"\$(cut -d' ' -f3 /proc/$KVMVNCD_PID/stat 2>/dev/null)\" = Z ]" 10; then
        kill -KILL "$KVMVNCD_PID" 2>/dev/null
    fi
    wait "$KVMVNCD_PID"
    local status=$?
    KVMVNCD_PID=
    lab_report "event=kvmvncd-exit status=$status"
    if [ "$status" -ne 0 ]; then
        lab_fail "kvmvncd exited with status $status"
        cat "$KVMVNCD_LOG"
    fi
    return "$status"
}

cmd_kvmvncd_stop() { kvmvncd_stop; }
cmd_kvmvncd_log() { cat "$KVMVNCD_LOG"; }
cmd_kvmvncd_running() { [ -n "$KVMVNCD_PID" ] && kill -0 "$KVMVNCD_PID" 2>/dev/null; }

# --- the USB gadget on dummy_hcd -----------------------------------------------
# Plugged into the guest's own USB host: what a target machine would see is
# the guest's input devices (/proc/bus/input/devices) and SCSI disks.

LAB_GADGETS=/sys/kernel/config/usb_gadget

lab_usb_modules() {
    lab_modprobe dummy_hcd && lab_modprobe libcomposite && lab_modprobe usb_f_hid &&
        lab_modprobe usb_f_mass_storage && lab_modprobe usbhid && lab_modprobe hid-generic &&
        lab_modprobe evdev && lab_modprobe usb-storage && lab_modprobe sd_mod &&
        lab_modprobe sr_mod
}

# Creates gadget $1 with the IDs kvmvncd uses (FIELD-NOTES) and one configuration.
lab_gadget_create() {
    local g=$LAB_GADGETS/$1
    mkdir -p "$g" || return 1
    echo 0x1d6b >"$g/idVendor"
    echo 0x0104 >"$g/idProduct"
    echo 0x0200 >"$g/bcdUSB"
    mkdir -p "$g/strings/0x409" "$g/configs/c.1/strings/0x409"
    echo "kvmvnc-lab" >"$g/strings/0x409/manufacturer"
    echo "kvmvnc lab gadget" >"$g/strings/0x409/product"
    echo "0123456789" >"$g/strings/0x409/serialnumber"
    echo "kvmvnc" >"$g/configs/c.1/strings/0x409/configuration"
    echo 250 >"$g/configs/c.1/MaxPower"
    echo 0xa0 >"$g/configs/c.1/bmAttributes"
}

# HID function $2 in gadget $1: protocol, subclass, report length and the
# report descriptor in hex.
lab_gadget_hid() {
    local f=$LAB_GADGETS/$1/functions/hid.$2
    mkdir -p "$f" || return 1
    echo "$3" >"$f/protocol"
    echo "$4" >"$f/subclass"
    echo "$5" >"$f/report_length"
    echo "$6" | xxd -r -p >"$f/report_desc"
    ln -s "$f" "$LAB_GADGETS/$1/configs/c.1/"
}

# The boot keyboard kvmvncd's HID gadget uses: 8-byte reports, LED output report.
LAB_KEYBOARD_DESC=05010906a101050719e029e71500250175019508810295017508810395057501050819012905910295017503910395067508150025650507190029658100c0
lab_gadget_keyboard() {  # gadget function
    lab_gadget_hid "$1" "$2" 1 1 8 "$LAB_KEYBOARD_DESC"
}

# Mass storage function $2 in gadget $1 backed by file $3; $4 = 1 for a CD-ROM.
lab_gadget_mass_storage() {
    local f=$LAB_GADGETS/$1/functions/mass_storage.$2
    mkdir -p "$f" || return 1
    echo 1 >"$f/stall"
    echo "${4:-0}" >"$f/lun.0/cdrom"
    echo "${4:-0}" >"$f/lun.0/ro"
    echo 1 >"$f/lun.0/removable"
    echo "$3" >"$f/lun.0/file"
    ln -s "$f" "$LAB_GADGETS/$1/configs/c.1/"
}

# Binds gadget $1 to the UDC $2 (default: the first, dummy_udc.0).
lab_gadget_bind() {
    local udc=${2:-$(ls /sys/class/udc | head -1)}
    [ -n "$udc" ] || { echo "no UDC"; return 1; }
    echo "$udc" >"$LAB_GADGETS/$1/UDC"
}

lab_gadget_unbind() {
    echo "" >"$LAB_GADGETS/$1/UDC"
}

lab_gadget_remove() {
    local g=$LAB_GADGETS/$1 link function
    [ -d "$g" ] || return 0
    [ -n "$(cat "$g/UDC" 2>/dev/null)" ] && lab_gadget_unbind "$1"
    for link in "$g"/configs/c.1/*.*; do
        [ -L "$link" ] && rm "$link"
    done
    rmdir "$g"/configs/c.1/strings/0x409 "$g"/configs/c.1 2>/dev/null
    for function in "$g"/functions/*; do
        [ -d "$function" ] && rmdir "$function"
    done
    rmdir "$g"/strings/0x409 "$g"
}

# One vivid instance with only a video capture node (inputs: vivid's
# default webcam, TV, S-Video, HDMI): sets VIDEO to its node and
# HDMI_INPUT to the HDMI input's index, found by its name in ENUMINPUT.
lab_vivid_hdmi() {
    lab_modprobe vivid n_devs=1 node_types=0x1 || return 1
    local node
    for node in /sys/class/video4linux/video*; do
        grep -q vid-cap "$node/name" 2>/dev/null && VIDEO=/dev/${node##*/}
    done
    [ -n "$VIDEO" ] || { lab_fail "vivid made no capture node"; return 1; }
    HDMI_INPUT=$(v4l2-ctl -d "$VIDEO" --list-inputs |
        awk '/Input *:/ {index_ = $3} /Name *: HDMI/ {print index_; exit}')
    [ -n "$HDMI_INPUT" ] || { lab_fail "vivid has no HDMI input"; return 1; }
}

# input_event records (24 bytes: timeval, type, code, value) as "type code value".
lab_decode_events() {
    xxd -p -c 24 "$1" | while read -r hex; do
        type=$(( 0x${hex:34:2}${hex:32:2} ))
        code=$(( 0x${hex:38:2}${hex:36:2} ))
        value=$(( 0x${hex:46:2}${hex:44:2}${hex:42:2}${hex:40:2} ))
        echo "type=$type code=$code value=$value"
    done
}

# The /dev/input/eventN of the input device whose name contains $1 (and
# whose handlers include $2, when given: kbd, mouse0...; and whose physical
# path ends with $3, when given: /input1 is the USB device's interface 1).
lab_input_device() {
    awk -v want="$1" -v handler="${2:-event}" -v phys="${3:-}" '
        /^N: Name=/ { name = $0 }
        /^P: Phys=/ { path = substr($0, 9) }
        /^H: Handlers=/ {
            tail = substr(path, length(path) - length(phys) + 1)
            if (index(name, want) && index($0, handler) && (phys == "" || tail == phys))
                for (i = 2; i <= NF; i++) if ($i ~ /^event/) { print "/dev/input/" $i; exit }
        }
    ' /proc/bus/input/devices
}

# The block device (sdX, srX) of the USB storage device with vendor $1.
lab_usb_block_device() {
    local dev
    for dev in /sys/block/sd* /sys/block/sr*; do
        [ -e "$dev/device/vendor" ] || continue
        case "$(cat "$dev/device/vendor")" in
        "$1"*) echo "/dev/${dev##*/}"; return 0 ;;
        esac
    done
    return 1
}

# --- gpio-sim ---------------------------------------------------------------------

LAB_GPIOSIM=/sys/kernel/config/gpio-sim

# Creates simulated chip $1 with $2 lines; prints its /dev/gpiochipN.
lab_gpiosim_create() {
    if [ ! -d "$LAB_GPIOSIM" ]; then
        insmod /lib/modules/$KVMVNC_LAB_KERNEL/extra/gpio-sim-oot.ko || return 1
    fi
    local c=$LAB_GPIOSIM/$1
    mkdir -p "$c/bank0" || return 1
    echo "$2" >"$c/bank0/num_lines"
    echo 1 >"$c/live" || return 1
    echo "/dev/$(cat "$c/bank0/chip_name")"
}

# The sysfs folder of line $2 of chip $1 (value: what consumers drive;
# pull: write pull-up/pull-down to drive an input).
lab_gpiosim_line() {
    local c=$LAB_GPIOSIM/$1
    echo "/sys/devices/platform/$(cat "$c/dev_name")/$(cat "$c/bank0/chip_name")/sim_gpio$2"
}

# --- the command channel ------------------------------------------------------------

cmd_sh() { eval "$*"; }
cmd_dmesg() { dmesg; }
cmd_quit() { :; }

# Raw mode before anything is announced: bytes the host sends while the
# tty is still canonical with echo would come back or be lost.
# A scenario may set LAB_CHANNEL_OPTIONAL=1 to run without one (QEMU started
# by hand with a single serial port).
lab_channel_open() {
    if ! stty -F "$LAB_CHANNEL" raw -echo 115200 2>/dev/null; then
        [ "${LAB_CHANNEL_OPTIONAL:-0}" = 1 ] && { LAB_CHANNEL=; return 0; }
        lab_fail "cannot set up $LAB_CHANNEL"
        return 1
    fi
    exec 3<>"$LAB_CHANNEL"
}

lab_serve() {
    local line id verb rest rc
    while IFS= read -r line <&3; do
        id=${line%% *}
        rest=${line#"$id"}
        rest=${rest# }
        verb=${rest%% *}
        rest=${rest#"$verb"}
        rest=${rest# }
        [ -n "$id" ] && [ -n "$verb" ] || continue
        verb=$(echo "$verb" | sed "s/-/_/g")
        if type "cmd_$verb" >/dev/null 2>&1; then
            # Word splitting on purpose: verbs take simple words.
            # shellcheck disable=SC2086
            "cmd_$verb" $rest >/tmp/cmd.out 2>&1
            rc=$?
        else
            echo "unknown command $verb" >/tmp/cmd.out
            rc=127
        fi
        sed "s/^/OUT $id /" /tmp/cmd.out >&3
        echo "ACK $id rc=$rc" >&3
        [ "$verb" = quit ] && break
    done
    exec 3>&-
}

lab_main() {
    local scenario=$1
    lab_report "event=boot scenario=$scenario kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
    if [ ! -f "/lab/scenario-$scenario.sh" ]; then
        lab_fail "unknown scenario '$scenario'"
        poweroff -f
    fi
    . "/lab/scenario-$scenario.sh"
    if lab_modprobe configfs && mount -t configfs configfs /sys/kernel/config &&
        lab_network && scenario_setup && lab_channel_open; then
        lab_report "event=ready scenario=$scenario uptime=$(cut -d' ' -f1 /proc/uptime)"
        if [ -n "$LAB_CHANNEL" ]; then
            lab_serve
        else
            while :; do sleep 3600; done
        fi
    else
        lab_fail "setting up scenario $scenario failed"
    fi
    [ -n "$KVMVNCD_PID" ] && kvmvncd_stop >/dev/null
    lab_report "event=poweroff"
    poweroff -f
}

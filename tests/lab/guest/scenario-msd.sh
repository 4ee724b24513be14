# SPDX-License-Identifier: GPL-2.0-or-later
# The mass-storage stage on the kernel's real LUN: kvmvnc_msd_probe (the
# msd library) uploads an image into an ImageStore on tmpfs and inserts it
# into gadget "msd" on dummy_hcd through ConfigfsDrive; the guest's own USB
# host is the target that reads it back.
#
# Verbs:
#   gadget-up               gadget "msd": a removable LUN, no medium, vendor
#                           "kvmvnc"; bound; prints block=/dev/sdX
#   make-image BYTES        random bytes in $SOURCE
#   probe ARGS              kvmvnc_msd_probe lun $LUN ARGS (store ARGS: the store)
#   upload NAME             kvmvnc_msd_probe store $IMAGES upload NAME $SOURCE
#   device-equals sd|sr     waits up to 10 s until the target's device of that
#                           kind reads back $SOURCE; prints equal=1|0
#   medium-absent sd|sr     waits up to 10 s until the device has no medium;
#                           prints absent=1|0
#   hold sr|sd / release    keeps the device open (the host locks the medium)

LUN=$LAB_GADGETS/msd/functions/mass_storage.usb0/lun.0
IMAGES=/srv/images
SOURCE=/tmp/source.bin
HOLDER=

scenario_setup() {
    lab_usb_modules || return 1
    mkdir -p "$IMAGES" && mount -t tmpfs -o size=64m tmpfs "$IMAGES"
}

# The target's device of kind $1 (sd or sr) with vendor "kvmvnc".
msd_device() {
    local dev
    for dev in /sys/block/"$1"*; do
        [ -e "$dev/device/vendor" ] || continue
        case "$(cat "$dev/device/vendor")" in
        kvmvnc*) echo "/dev/${dev##*/}"; return 0 ;;
        esac
    done
    return 1
}

cmd_gadget_up() {
    lab_gadget_create msd &&
        lab_gadget_mass_storage msd usb0 "" 0 || return 1
    # The vendor the target's SCSI layer reads at enumeration.
    echo "kvmvnc  Virtual Flash   1.00" >"$LUN/inquiry_string"
    lab_gadget_bind msd || return 1
    lab_wait 'msd_device sd >/dev/null' 15 || { echo "no block device"; return 1; }
    echo "block=$(msd_device sd)"
}

cmd_make_image() {
    dd if=/dev/urandom of="$SOURCE" bs="$1" count=1 2>/dev/null
    echo "size=$(stat -c %s "$SOURCE")"
}

cmd_probe() { kvmvnc_msd_probe lun "$LUN" "$@"; }
cmd_upload() { kvmvnc_msd_probe store "$IMAGES" upload "$1" "$SOURCE"; }
cmd_store() { kvmvnc_msd_probe store "$IMAGES" "$@"; }

# Reading the device makes the target check for a medium change (UNIT
# ATTENTION after the LUN's file changed), so each try opens it afresh.
cmd_device_equals() {
    if lab_wait "dev=\$(msd_device $1) && cmp -s \"\$dev\" \"$SOURCE\"" 10; then
        echo "equal=1"
    else
        echo "equal=0 device=$(msd_device "$1") sectors=$(cat /sys/block/"$1"*/size 2>/dev/null)"
    fi
}

cmd_medium_absent() {
    if lab_wait "dev=\$(msd_device $1) && ! dd if=\"\$dev\" of=/dev/null bs=2048 count=1 2>/dev/null" 10; then
        echo "absent=1"
    else
        echo "absent=0"
    fi
}

cmd_hold() {
    local dev
    dev=$(msd_device "$1") || return 1
    sleep 600 <"$dev" &
    HOLDER=$!
    usleep 500000
}

cmd_release() {
    [ -n "$HOLDER" ] && kill "$HOLDER" && wait "$HOLDER" 2>/dev/null
    HOLDER=
    return 0
}


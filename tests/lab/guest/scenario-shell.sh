# SPDX-License-Identifier: GPL-2.0-or-later
# For people, not tests: vivid and the USB modules loaded, a shell on the
# console (ttyS0), the command channel served when QEMU has a second serial
# port. See README.md.

LAB_CHANNEL_OPTIONAL=1

scenario_setup() {
    lab_modprobe vivid n_devs=1 node_types=0x1 && lab_usb_modules || return 1
    echo "kvmvnc lab shell: kvmvncd, v4l2-ctl, kvmvnc-gadget and busybox are here;" >"$LAB_CONSOLE"
    echo "lab_gadget_* and lab_gpiosim_* from /lab/lib.sh too. 'poweroff -f' ends it." >"$LAB_CONSOLE"
    setsid -c sh -c '. /lab/lib.sh; . /lab/image.env; exec sh' <>/dev/ttyS0 >&0 2>&1 &
}

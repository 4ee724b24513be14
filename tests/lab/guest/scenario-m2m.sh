# SPDX-License-Identifier: GPL-2.0-or-later
# The V4L2 memory-to-memory encoder (encode::V4l2M2mEncoder) on a real
# stateful encoder: vicodec (built out of tree with v4l2-mem2mem, see
# build-image.sh), multi-planar like the Pi's bcm2835-codec, coding FWHT
# instead of H.264. kvmvnc-m2m-probe drives the encoder.
#
# Verbs:
#   probe STEP...        kvmvnc-m2m-probe $ENCODER FWHT STEP... (its usage)
#   probe-raw RAW STEP...  the same with the raw format RAW (YU12, NV12) forced
#   formats              v4l2-ctl's list of the encoder's formats
#   kvmvncd-h264 MODE    kvmvncd with [h264] on, encoder = MODE and
#                        encoder_device = $ENCODER; prints its H.264 log lines
#
# /tmp/unbind takes vicodec's device away (its nodes go, open ones fail with
# ENODEV): the probe runs it between two pictures ("sh /tmp/unbind").

ENCODER=

scenario_setup() {
    lab_modprobe vicodec multiplanar=1 || return 1
    local node
    for node in /sys/class/video4linux/video*; do
        [ "$(cat "$node/name" 2>/dev/null)" = stateful-encoder ] && ENCODER=/dev/${node##*/}
    done
    [ -n "$ENCODER" ] || { lab_fail "vicodec has no stateful-encoder node"; return 1; }
    cat >/tmp/unbind <<'SCRIPT'
#!/bin/sh
for device in /sys/bus/platform/drivers/vicodec/vicodec*; do
    echo "${device##*/}" >/sys/bus/platform/drivers/vicodec/unbind
done
SCRIPT
    chmod 755 /tmp/unbind
    lab_report "event=vicodec encoder=$ENCODER"
}

cmd_probe() { kvmvnc-m2m-probe "$ENCODER" FWHT "$@"; }
cmd_probe_raw() {
    local raw=$1
    shift
    kvmvnc-m2m-probe "$ENCODER" "FWHT:$raw" "$@"
}
cmd_formats() { v4l2-ctl -d "$ENCODER" --list-formats-out-ext --list-formats-ext 2>&1 | head -40; }

cmd_kvmvncd_h264() {
    cat >/tmp/m2m.ini <<INI
[server]
listen = 0.0.0.0
port = 5900
[capture]
source = virtual
width = 640
height = 480
[hid]
target = virtual
[atx]
target = none
[msd]
target = none
[h264]
enabled = true
encoder = $1
encoder_device = $ENCODER
INI
    kvmvncd_start /tmp/m2m.ini || return 1
    kvmvncd_stop || return 1
    grep 'H\.264' "$KVMVNCD_LOG"
}

# SPDX-License-Identifier: GPL-2.0-or-later
# Capture on vivid: kvmvncd with source = v4l2 on vivid's HDMI input; the
# host drives the input's signal through vivid's controls.
#
# Verbs:
#   kvmvncd-start FORMAT [KEY=VALUE...]  kvmvncd on vivid's HDMI input in FORMAT
#                                         (extra [capture] keys, e.g. fps=30);
#                                         returns once its first picture is in
#   kvmvncd-launch FORMAT [KEY=VALUE...] the same, returning once it listens
#                                         (for a daemon that gets no picture)
#   kvmvncd-reload FORMAT [KEY=VALUE...] rewrites its INI file the same way and
#                                         sends SIGHUP; returns once the reload is done
#   kvmvncd-stop                          SIGTERM; rc is kvmvncd's exit status
#   v4l2 ARGS...                          v4l2-ctl -d <vivid's node> ARGS
#   timings NAME                          the HDMI input switches to the DV timings
#                                         named NAME in vivid's menu (1024x768p60)
#   signal ok|none|nolock|range           vivid's DV timings signal mode
#   disconnect                            vivid's disconnect button (the device
#                                         node answers ENODEV until its last user
#                                         closes it)
#   input-status                          the HDMI input's status bits and DV query
#   edid-clear                            empties the HDMI input's EDID (a TC358743
#                                         after boot): its DV query says no link
#   edid-get                              the HDMI input's EDID in hex (v4l2-ctl)

VIDEO=
HDMI_INPUT=

scenario_setup() {
    lab_vivid_hdmi || return 1
    # The HDMI input selected, and vivid's text overlay (counters, control
    # values in the first lines) off so the picture is the pattern only.
    v4l2-ctl -d "$VIDEO" -i "$HDMI_INPUT" >/dev/null &&
        v4l2-ctl -d "$VIDEO" -c osd_text_mode=2 || { lab_fail "cannot set up vivid"; return 1; }
    lab_report "event=vivid device=$VIDEO hdmi_input=$HDMI_INPUT"
}

# The INI file for kvmvncd on the HDMI input in format $1 with the extra
# [capture] keys $2...
kvmvncd_write_config() {
    local format=$1 setting
    shift
    {
        echo "[server]"
        echo "listen = 0.0.0.0"
        echo "port = 5900"
        echo "[capture]"
        echo "source = v4l2"
        echo "device = $VIDEO"
        echo "input = $HDMI_INPUT"
        echo "format = $format"
        for setting in "$@"; do
            echo "${setting%%=*} = ${setting#*=}"
        done
        echo "[log]"
        echo "level = debug"
    } >/tmp/kvmvnc.ini
}

cmd_kvmvncd_launch() {
    kvmvncd_write_config "$@"
    kvmvncd_start /tmp/kvmvnc.ini
}

cmd_kvmvncd_reload() {
    local reloads
    [ -n "$KVMVNCD_PID" ] || { echo "kvmvncd is not running"; return 1; }
    reloads=$(grep -c "reload: done" "$KVMVNCD_LOG")
    kvmvncd_write_config "$@"
    kill -HUP "$KVMVNCD_PID"
    lab_wait "[ \$(grep -c 'reload: done' \"\$KVMVNCD_LOG\") -gt $reloads ]" 10 ||
        { echo "kvmvncd did not reload"; cat "$KVMVNCD_LOG"; return 1; }
}

cmd_kvmvncd_start() {
    kvmvncd_write_config "$@"
    kvmvncd_start /tmp/kvmvnc.ini || return 1
    # Until the first picture is in, the framebuffer has its start-up size
    # (1280x720 for V4L2 sources, src/app/daemon.cpp) and a first picture of
    # another size resizes it. Viewers connect after that, so each test
    # starts from the picture's own size (CaptureLab's
    # ViewerInItsHandshakeFollowsAResize races a resize on purpose).
    local size
    lab_wait 'grep -q "capture: picture from" "$KVMVNCD_LOG"' 30 ||
        { echo "kvmvncd captures no picture"; cat "$KVMVNCD_LOG"; return 1; }
    size=$(grep -m1 "capture: picture from" "$KVMVNCD_LOG" | grep -o ' [0-9]*x[0-9]*' | head -n1)
    size=${size# }
    if [ "$size" != 1280x720 ]; then
        lab_wait "grep -q 'rfb: resolution now $size' \"\$KVMVNCD_LOG\"" 30 ||
            { echo "kvmvncd's framebuffer did not become $size"; cat "$KVMVNCD_LOG"; return 1; }
    fi
}

cmd_v4l2() { v4l2-ctl -d "$VIDEO" "$@"; }

# The index of the first entry named $1 in vivid's DV timings menu.
dv_timings_index() {
    v4l2-ctl -d "$VIDEO" --list-ctrls-menus | awk -v want="$1" '
        /^ *dv_timings / { menu = 1; next }
        menu && /^ *[a-z_]+ 0x/ { exit }
        menu { split($0, part, ": "); if (part[2] == want) { sub(/^[ \t]*/, "", part[1]); print part[1]; exit } }'
}

cmd_timings() {
    local index
    index=$(dv_timings_index "$1")
    [ -n "$index" ] || { echo "vivid has no DV timings named $1"; return 1; }
    # One VIDIOC_S_EXT_CTRLS: the mode reads the selected timings when it is set.
    v4l2-ctl -d "$VIDEO" -c dv_timings_signal_mode=4,dv_timings="$index" || return 1
    echo "dv_timings=$index ($1)"
}

cmd_signal() {
    local mode
    case $1 in
    ok) mode=0 ;;  # "Current DV Timings"
    none) mode=1 ;;
    nolock) mode=2 ;;
    range) mode=3 ;;
    *) echo "signal ok|none|nolock|range"; return 2 ;;
    esac
    v4l2-ctl -d "$VIDEO" -c dv_timings_signal_mode=$mode
}

cmd_disconnect() { v4l2-ctl -d "$VIDEO" -c disconnect=1; }

cmd_input_status() {
    v4l2-ctl -d "$VIDEO" --list-inputs | awk -v want="$HDMI_INPUT" '
        /Input *:/ { this = ($3 == want) } this && /Status/ { print }'
    v4l2-ctl -d "$VIDEO" --query-dv-timings 2>&1 | head -3
}

cmd_edid_clear() { v4l2-ctl -d "$VIDEO" --clear-edid="$HDMI_INPUT"; }

cmd_edid_get() { v4l2-ctl -d "$VIDEO" --get-edid=pad="$HDMI_INPUT",format=hex; }

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# packaging/kvmvnc-gadget on a stand-in configfs (a plain directory): what
# it writes, and that running it twice changes nothing. Removal needs real
# configfs semantics and is tested in the virtual appliance lab.
set -euo pipefail
script=$1
kvmvncd=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usb_gadget"
export KVMVNC_CONFIGFS=$root KVMVNCD=$kvmvncd
g=$root/usb_gadget/kvmvnc

fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { [[ "$(cat "$1")" == "$2" ]] || fail "$1 is '$(cat "$1")', expected '$2'"; }

"$script" up dummy_udc.0 >/dev/null
expect "$g/idVendor" 0x1d6b
expect "$g/idProduct" 0x0104
expect "$g/bcdUSB" 0x0200
expect "$g/configs/c.1/bmAttributes" 0xa0
expect "$g/configs/c.1/MaxPower" 250
expect "$g/functions/hid.usb0/protocol" 1
expect "$g/functions/hid.usb0/subclass" 1
expect "$g/functions/hid.usb0/report_length" 8
expect "$g/functions/hid.usb1/report_length" 7
expect "$g/functions/hid.usb2/protocol" 2
expect "$g/functions/hid.usb2/subclass" 1
expect "$g/functions/hid.usb2/report_length" 5
cmp -s "$g/functions/hid.usb0/report_desc" <("$kvmvncd" --hid-descriptor keyboard) ||
    fail "keyboard report descriptor differs from kvmvncd's"
cmp -s "$g/functions/hid.usb1/report_desc" <("$kvmvncd" --hid-descriptor mouse) ||
    fail "mouse report descriptor differs from kvmvncd's"
cmp -s "$g/functions/hid.usb2/report_desc" <("$kvmvncd" --hid-descriptor relative-mouse) ||
    fail "relative mouse report descriptor differs from kvmvncd's"
for f in hid.usb0 hid.usb1 hid.usb2 mass_storage.usb0; do
    [[ -L "$g/configs/c.1/$f" ]] || fail "function $f not linked"
done
expect "$g/UDC" dummy_udc.0
before=$(find "$root" -printf '%p %s\n' | sort)
output=$("$script" up dummy_udc.0)
[[ "$output" == *"already bound"* ]] || fail "second up did not notice the bound gadget"
[[ "$(find "$root" -printf '%p %s\n' | sort)" == "$before" ]] || fail "second up changed files"

# --owner: the LUN's attributes and the UDC go to kvmvncd's user (nobody
# here, which every Debian system has), on a new gadget and on one already up.
for run in new again; do
    if [[ $run == new ]]; then
        rm -rf "$g"
        mkdir -p "$g/functions/mass_storage.usb0/lun.0"  # configfs makes it with the function
        touch "$g/functions/mass_storage.usb0/lun.0/file"
        "$script" up dummy_udc.0 --owner nobody >/dev/null
    fi
    [[ $run == again ]] && "$script" up --owner nobody >/dev/null
    for f in "$g/UDC" "$g/functions/mass_storage.usb0/lun.0/file"; do
        [[ "$(stat -c %U "$f")" == nobody ]] || fail "$f is not owned by nobody ($run)"
    done
done
"$script" up --owner no-such-user >/dev/null 2>&1 && fail "an unknown owner was accepted"
"$script" up --bogus 2>/dev/null && fail "an unknown option was accepted"
echo "1 passed, 0 failed"

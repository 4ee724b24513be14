#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian package installed into a Debian 12 system and booted: the
# package built from this build tree is installed with apt into a copy of a
# cached bookworm root (systemd, udev, Debian's kernel, the runtime libraries
# Depends names), which then boots under QEMU (TCG) from a virtio disk with
# systemd as init. From the host it asserts that kvmvnc-gadget.service and
# kvmvncd.service are active on the packaged configuration, that the gadget
# is bound to dummy_udc.0 and /dev/hidg0 belongs to group kvmvnc, that a real
# viewer (vncsnapshot) gets vivid's picture at 1920x1080 through the
# forwarded port, that kvmvncctl status answers, that an image kvmvncctl
# uploads and inserts is what the target's USB host reads, that `systemctl reload`
# keeps the daemon running, and what upgrade, remove and purge do to the
# running system.
#
#   install_boot_test.sh BUILD_DIR
#
# What the test adds to the installed system (install-boot/guest/, all of it
# test-only): vivid and dummy_hcd loaded at boot (the capture dongle and the
# Pi's USB device controller, virtual), DHCP on QEMU's user network, a unit
# that reports to the host on /dev/ttyS1, a fixed machine-id; and what the
# package's postinst asks of the administrator: the VNC password
# (vncpasswd /etc/kvmvnc/vncpasswd, chown kvmvnc).
#
# The root is cached in ${KVMVNC_INSTALL_CACHE:-/var/cache/kvmvnc-install},
# rebuilt (mmdebstrap, ~200 MB of downloads) when the wanted package list
# differs from the one it was made with. Needs root (mmdebstrap, chroot).
# Fails, never skips, when it cannot build or boot its guest; exits 77
# ("skipped") only with KVMVNC_LAB_SKIP=1 outside CI, like the lab.
#
# Environment: KVMVNC_DEBIAN_MIRROR, KVMVNC_DEBIAN_SECURITY_MIRROR (as
# packaging/dev.sh), KVMVNC_INSTALL_KEEP=1 keeps the work folder's disk image.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: install_boot_test.sh BUILD_DIR}" && pwd)
work=$build/tests/packaging/install-boot
cache=${KVMVNC_INSTALL_CACHE:-/var/cache/kvmvnc-install}
mirror=${KVMVNC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${KVMVNC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
boot_timeout=${KVMVNC_INSTALL_BOOT_TIMEOUT:-300}
start=$SECONDS

log() { printf 'install-test: [%3d s] %s\n' "$((SECONDS - start))" "$*" >&2; }
diagnostics() {
    local file
    for file in "$work/install.log" "$work/console.log" "$work/channel-all.log" "$work/channel.log" \
        "$work/qemu.log"; do
        [[ -s $file ]] || continue
        echo "----- $file (last 150 lines)" >&2
        tail -n 150 "$file" | sed 's/\r$//' >&2
    done
}
fail() {
    printf 'install-test: FAILED: %s\n' "$*" >&2
    diagnostics
    exit 1
}

if [[ ${KVMVNC_LAB_SKIP:-} == 1 && ${CI:-} != true ]]; then
    log "skipped (KVMVNC_LAB_SKIP=1)"
    exit 77
fi
((EUID == 0)) || fail "needs root (mmdebstrap, chroot)"
need() { command -v "$1" >/dev/null || fail "$1 is missing (package ${2:-$1})"; }
need mmdebstrap
need mke2fs e2fsprogs
need qemu-system-x86_64 qemu-system-x86
need cpack cmake
need dpkg-deb dpkg
need vncsnapshot
need curl
need convert imagemagick
need flock util-linux
need unshare util-linux

# --- the package ---------------------------------------------------------------

rm -rf "$work"
mkdir -p "$work"
log "packaging $build"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/cpack" \
    -D CPACK_OUTPUT_FILE_PREFIX="$work" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/kvmvnc_*.deb)
rm -rf "$work/cpack"
# The host runs the packaged kvmvncctl against the guest.
dpkg-deb -x "$deb" "$work/pkg"

# The runtime packages Depends and Recommends name (versions and
# alternatives' second choices dropped): the cached root has them, so the
# install below fetches nothing.
package_names() { tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/\[.*\]//; s/ //g' | grep -v '^$'; }
mapfile -t deb_packages < <({ dpkg-deb -f "$deb" Depends; echo ,; dpkg-deb -f "$deb" Recommends; } |
    package_names | sort -u)

# --- the cached root --------------------------------------------------------------

# What a Debian 12 machine with systemd has (udev, networkd in systemd),
# Debian's kernel, and kvmvnc's runtime packages.
root_packages=(systemd systemd-sysv udev kmod linux-image-amd64 "${deb_packages[@]}")
setup_sum=$(cd "$here/install-boot/root-setup" && find . -type f | LC_ALL=C sort | xargs cat | md5sum | cut -c1-8)
wanted="bookworm apt-variant setup=$setup_sum ${root_packages[*]}"
root=$cache/root

mkdir -p "$cache" || fail "cannot create the cache folder $cache"
exec 9>"$cache/.lock"
flock 9
if [[ ! -f $root/.kvmvnc-root || "$(cat "$root/.kvmvnc-root")" != "$wanted" ]]; then
    log "making a bookworm root in $root: ${root_packages[*]}"
    rm -rf "$root.new"
    t=$SECONDS
    # The setup hook puts the initramfs configuration in place before the
    # kernel's postinst builds the initramfs.
    mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${root_packages[*]}")" \
        --setup-hook="sync-in $here/install-boot/root-setup /" \
        bookworm "$root.new" \
        "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
        "deb $security_mirror bookworm-security main" >"$cache/mmdebstrap.log" 2>&1 ||
        { tail -n 50 "$cache/mmdebstrap.log" >&2; fail "mmdebstrap could not make the root (network? mirror $mirror)"; }
    compgen -G "$root.new/boot/vmlinuz-*" >/dev/null && compgen -G "$root.new/boot/initrd.img-*" >/dev/null ||
        fail "the new root has no kernel or no initramfs in /boot"
    echo "$wanted" >"$root.new/.kvmvnc-root"
    rm -rf "$root"
    mv "$root.new" "$root"
    log "root made in $((SECONDS - t)) s ($(du -sm "$root" | cut -f1) MB)"
fi

# --- this run's system: the root, the package installed, the test's files ---------

guest=$work/root
log "copying the cached root"
cp -a "$root" "$guest"
flock -u 9
rm -f "$guest/.kvmvnc-root"
cp "$deb" "$guest/tmp/"

# In a mount namespace of its own, so nothing outlives the install.
log "installing $(basename "$deb") with apt in a chroot"
unshare --mount --propagation private -- /bin/sh -ec '
    root=$1 deb=$2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t sysfs sysfs "$root/sys"
    # The root has no package lists (mmdebstrap removes them): apt can
    # only take Depends from what the root has, and fetches nothing.
    chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
        apt-get install -y --no-install-recommends "/tmp/$deb"
    # What the postinst tells the administrator to do before the next boot.
    printf "install-test\n" | chroot "$root" vncpasswd -f >"$root/etc/kvmvnc/vncpasswd"
    chroot "$root" chown kvmvnc /etc/kvmvnc/vncpasswd
    # vncsnapshot (below) knows only plain VNC authentication.
    printf "\n[security]\nallow_unencrypted = true\n" >>"$root/etc/kvmvnc/kvmvncd.ini"
' sh "$guest" "$(basename "$deb")" >"$work/install.log" 2>&1 ||
    fail "apt could not install the package (install.log below)"
rm -f "$guest/tmp/$(basename "$deb")"
grep -q "^Setting up kvmvnc " "$work/install.log" || fail "apt did not set kvmvnc up"
cp "$guest/etc/kvmvnc/vncpasswd" "$work/vncpasswd"
[[ $(stat -c %s "$work/vncpasswd") == 8 ]] || fail "vncpasswd -f wrote no password"

# Installed and enabled by the package itself.
for unit in kvmvnc-gadget kvmvncd; do
    [[ -L $guest/etc/systemd/system/multi-user.target.wants/$unit.service ]] ||
        fail "the package did not enable $unit.service"
done
grep -q '^kvmvnc:' "$guest/etc/passwd" || fail "the postinst made no user kvmvnc"
[[ $(chroot "$guest" stat -c %U /var/lib/kvmvnc) == kvmvnc ]] || fail "/var/lib/kvmvnc is not kvmvnc's"

# The test's own files (see the top of this file).
g=$here/install-boot/guest
install -m 0644 "$g/modules-load.conf" "$guest/etc/modules-load.d/kvmvnc-install-test.conf"
install -D -m 0644 "$g/install-test.network" "$guest/etc/systemd/network/50-install-test.network"
install -D -m 0755 "$g/kvmvnc-install-test" "$guest/usr/local/libexec/kvmvnc-install-test"
install -m 0644 "$g/kvmvnc-install-test.service" "$guest/etc/systemd/system/"
ln -sf /etc/systemd/system/kvmvnc-install-test.service \
    "$guest/etc/systemd/system/multi-user.target.wants/kvmvnc-install-test.service"
install -D -m 0644 "$deb" "$guest/var/cache/kvmvnc-install-test/kvmvnc.deb"
ln -sf /lib/systemd/system/systemd-networkd.service \
    "$guest/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
# Not a first boot (no systemd-firstboot questions on the console).
echo 4b766d766e63696e7374616c6c746573 >"$guest/etc/machine-id"
echo kvmvnc-install-test >"$guest/etc/hostname"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$guest/etc/fstab"

kernel=$(ls "$guest"/boot/vmlinuz-* | head -n 1)
initrd=$(ls "$guest"/boot/initrd.img-* | head -n 1)
cp "$kernel" "$work/vmlinuz"
cp "$initrd" "$work/initrd.img"

log "making the disk image"
mb=$(($(du -sm "$guest" | cut -f1) * 5 / 4 + 256))
mke2fs -q -F -t ext4 -L root -d "$guest" "$work/disk.img" "${mb}M" >"$work/mke2fs.log" 2>&1 ||
    { cat "$work/mke2fs.log" >&2; fail "mke2fs -d failed"; }
rm -rf "$guest"

# --- the boot -------------------------------------------------------------------

port=$((20000 + $$ % 20000))
mkfifo "$work/channel.in" "$work/channel.out"
: >"$work/channel.log"
: >"$work/channel-all.log"
qemu=
reader=
cleanup() {
    [[ -z $qemu ]] || kill "$qemu" 2>/dev/null || true
    [[ -z $reader ]] || kill "$reader" 2>/dev/null || true
    [[ ${KVMVNC_INSTALL_KEEP:-} == 1 ]] || rm -f "$work/disk.img" "$work/vmlinuz" "$work/initrd.img"
    rm -rf "$work/pkg"
}
trap cleanup EXIT
# QEMU opens both FIFOs read-write, so neither side blocks on open. The
# reader appends: truncating channel.log starts a command's section.
cat "$work/channel.out" >>"$work/channel.log" &
reader=$!
log "booting under QEMU (TCG), the guest's 5900 on 127.0.0.1:$port"
boot_start=$SECONDS
timeout --kill-after=10 $((boot_timeout + 600)) \
    qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 -nographic -no-reboot \
    -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 systemd.show_status=1" \
    -drive "file=$work/disk.img,format=raw,if=virtio,cache=unsafe" \
    -nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:5900" \
    -serial "file:$work/console.log" -chardev "pipe,id=channel,path=$work/channel" \
    -device isa-serial,chardev=channel -monitor none \
    </dev/null >"$work/qemu.log" 2>&1 &
qemu=$!

# Waits until the channel has a line matching the pattern, or fails.
wait_for() {  # wait_for PATTERN SECONDS WHAT
    local deadline=$((SECONDS + $2))
    until grep -q -- "$1" "$work/channel.log"; do
        kill -0 "$qemu" 2>/dev/null || fail "QEMU exited while waiting for $3"
        ((SECONDS < deadline)) || fail "no $3 after $2 s"
        sleep 1
    done
}
# The section of the channel since the last command (or the boot).
section=
take_section() {
    section=$(sed 's/\r$//' "$work/channel.log")
    cat "$work/channel.log" >>"$work/channel-all.log"
    : >"$work/channel.log"
}
send() {  # send NAME: sends it, waits for its end; its output in $section
    printf '%s\n' "$1" >"$work/channel.in"
    wait_for "^KVMVNC-INSTALL event=done cmd=$1" 300 "answer to '$1'"
    take_section
}
# A field of the section's first line that starts with PREFIX.
field() {  # field PREFIX KEY
    grep -m1 "^KVMVNC-INSTALL $1" <<<"$section" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
failures=()
check() {  # check WHAT ACTUAL EXPECTED
    if [[ "$2" == "$3" ]]; then
        log "ok: $1 = $2"
    else
        log "NOT OK: $1 is '$2', expected '$3'"
        failures+=("$1")
    fi
}
unit() { field "unit name=$1.service" "$2"; }

wait_for '^KVMVNC-INSTALL event=ready' "$boot_timeout" "report from the booted guest"
take_section
log "the guest reported after $((SECONDS - boot_start)) s"

# 1. The boot: both units up on their own, as the package left them.
check "kvmvnc-gadget.service ActiveState" "$(unit kvmvnc-gadget ActiveState)" active
check "kvmvnc-gadget.service Result" "$(unit kvmvnc-gadget Result)" success
check "kvmvncd.service ActiveState" "$(unit kvmvncd ActiveState)" active
check "kvmvncd.service SubState" "$(unit kvmvncd SubState)" running
check "kvmvncd.service NRestarts" "$(unit kvmvncd NRestarts)" 0
check "kvmvncd.service UnitFileState" "$(unit kvmvncd UnitFileState)" enabled
check "kvmvncd's user" "$(field daemon user)" kvmvnc
check "kvmvncd listening on 5900" "$(field daemon listening)" yes
check "gadget's UDC" "$(field gadget udc)" dummy_udc.0
check "the target enumerated the gadget" "$(field target enumerated)" yes
check "/dev/hidg0 group" "$(field "node path=/dev/hidg0" group)" kvmvnc
check "/dev/hidg0 mode" "$(field "node path=/dev/hidg0" mode)" 660
check "/dev/hidg1 group" "$(field "node path=/dev/hidg1" group)" kvmvnc
check "the LUN's file owner" "$(field gadget lun_owner)" kvmvnc
check "/dev/video0 group" "$(field "node path=/dev/video0" group)" video
check "kvmvnc's home" "$(field user home)" /var/lib/kvmvnc
first_pid=$(field daemon pid)

# 2. A real viewer through the forwarded port: vivid's webcam input at the
# packaged 1920x1080, its 75% colour bars (white, yellow, cyan, green,
# magenta, red, blue, black), not a status screen.
log "vncsnapshot on 127.0.0.1::$port"
if timeout 120 vncsnapshot -quiet -passwd "$work/vncpasswd" -encodings zlib -quality 100 \
    "127.0.0.1::$port" "$work/shot.jpg" >"$work/vncsnapshot.log" 2>&1; then
    check "the viewer's picture size" "$(identify -format '%wx%h' "$work/shot.jpg")" 1920x1080
    bars=(191,191,191 191,191,0 0,191,191 0,191,0 191,0,191 191,0,0 0,0,191 0,0,0)
    for i in "${!bars[@]}"; do
        at="p{$((i * 240 + 120)),700}"
        pixel=$(convert "$work/shot.jpg" -format \
            "%[fx:int(255*$at.r)],%[fx:int(255*$at.g)],%[fx:int(255*$at.b)]" info:)
        near=$(awk -v a="$pixel" -v b="${bars[$i]}" 'BEGIN {
            split(a, x, ","); split(b, y, ","); ok = 1
            for (c = 1; c <= 3; c++) { d = x[c] - y[c]; if (d < -24 || d > 24) ok = 0 }
            print ok ? "yes" : "no (" a ")" }')
        check "colour bar $i is ${bars[$i]}" "$near" yes
    done
else
    log "NOT OK: vncsnapshot got no picture: $(tr '\n' ' ' <"$work/vncsnapshot.log")"
    failures+=(vncsnapshot)
fi

# kvmvncctl speaks VeNCrypt (X509Vnc) and checks the certificate kvmvncd
# made at its first start.
send cert
grep '^KVMVNC-INSTALL cert line=' <<<"$section" | sed 's/^KVMVNC-INSTALL cert line=//; s/_/ /g' \
    >"$work/cert.pem"
check "kvmvncd's certificate" "$(grep -c 'BEGIN CERTIFICATE' "$work/cert.pem")" 1
# The browser panel from the installed web root, over HTTPS on the RFB port,
# checked against the same certificate (it names 127.0.0.1).
if curl -sS --max-time 60 --cacert "$work/cert.pem" "https://127.0.0.1:$port/" -o "$work/panel.html" \
    2>"$work/curl.log"; then
    check "the panel's page over https" "$(grep -c 'id="kvm-login"' "$work/panel.html")" 1
    curl -sS --max-time 60 --cacert "$work/cert.pem" -o /dev/null -w '%{http_code}' \
        "https://127.0.0.1:$port/novnc/core/rfb.js" >"$work/rfb-js.code" 2>>"$work/curl.log" || true
    check "noVNC in the installed panel" "$(cat "$work/rfb-js.code")" 200
else
    log "NOT OK: no panel over https: $(tr '\n' ' ' <"$work/curl.log")"
    failures+=("panel over https")
fi
log "kvmvncctl status on 127.0.0.1:$port"
if status=$(timeout 60 "$work/pkg/usr/bin/kvmvncctl" --host "127.0.0.1:$port" \
    --passwd-file "$work/vncpasswd" --ca-file "$work/cert.pem" status 2>&1); then
    log "kvmvncctl: $(tr '\n' ';' <<<"$status")"
    check "kvmvncctl status: full rights" "$(grep -c 'full rights' <<<"$status")" 1
    check "kvmvncctl status: the target listening" "$(grep -c '^keyboard: .*the target is listening' <<<"$status")" 1
    check "kvmvncctl status: a drive" "$(grep -c '^drive:' <<<"$status")" 1
    check "kvmvncctl status: the capture" "$(grep -c '^capture: picture 1920x1080 at' <<<"$status")" 1
    check "kvmvncctl status: the board's health" "$(grep -c '^health: ' <<<"$status")" 1
else
    log "NOT OK: kvmvncctl status exited with $?: $status"
    failures+=("kvmvncctl status")
fi

# An image uploaded with kvmvncctl and inserted as a flash drive: the target
# (the guest's USB host, through dummy_hcd) reads exactly its bytes.
ctl() {
    timeout 120 "$work/pkg/usr/bin/kvmvncctl" --host "127.0.0.1:$port" --passwd-file "$work/vncpasswd" \
        --ca-file "$work/cert.pem" "$@"
}
head -c 1048576 /dev/urandom >"$work/image.img"
if ctl msd upload "$work/image.img" --name install-test.img >"$work/msd.log" 2>&1 &&
    ctl msd insert install-test.img --flash >>"$work/msd.log" 2>&1; then
    send "drive 1048576"
    check "the target's drive" "$(field drive sha256)" "$(sha256sum <"$work/image.img" | cut -d' ' -f1)"
    ctl msd eject >>"$work/msd.log" 2>&1 || true
else
    log "NOT OK: kvmvncctl could not upload and insert an image: $(tr '\n' ' ' <"$work/msd.log")"
    failures+=("msd upload and insert")
fi

# 3. Both units stop cleanly (kvmvncd on SIGTERM, the gadget removed by
# ExecStop), and start again (kvmvncd pulls the gadget in).
send stop
check "stop: systemctl's status" "$(field result rc)" 0
check "stop: kvmvncd.service" "$(unit kvmvncd ActiveState)" inactive
check "stop: kvmvncd.service Result" "$(unit kvmvncd Result)" success
check "stop: kvmvncd's exit status" "$(unit kvmvncd ExecMainStatus)" 0
check "stop: kvmvnc-gadget.service Result" "$(unit kvmvnc-gadget Result)" success
check "stop: the gadget" "$(field gadget present)" no
check "stop: /dev/hidg0" "$(grep -c '^KVMVNC-INSTALL node path=/dev/hidg0 missing' <<<"$section")" 1
send start
check "start: kvmvnc-gadget.service" "$(unit kvmvnc-gadget ActiveState)" active
check "start: kvmvncd.service" "$(unit kvmvncd ActiveState)" active
check "start: kvmvncd listening" "$(field daemon listening)" yes
check "start: gadget's UDC" "$(field gadget udc)" dummy_udc.0

# 4. `systemctl reload` (ExecReload: SIGHUP) re-reads the configuration in
# the running daemon: the same process, still listening, the reload logged.
pid_before=$(field daemon pid)
send reload
check "reload: systemctl's status" "$(field result rc)" 0
check "reload: kvmvncd.service" "$(unit kvmvncd ActiveState)" active
check "reload: the same kvmvncd" "$(field daemon pid)" "$pid_before"
check "reload: kvmvncd logged it" "$(field reload logged)" 1
check "reload: kvmvncd listening" "$(field daemon listening)" yes

# 5. An upgrade (the same package again: prerm upgrade, postinst configure
# with the old version) restarts kvmvncd on the new binary and keeps an
# administrator's choice to disable it.
send disable
check "disable: kvmvncd.service UnitFileState" "$(unit kvmvncd UnitFileState)" disabled
pid_before=$(field daemon pid)
send upgrade
check "upgrade: dpkg's status" "$(field result rc)" 0
check "upgrade: the package" "$(field package status)" ii
check "upgrade: kvmvncd.service UnitFileState" "$(unit kvmvncd UnitFileState)" disabled
check "upgrade: kvmvnc-gadget.service UnitFileState" "$(unit kvmvnc-gadget UnitFileState)" enabled
check "upgrade: kvmvncd.service" "$(unit kvmvncd ActiveState)" active
check "upgrade: kvmvncd restarted" "$([[ $(field daemon pid) != "$pid_before" ]] && echo yes || echo "no (pid $pid_before)")" yes
check "upgrade: kvmvncd listening" "$(field daemon listening)" yes
check "upgrade: kvmvncd.service NRestarts" "$(unit kvmvncd NRestarts)" 0

# 6. Remove stops both units and removes the gadget; the configuration stays
# until purge, which takes the state and every trace in systemd's folders.
send remove
check "remove: dpkg's status" "$(field result rc)" 0
check "remove: the package" "$(field package status)" rc
check "remove: kvmvncd.service" "$(unit kvmvncd ActiveState)" inactive
check "remove: kvmvnc-gadget.service" "$(unit kvmvnc-gadget ActiveState)" inactive
check "remove: the gadget" "$(field gadget present)" no
check "remove: the daemon" "$(field daemon pid)" 0
check "remove: the configuration" "$(field package config)" yes
send purge
check "purge: dpkg's status" "$(field result rc)" 0
check "purge: the package" "$(field package status)" none
check "purge: the configuration" "$(field package config)" no
check "purge: the state folder" "$(grep -c '^KVMVNC-INSTALL storage missing' <<<"$section")" 1
check "purge: units left enabled" "$(field package wants)" ""
check "purge: kvmvncd.service" "$(unit kvmvncd LoadState)" not-found

send journal
printf 'poweroff\n' >"$work/channel.in"
for _ in $(seq 120); do
    kill -0 "$qemu" 2>/dev/null || break
    sleep 1
done
take_section
if kill -0 "$qemu" 2>/dev/null; then
    log "NOT OK: the guest did not power off within 120 s"
    failures+=(poweroff)
else
    wait "$qemu" || true
fi
qemu=
log "guest ran $((SECONDS - boot_start)) s; the whole test $((SECONDS - start)) s"

if ((${#failures[@]})); then
    fail "${#failures[@]} check(s) failed: ${failures[*]}"
fi
echo "1 passed, 0 failed"

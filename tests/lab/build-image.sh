#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the virtual appliance lab's guest: a Debian kernel and an initramfs
# with busybox, the kernel modules the scenarios need (vivid, dummy_hcd, the USB
# gadget functions and host side; gpio-sim and vicodec built out of tree), the
# project's binaries with their libraries, and the guest scripts in guest/.
#
#   build-image.sh --out DIR --kvmvncd PATH [--binary PATH]... [--file SRC:DEST]...
#
# --binary adds a program (to /usr/bin, with its libraries), --file a file or
# folder at DEST in the guest.
#
# Writes DIR/vmlinuz, DIR/initrd.img and DIR/image.env (what went in). The
# Debian packages, the unpacked kernel and the out-of-tree modules are cached in
# ${KVMVNC_LAB_CACHE:-/var/cache/kvmvnc-lab} (~/.cache/kvmvnc-lab when that is
# not writable), one folder per kernel package version; only the newest two
# versions are kept. The initramfs itself is rebuilt on every call (about a
# second): it follows kvmvncd wherever the build puts it.
#
# Exits non-zero with the reason on stderr when anything is missing: the lab
# is part of the test suite and never skips itself (but exits 77, "skipped",
# when KVMVNC_LAB_SKIP=1 outside CI).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=
kvmvncd=
binaries=()
files=()
while (($#)); do
    case $1 in
    --out) out=$2; shift 2 ;;
    --kvmvncd) kvmvncd=$2; shift 2 ;;
    --binary) binaries+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    *) echo "build-image.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -n $out && -n $kvmvncd ]] || { sed -n '9p' "$0" | sed 's/^# *//' >&2; exit 2; }

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: FAILED: %s\n' "$*" >&2; exit 1; }

# A developer machine may opt out; CI may not.
if [[ ${KVMVNC_LAB_SKIP:-} == 1 && ${CI:-} != true ]]; then
    log "skipped (KVMVNC_LAB_SKIP=1)"
    exit 77
fi
need() { command -v "$1" >/dev/null || die "$1 is missing (packaging/dev.sh build installs the lab packages: ${2:-$1})"; }

need apt-get apt
need dpkg-deb dpkg
need cpio
need depmod kmod
need make
need gcc-12 gcc
need xz xz-utils
[[ -e /usr/lib/x86_64-linux-gnu/libelf.so.1 ]] || die "libelf.so.1 is missing (package libelf1; the kernel headers' objtool needs it)"
need flock util-linux
[[ -x /bin/busybox ]] || die "/bin/busybox is missing (package busybox-static)"
{ ldd /bin/busybox 2>&1 || true; } | grep -q 'not a dynamic' || die "/bin/busybox is not static (install busybox-static, not busybox)"
[[ -x $kvmvncd ]] || die "kvmvncd not found at $kvmvncd"
v4l2ctl=$(command -v v4l2-ctl) || die "v4l2-ctl is missing (package v4l-utils)"

# --- the cache ---------------------------------------------------------------

cache=${KVMVNC_LAB_CACHE:-/var/cache/kvmvnc-lab}
if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
    [[ -n ${KVMVNC_LAB_CACHE:-} ]] && die "cache folder $cache is not writable"
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/kvmvnc-lab
    mkdir -p "$cache" || die "cannot create the cache folder $cache"
fi
exec 9>"$cache/.lock"
flock 9  # one builder per cache; a second build dir waits here

# The kernel that linux-image-amd64 depends on, with its exact version, so
# the headers and sources that build gpio-sim match it.
resolve_kernel() {
    image_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [[ -n $image_pkg ]] || return 1
    pkg_version=$(apt-cache show --no-all-versions "$image_pkg" 2>/dev/null |
        awk '/^Version:/ {print $2; exit}')
    [[ -n $pkg_version ]]
}
if ! resolve_kernel && ((EUID == 0)); then
    log "apt lists do not know linux-image-amd64, running apt-get update"
    apt-get update -qq || true
    resolve_kernel || true
fi
if [[ -z ${pkg_version:-} ]]; then
    # Offline: the newest complete cache entry will do.
    entry=$(ls -1dt "$cache"/*/.complete 2>/dev/null | head -1 || true)
    [[ -n $entry ]] || die "cannot resolve linux-image-amd64 with apt-cache and nothing is cached in $cache"
    entry=$(dirname "$entry")
    image_pkg=linux-image-$(basename "$entry" | cut -d_ -f1)
    pkg_version=$(basename "$entry" | cut -d_ -f2)
    log "apt-cache cannot resolve linux-image-amd64; using the cached $image_pkg $pkg_version"
fi
# The modules the scenarios load (by name, - and _ alike); the image gets
# them with every dependency modules.dep lists.
wanted_modules=(
    configfs virtio_pci virtio_net                       # configfs, network
    vivid                                                # capture (its vb2 serves vicodec)
    dummy_hcd libcomposite usb_f_hid usb_f_mass_storage  # the USB gadget
    usbhid hid-generic evdev                             # the target's side: keyboard, mouse
    usb-storage sd_mod sr_mod                            # the target's side: disk, CD-ROM
    sch_netem                                            # slow links
)

# Downloads the packages named (at $pkg_version) into the entry, each once;
# sets download_failed when apt-get cannot. (Not a return status: set -e
# does not apply inside a function whose status is tested.)
download() {
    local want=() package
    for package in "$@"; do
        compgen -G "$debs/${package}_*.deb" >/dev/null || want+=("$package=$pkg_version")
    done
    ((${#want[@]})) || return 0
    log "downloading ${want[*]}"
    local tmp
    tmp=$(mktemp -d "$entry/download.XXXXXX")
    chmod 755 "$tmp"
    # -o APT::Sandbox::User=root: the folder need not be readable by _apt.
    if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "${want[@]}" >&2); then
        rm -rf "$tmp"
        log "apt-get download ${want[*]} failed"
        download_failed=1
        return 0
    fi
    mv "$tmp"/*.deb "$debs/"
    rmdir "$tmp"
}

# Fills the cache entry for $image_pkg $pkg_version: the kernel with the
# wanted modules, and gpio-sim. Stops early with download_failed set when a
# download fails; dies on anything else.
prepare_entry() {
    abi=${image_pkg#linux-image-}       # 6.1.0-56-amd64
    flavour_common=${abi%-*}-common     # 6.1.0-56-common
    upstream=${pkg_version%%-*}         # 6.1.192
    series=$(cut -d. -f1,2 <<<"$upstream")  # 6.1
    key=${abi}_${pkg_version}
    entry=$cache/$key
    debs=$entry/debs
    mkdir -p "$debs"

    # The kernel and those modules, taken from the unpacked package (whose
    # modules.dep is left to its postinst, so depmod makes it). The cache keeps
    # only what the image uses (~15 MB instead of 400 MB); a change of the list
    # unpacks the cached package again.
    modules_key=$(printf '%s\n' "${wanted_modules[@]}" | md5sum | cut -c1-8)
    kernel=$entry/kernel-$modules_key
    if [[ ! -f $kernel/.complete ]]; then
        download "$image_pkg"
        [[ -z ${download_failed:-} ]] || return 0
        log "unpacking $image_pkg $pkg_version"
        rm -rf "$entry"/kernel-* "$entry/unpacked.tmp"
        full=$entry/unpacked.tmp
        dpkg-deb -x "$debs/${image_pkg}_"*.deb "$full"
        depmod -b "$full" "$abi"
        full_moddir=$full/lib/modules/$abi
        declare -A module_paths=()
        for module in "${wanted_modules[@]}"; do
            name=${module//-/_}
            path=$(awk -v want="$name" -F: '{
                file = $1; sub(/.*\//, "", file); sub(/\.ko(\.[a-z]+)?$/, "", file); gsub(/-/, "_", file)
                if (file == want) { print $1; exit }
            }' "$full_moddir/modules.dep")
            [[ -n $path ]] || die "module $module is not in $image_pkg"
            module_paths[$path]=1
            for dep in $(awk -v want="$path" -F': *' '$1 == want {print $2; exit}' "$full_moddir/modules.dep"); do
                module_paths[$dep]=1
            done
        done
        mkdir -p "$kernel.tmp/boot" "$kernel.tmp/lib/modules/$abi"
        cp "$full/boot/vmlinuz-$abi" "$full/boot/config-$abi" "$kernel.tmp/boot/"
        cp "$full_moddir"/modules.{order,builtin,builtin.modinfo} "$kernel.tmp/lib/modules/$abi/"
        for path in "${!module_paths[@]}"; do
            mkdir -p "$kernel.tmp/lib/modules/$abi/$(dirname "$path")"
            cp "$full_moddir/$path" "$kernel.tmp/lib/modules/$abi/$path"
        done
        rm -rf "$full"
        touch "$kernel.tmp/.complete"
        mv "$kernel.tmp" "$kernel"
    fi
    vmlinuz=$kernel/boot/vmlinuz-$abi
    moddir=$kernel/lib/modules/$abi
    [[ -f $vmlinuz && -f $moddir/modules.order ]] || die "$kernel is incomplete; delete it to unpack again"

    # gpio-sim (not built in Debian's kernels), out of tree: gpio-sim.c and the
    # irq_sim.c it needs from linux-source, built against linux-headers.
    gpiosim=$entry/gpio-sim
    if [[ ! -f $gpiosim/gpio-sim-oot.ko ]]; then
        download "linux-headers-$abi" "linux-headers-$flavour_common" "linux-kbuild-$series" \
            "linux-source-$series"
        [[ -z ${download_failed:-} ]] || return 0
        start=$SECONDS
        rm -rf "$gpiosim.tmp"
        mkdir -p "$gpiosim.tmp/headers" "$gpiosim.tmp/src" "$gpiosim.tmp/module"
        for package in "linux-headers-$abi" "linux-headers-$flavour_common" "linux-kbuild-$series"; do
            dpkg-deb -x "$debs/${package}_"*.deb "$gpiosim.tmp/headers"
        done
        # The flavour's Makefile includes the common one by absolute path.
        sed -i "s|/usr/src/|$gpiosim.tmp/headers/usr/src/|" \
            "$gpiosim.tmp/headers/usr/src/linux-headers-$abi/Makefile"
        log "extracting gpio-sim from linux-source-$series (decompresses the whole tarball)"
        dpkg-deb --fsys-tarfile "$debs/linux-source-${series}_"*.deb |
            tar -xO "./usr/src/linux-source-$series.tar.xz" | xz -dc |
            tar -x -C "$gpiosim.tmp/src" --strip-components=1 \
                "linux-source-$series/drivers/gpio/gpio-sim.c" \
                "linux-source-$series/drivers/gpio/gpiolib.h" \
                "linux-source-$series/kernel/irq/irq_sim.c"
        cp "$gpiosim.tmp/src/drivers/gpio/gpio-sim.c" "$gpiosim.tmp/src/drivers/gpio/gpiolib.h" \
            "$gpiosim.tmp/src/kernel/irq/irq_sim.c" "$gpiosim.tmp/module/"
        # irq_to_desc() is not exported to modules; generic_handle_irq() does the same.
        sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' \
            "$gpiosim.tmp/module/irq_sim.c"
        grep -q 'generic_handle_irq(irqnum);' "$gpiosim.tmp/module/irq_sim.c" ||
            die "irq_sim.c in linux-source-$series changed; update the patch in $0"
        printf 'obj-m := gpio-sim-oot.o\ngpio-sim-oot-y := gpio-sim.o irq_sim.o\n' \
            >"$gpiosim.tmp/module/Kbuild"
        log "building gpio-sim-oot.ko"
        make -s -C "$gpiosim.tmp/headers/usr/src/linux-headers-$abi" M="$gpiosim.tmp/module" \
            -j2 modules >"$gpiosim.tmp/build.log" 2>&1 ||
            { cat "$gpiosim.tmp/build.log" >&2; die "building gpio-sim failed"; }
        rm -rf "$gpiosim"
        mkdir -p "$gpiosim"
        cp "$gpiosim.tmp/module/gpio-sim-oot.ko" "$gpiosim/"
        rm -rf "$gpiosim.tmp"
        log "gpio-sim built in $((SECONDS - start)) s"
    fi

    # vicodec (a V4L2 stateful encoder coding FWHT, for encode::V4l2M2mEncoder)
    # and the v4l2-mem2mem module it needs: Debian's kernel builds neither
    # (CONFIG_VIDEO_VICODEC and CONFIG_V4L2_MEM2MEM_DEV are off). One folder,
    # two modules, so modpost sees v4l2-mem2mem's exports for vicodec.
    vicodec=$entry/vicodec
    if [[ ! -f $vicodec/vicodec.ko || ! -f $vicodec/v4l2-mem2mem.ko ]]; then
        download "linux-headers-$abi" "linux-headers-$flavour_common" "linux-kbuild-$series" \
            "linux-source-$series"
        [[ -z ${download_failed:-} ]] || return 0
        start=$SECONDS
        rm -rf "$vicodec.tmp"
        mkdir -p "$vicodec.tmp/headers" "$vicodec.tmp/src" "$vicodec.tmp/module"
        for package in "linux-headers-$abi" "linux-headers-$flavour_common" "linux-kbuild-$series"; do
            dpkg-deb -x "$debs/${package}_"*.deb "$vicodec.tmp/headers"
        done
        sed -i "s|/usr/src/|$vicodec.tmp/headers/usr/src/|" \
            "$vicodec.tmp/headers/usr/src/linux-headers-$abi/Makefile"
        log "extracting vicodec and v4l2-mem2mem from linux-source-$series"
        dpkg-deb --fsys-tarfile "$debs/linux-source-${series}_"*.deb |
            tar -xO "./usr/src/linux-source-$series.tar.xz" | xz -dc |
            tar -x -C "$vicodec.tmp/src" --strip-components=1 \
                "linux-source-$series/drivers/media/test-drivers/vicodec" \
                "linux-source-$series/drivers/media/v4l2-core/v4l2-mem2mem.c"
        cp "$vicodec.tmp/src/drivers/media/test-drivers/vicodec/"*.[ch] \
            "$vicodec.tmp/src/drivers/media/v4l2-core/v4l2-mem2mem.c" "$vicodec.tmp/module/"
        printf 'obj-m := v4l2-mem2mem.o vicodec.o\nvicodec-objs := vicodec-core.o codec-fwht.o codec-v4l2-fwht.o\n' \
            >"$vicodec.tmp/module/Kbuild"
        log "building vicodec.ko and v4l2-mem2mem.ko"
        make -s -C "$vicodec.tmp/headers/usr/src/linux-headers-$abi" M="$vicodec.tmp/module" \
            -j2 modules >"$vicodec.tmp/build.log" 2>&1 ||
            { cat "$vicodec.tmp/build.log" >&2; die "building vicodec failed"; }
        rm -rf "$vicodec"
        mkdir -p "$vicodec"
        cp "$vicodec.tmp/module/vicodec.ko" "$vicodec.tmp/module/v4l2-mem2mem.ko" "$vicodec/"
        rm -rf "$vicodec.tmp"
        log "vicodec built in $((SECONDS - start)) s"
    fi
    # The sources and headers are not needed again for this version.
    rm -f "$debs/linux-source-${series}_"*.deb "$debs/linux-headers-"*.deb \
        "$debs/linux-kbuild-"*.deb
    touch "$entry/.complete"
}

download_failed=
prepare_entry
if [[ -n $download_failed ]]; then
    # Offline, or the lists name a version the archive no longer has: an
    # older complete entry will do.
    fallback=$(ls -1dt "$cache"/*/.complete 2>/dev/null | head -1 || true)
    [[ -n $fallback ]] || die "cannot download $image_pkg $pkg_version (apt-get update?) and nothing is cached in $cache"
    fallback=$(dirname "$fallback")
    image_pkg=linux-image-$(basename "$fallback" | cut -d_ -f1)
    pkg_version=$(basename "$fallback" | cut -d_ -f2)
    log "using the cached $image_pkg $pkg_version instead"
    download_failed=
    prepare_entry
    [[ -z $download_failed ]] || die "the cached $fallback is incomplete"
fi

# Keep the two newest versions.
ls -1dt "$cache"/*/ 2>/dev/null | tail -n +3 | while read -r old; do
    [[ ${old%/} == "$entry" ]] && continue
    log "removing the old cache entry $old"
    rm -rf "$old"
done
flock -u 9

# --- the initramfs ------------------------------------------------------------

root=$(mktemp -d "${TMPDIR:-/tmp}/kvmvnc-lab-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/lib/modules,proc,sys,dev,tmp,run,etc,lab,root}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

cp /bin/busybox "$root/usr/bin/busybox"
for applet in $(/bin/busybox --list); do
    [[ $applet == busybox || -e $root/usr/bin/$applet ]] || ln -s busybox "$root/usr/bin/$applet"
done

# A binary and every library ldd lists (the loader too), at their paths
# under the merged /usr.
add_program() {
    local program=$1 dest=$2
    cp -L "$program" "$root$dest"
    local lib
    while read -r lib; do
        [[ -n $lib ]] || continue
        local real
        real=$(readlink -f "$lib")
        local target=$root/usr${lib#/usr}
        [[ -e $target ]] && continue
        mkdir -p "$(dirname "$target")"
        cp "$real" "$target"
    done < <(ldd "$program" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}')
}
add_program "$kvmvncd" /usr/bin/kvmvncd
add_program "$v4l2ctl" /usr/bin/v4l2-ctl
for binary in "${binaries[@]}"; do
    add_program "$binary" "/usr/bin/$(basename "$binary")"
done
for spec in "${files[@]}"; do
    [[ -e ${spec%%:*} ]] || die "--file ${spec%%:*} does not exist"
    mkdir -p "$root$(dirname "${spec#*:}")"
    cp -a "${spec%%:*}" "$root${spec#*:}"
done

# Modules: the cached selection, plus gpio-sim, vicodec and v4l2-mem2mem.
dest_moddir=$root/usr/lib/modules/$abi
mkdir -p "$(dirname "$dest_moddir")"
cp -r "$moddir" "$dest_moddir"
mkdir -p "$dest_moddir/extra"
cp "$gpiosim/gpio-sim-oot.ko" "$vicodec/vicodec.ko" "$vicodec/v4l2-mem2mem.ko" \
    "$dest_moddir/extra/"
depmod -b "$root/usr" "$abi"

# The guest's scripts.
cp "$here/guest/init" "$root/init"
chmod 755 "$root/init"
cp "$here"/guest/*.sh "$root/lab/"
printf 'KVMVNC_LAB_KERNEL=%s\n' "$abi" >"$root/lab/image.env"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

mkdir -p "$out"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
    gzip -1 >"$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
ln -sf "$vmlinuz" "$out/vmlinuz"
cat >"$out/image.env" <<EOF
kernel_package=$image_pkg
kernel_version=$pkg_version
cache=$entry
initrd_bytes=$(stat -c %s "$out/initrd.img")
EOF
log "guest image ready: $out/initrd.img ($(($(stat -c %s "$out/initrd.img") / 1024 / 1024)) MiB), kernel $abi ($pkg_version)"

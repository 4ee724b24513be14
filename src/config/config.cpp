// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/config/config.h"
#include "key_table.h"

#include <arpa/inet.h>
#include <ini.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/input/key_chord.h"

namespace kvmvnc::config {

namespace {

using namespace table;

// [capture] edid: a file, or one of the words that name none.
std::string resolveEdid(const std::string &value, const std::string &baseDir) {
    const std::string word = lower(value);
    return word == "default" || word == "keep" ? value : resolvePath(value, baseDir);
}

std::string notEmpty(const std::string &value) { return value.empty() ? "must not be empty" : ""; }

std::string anAddress(const std::string &value) {
    in_addr v4;
    in6_addr v6;
    if (inet_pton(AF_INET, value.c_str(), &v4) == 1 || inet_pton(AF_INET6, value.c_str(), &v6) == 1)
        return {};
    return "'" + value + "' is not an IPv4 or IPv6 address";
}

std::string anIpv4Address(const std::string &value) {
    in_addr v4;
    return inet_pton(AF_INET, value.c_str(), &v4) == 1 ? ""
                                                       : "'" + value + "' is not an IPv4 address";
}

std::string noneOrAMacAddress(const std::string &value) {
    bool valid = value.size() == 17;
    for (size_t i = 0; valid && i < value.size(); ++i) {
        const char c = value[i];
        valid = i % 3 == 2 ? c == ':' || c == '-' : std::isxdigit(static_cast<unsigned char>(c));
    }
    return value.empty() || valid ? ""
                                  : "'" + value + "' is not a MAC address like aa:bb:cc:dd:ee:ff";
}

std::string aLayoutName(const std::string &value) {
    if (value.empty() || value.find('/') != std::string::npos ||
        value.find("..") != std::string::npos)
        return "'" + value + "' is not a layout name";
    return {};
}

std::string aKeyChord(const std::string &value) {
    std::string problem;
    return input::parseKeyChord(value, &problem) ? "" : "'" + value + "': " + problem;
}

// Where a seam's actions go ([atx] and [msd] target).
template <typename Field>
Key targetKey(const char *section, const char *help, Field field) {
    return enumKey<DeviceTarget>(section, "target", "auto", help, field,
                                 {{"auto", DeviceTarget::Auto},
                                  {"device", DeviceTarget::Device},
                                  {"virtual", DeviceTarget::Virtual},
                                  {"none", DeviceTarget::None}});
}

const std::vector<Key> &keys() {
    static const std::vector<Key> table = {
        stringKey(
            "server", "listen", "0.0.0.0", "an IPv4 or IPv6 address",
            "Address to accept RFB connections on (0.0.0.0 all IPv4, :: all IPv6).",
            [](auto &c) -> auto & { return c.server.listen; }, anAddress),
        intKey(
            "server", "port", "5900", 1, 65535, "TCP port for RFB (VNC) clients.",
            [](auto &c) -> auto & { return c.server.port; }),
        intKey(
            "server", "rfb_port", "0", 0, 65535,
            "A second TCP port, on the same address, for RFB viewers only (0: none). The port "
            "above serves browsers too, so it waits 300 ms to see whether a client speaks first "
            "(a browser does, a VNC viewer does not); here a viewer is greeted at once.",
            [](auto &c) -> auto & { return c.server.rfbPort; }),
        live(pathKey(
            "server", "passwd_file", "", "a path (relative to this file)",
            "TigerVNC vncpasswd file: full password, then optionally the view-only one. "
            "Unset: no authentication (a warning is logged). A reload reads the file again "
            "and checks new viewers against it; unsetting the key needs a restart.",
            [](auto &c) -> auto & { return c.server.passwdFile; })),
        live(stringKey(
            "server", "desktop_name", "kvmvnc", "text", "Name viewers show in their title bar.",
            [](auto &c) -> auto & { return c.server.desktopName; }, notEmpty)),
        live(intKey(
            "server", "max_clients", "16", 1, 256,
            "Viewers served at once; further connections are refused.",
            [](auto &c) -> auto & { return c.server.maxClients; })),
        intKey(
            "server", "stall_timeout_ms", "10000", 1000, 600000,
            "A viewer that takes no byte for this long while something waits to be sent to it "
            "(a frozen laptop, a viewer that stopped reading) is disconnected. Nothing else "
            "waits for it meanwhile: not the picture of the others, not a button press.",
            [](auto &c) -> auto & { return c.server.stallTimeoutMs; }),
        boolKey(
            "server", "xvp", "true",
            "Offer xvp, which gives noVNC its power menu (when ATX control is on). "
            "Programs built on libvncclient must handle the messages already in its "
            "buffer before waiting on the socket (Remmina does; libvncserver's example "
            "viewers do not and can stall at their first picture with xvp on).",
            [](auto &c) -> auto & { return c.server.xvp; }),
        pathKey(
            "server", "web_root", "", "a directory (relative to this file)",
            "What browsers get over HTTP(S) on the RFB port: the panel (noVNC and the power, "
            "media and keyboard controls). Unset: the installed one (share/kvmvnc/web), else the "
            "build tree's.",
            [](auto &c) -> auto & { return c.server.webRoot; }),
        enumKey<SourceKind>(
            "capture", "source", "virtual",
            "Where the picture comes from: the built-in virtual target, a V4L2 device, or the "
            "root window of an X display (display; for comparisons with x11vnc and "
            "x0vncserver, in builds with KVMVNC_X11).",
            [](auto &c) -> auto & { return c.capture.source; },
            {{"virtual", SourceKind::Virtual},
             {"v4l2", SourceKind::V4l2},
             {"x11", SourceKind::X11}}),
        stringKey(
            "capture", "device", "/dev/video0", "a device path",
            "V4L2 capture device (source = v4l2).",
            [](auto &c) -> auto & { return c.capture.device; }, notEmpty),
        {"capture", "format", "auto", "auto, YUYV, UYVY, RGB24, BGR24 or MJPEG",
         "Pixel format asked of the device; auto prefers UYVY on HDMI bridges and MJPEG on "
         "USB dongles. A format given here is the only one a dongle is tried in.",
         [](Config &config, std::string_view value) -> std::string {
             if (lower(value) == "auto") {
                 config.capture.format.reset();
                 return {};
             }
             auto format = capture::parsePixelFormat(value);
             if (!format)
                 return "'" + std::string(value) +
                        "' is not auto, YUYV, UYVY, RGB24, BGR24 or MJPEG";
             config.capture.format = format;
             return {};
         },
         [](const Config &c) -> std::string {
             return std::string(c.capture.format ? capture::pixelFormatName(*c.capture.format)
                                                 : "auto");
         }},
        intKey(
            "capture", "width", "0", 160, 8192,
            "Picture width; 0 takes an HDMI bridge's (its DV timings), the largest a USB "
            "dongle lists, 1920 on the virtual target. On a dongle, the size tried first: "
            "smaller ones follow if it delivers nothing (first_frame_timeout_ms).",
            [](auto &c) -> auto & { return c.capture.width; }, 0, "auto"),
        intKey(
            "capture", "height", "0", 120, 8192,
            "Picture height; 0 as width (1080 on the virtual target).",
            [](auto &c) -> auto & { return c.capture.height; }, 0, "auto"),
        intKey(
            "capture", "fps", "0", 1, 240,
            "Frames per second asked of the source; 0 keeps the device's (30 on the "
            "virtual target and on X11).",
            [](auto &c) -> auto & { return c.capture.fps; }, 0, "auto"),
        intKey(
            "capture", "first_frame_timeout_ms", "2000", 200, 60000,
            "USB dongles list modes they cannot deliver. A mode that gives no picture within "
            "this time, is refused, or delivers pictures of another size is left for the next "
            "one the device lists (MJPEG before YUYV, then smaller sizes), with a status screen "
            "saying so; when all failed they are tried again. 0 keeps the first mode however it "
            "behaves. HDMI bridges (DV timings) are not searched: the source sets the mode.",
            [](auto &c) -> auto & { return c.capture.firstFrameTimeoutMs; }, 0, "off"),
        intKey(
            "capture", "input", "-1", 0, 63,
            "V4L2 input to select (vivid's HDMI input is 3); -1 keeps the current one.",
            [](auto &c) -> auto & { return c.capture.input; }, -1, "keep"),
        Key{"capture", "edid", "default", "default, keep or a file (relative to this file)",
            "The EDID (the monitor description the target reads) loaded into the capture "
            "device (source = v4l2; the virtual target and X11 have none). An HDMI bridge "
            "(TC358743) holds none after boot, and the target sends no picture until it "
            "has one; USB dongles carry their own and ignore this. default: kvmvnc's "
            "(1920x1080 at 60 Hz preferred and 50 Hz, 1280x1024, 1280x720, 1024x768, "
            "800x600, 640x480, the 720x400 text mode; no audio). keep: what the device "
            "holds. A file: 128 or 256 bytes, raw or in hex as v4l2-ctl --get-edid writes "
            "it. A reload reads the file again and loads a changed EDID (the target sees "
            "the monitor unplugged and back).",
            [](Config &config, std::string_view value) -> std::string {
                if (value.empty())
                    return "must not be empty (default, keep or a file)";
                const std::string v = lower(value);
                config.capture.edid = v == "default" || v == "keep" ? v : std::string(value);
                return {};
            },
            [](const Config &c) -> std::string { return c.capture.edid; }, Reload::Live,
            resolveEdid},
        stringKey(
            "capture", "display", "", "an X display name (:99)",
            "X display whose root window is captured (source = x11); unset: $DISPLAY. Pictures "
            "have the screen's size; width and height only size the status screen shown before "
            "the first one.",
            [](auto &c) -> auto & { return c.capture.display; }),
        intKey(
            "virtual", "boot_seconds", "3", 0, 60,
            "Seconds the virtual target shows its BIOS screen (720x400) after power-on "
            "before its desktop.",
            [](auto &c) -> auto & { return c.virtualTarget.bootSeconds; }),
        boolKey(
            "virtual", "animate", "true",
            "Moving element and clock on the virtual desktop; false gives a still "
            "picture (tests, benchmarks).",
            [](auto &c) -> auto & { return c.virtualTarget.animate; }),
        enumKey<HidTarget>(
            "hid", "target", "auto",
            "Where keyboard and mouse reports go: the USB gadget devices, or the virtual "
            "target; auto picks the virtual target when capturing it.",
            [](auto &c) -> auto & { return c.hid.target; },
            {{"auto", HidTarget::Auto},
             {"gadget", HidTarget::Gadget},
             {"virtual", HidTarget::Virtual}}),
        pathKey(
            "hid", "keyboard", "/dev/hidg0", "a path",
            "Keyboard gadget device; any path works (a FIFO or file receives the 8-byte boot "
            "reports).",
            [](auto &c) -> auto & { return c.hid.keyboard; }, notEmpty),
        pathKey(
            "hid", "mouse", "/dev/hidg1", "a path",
            "Absolute mouse gadget device; any path works (7-byte reports).",
            [](auto &c) -> auto & { return c.hid.mouse; }, notEmpty),
        pathKey(
            "hid", "relative_mouse", "/dev/hidg2", "a path",
            "Relative (boot) mouse gadget device, used with mouse_mode = relative; any path "
            "works (5-byte reports).",
            [](auto &c) -> auto & { return c.hid.relativeMouse; }, notEmpty),
        enumKey<MouseMode>(
            "hid", "mouse_mode", "absolute",
            "absolute: the pointer lands where the viewer clicks (every OS since 2000, UEFI "
            "setups). relative: a boot mouse that reports movement, for targets that mishandle "
            "absolute pointing (a BIOS setup with a mouse, some installers); turn the target's "
            "pointer acceleration off so that it follows the viewer's pointer.",
            [](auto &c) -> auto & { return c.hid.mouseMode; },
            {{"absolute", MouseMode::Absolute}, {"relative", MouseMode::Relative}}),
        live(stringKey(
            "hid", "layout", "us", "an xkb layout, optionally with variant: de, fr, de(nodeadkeys)",
            "The target's keyboard layout, for viewers that send keysyms (QEMU extended key "
            "events need none).",
            [](auto &c) -> auto & { return c.hid.layout; }, aLayoutName)),
        pathKey(
            "hid", "keymaps_dir", "", "a directory",
            "Where the generated keymap tables are; unset: the installed ones, then the build "
            "tree's.",
            [](auto &c) -> auto & { return c.hid.keymapsDir; }),
        live(intKey(
            "hid", "type_interval_ms", "10", 0, 1000,
            "Pause after each character typed from pasted text (kvmvncctl type); each report "
            "already waits for the target to read the one before.",
            [](auto &c) -> auto & { return c.hid.typeIntervalMs; })),
        stringKey(
            "hid", "paste_chord", "alt_l,alt_l,p",
            "key names separated by commas (a-z, 0-9, f1-f12, alt_l, ctrl_l, shift_l, super_l, "
            "their _r twins, ...), or off",
            "The keys a viewer presses to have its clipboard typed on the target: every key but "
            "the last tapped, the last pressed (default: Left Alt twice, then P, as PiKVM). "
            "None of them reaches the target; a tap of the first key is held back until the "
            "viewer's next key or click shows it was not the chord.",
            [](auto &c) -> auto & { return c.hid.pasteChord; }, aKeyChord),
        targetKey(
            "atx",
            "Where power and reset presses go: GPIO lines (device), the virtual "
            "target, or none; auto picks the virtual target when capturing it.",
            [](auto &c) -> auto & { return c.atx.target; }),
        stringKey(
            "atx", "chip", "gpiochip0", "a GPIO chip name (gpiochip0) or path (/dev/gpiochip0)",
            "The GPIO chip the ATX lines are on.", [](auto &c) -> auto & { return c.atx.chip; },
            notEmpty),
        intKey(
            "atx", "power_button", "23", 0, 1023, "GPIO line (output) wired to the power button.",
            [](auto &c) -> auto & { return c.atx.powerButton; }, -1, "unused"),
        intKey(
            "atx", "reset_button", "27", 0, 1023, "GPIO line (output) wired to the reset button.",
            [](auto &c) -> auto & { return c.atx.resetButton; }, -1, "unused"),
        intKey(
            "atx", "power_led", "24", 0, 1023, "GPIO line (input) reading the power LED.",
            [](auto &c) -> auto & { return c.atx.powerLed; }, -1, "unused"),
        intKey(
            "atx", "hdd_led", "22", 0, 1023, "GPIO line (input) reading the HDD LED.",
            [](auto &c) -> auto & { return c.atx.hddLed; }, -1, "unused"),
        boolKey(
            "atx", "buttons_active_low", "false",
            "Drive the button lines low to press (true) or high (false).",
            [](auto &c) -> auto & { return c.atx.buttonsActiveLow; }),
        boolKey(
            "atx", "leds_active_low", "true",
            "An LED line reads low when the LED is lit (optocoupler inputs).",
            [](auto &c) -> auto & { return c.atx.ledsActiveLow; }),
        intKey(
            "atx", "click_ms", "100", 10, 2000, "How long a click holds a button.",
            [](auto &c) -> auto & { return c.atx.clickMs; }),
        intKey(
            "atx", "long_press_ms", "5500", 1000, 20000,
            "How long a long press holds the power button (forced off).",
            [](auto &c) -> auto & { return c.atx.longPressMs; }),
        intKey(
            "atx", "busy_after_ms", "1000", 0, 10000,
            "After an action, how long further actions are refused as busy.",
            [](auto &c) -> auto & { return c.atx.busyAfterMs; }),
        stringKey(
            "atx", "wol_mac", "", "a MAC address (aa:bb:cc:dd:ee:ff)",
            "The target's MAC address for Wake-on-LAN; unset: no Wake-on-LAN.",
            [](auto &c) -> auto & { return c.atx.wolMac; }, noneOrAMacAddress),
        stringKey(
            "atx", "wol_address", "255.255.255.255", "an IPv4 address",
            "Where the Wake-on-LAN packet is sent (a broadcast address).",
            [](auto &c) -> auto & { return c.atx.wolAddress; }, anIpv4Address),
        intKey(
            "atx", "wol_port", "9", 1, 65535, "UDP port of the Wake-on-LAN packet.",
            [](auto &c) -> auto & { return c.atx.wolPort; }),
        targetKey(
            "msd",
            "Where inserted images go: the USB gadget's mass-storage LUN (device), the "
            "virtual target, or none; auto picks the virtual target when capturing it.",
            [](auto &c) -> auto & { return c.msd.target; }),
        pathKey(
            "msd", "storage", "/var/lib/kvmvnc/images", "a directory",
            "Where uploaded images are kept (created if missing).",
            [](auto &c) -> auto & { return c.msd.storage; }, notEmpty),
        // The LUN packaging/kvmvnc-gadget creates.
        stringKey(
            "msd", "lun", "/sys/kernel/config/usb_gadget/kvmvnc/functions/mass_storage.usb0/lun.0",
            "a configfs directory", "The mass-storage LUN images are inserted into.",
            [](auto &c) -> auto & { return c.msd.lun; }, notEmpty),
        intKey(
            "msd", "partial_max_age_hours", "24", 1, 8760,
            "A partial upload no connection holds is deleted once its files went unchanged this "
            "long (checked at start-up and whenever an upload begins).",
            [](auto &c) -> auto & { return c.msd.partialMaxAgeHours; }, 0, "keep them"),
        intKey(
            "msd", "free_space_reserve_mib", "64", 0, 1048576,
            "Free space (MiB) uploads leave on the storage's file system: an upload that would "
            "eat into it is refused, at the start or at the chunk that would.",
            [](auto &c) -> auto & { return c.msd.freeSpaceReserveMib; }),
        intKey(
            "health", "hot_celsius", "80", 40, 120,
            "SoC temperature at which the log, kvmvncctl status and viewers say the board is "
            "too hot (a Raspberry Pi throttles at 80-85).",
            [](auto &c) -> auto & { return c.health.hotCelsius; }),
        intKey(
            "health", "interval_ms", "2000", 200, 60000,
            "How often the temperature, throttling flags and capture rate are sampled.",
            [](auto &c) -> auto & { return c.health.intervalMs; }),
        stringKey(
            "health", "metrics_listen", "127.0.0.1", "an IPv4 or IPv6 address",
            "Address of the Prometheus endpoint (metrics_port).",
            [](auto &c) -> auto & { return c.health.metricsListen; }, anAddress),
        intKey(
            "health", "metrics_port", "0", 1, 65535,
            "TCP port serving GET /metrics (Prometheus text: temperature, throttling, capture "
            "rate and signal, viewers); 0: none.",
            [](auto &c) -> auto & { return c.health.metricsPort; }, 0, "off"),
        pathKey(
            "health", "sysfs_root", "/sys", "a directory",
            "Where the thermal zones and the Raspberry Pi firmware's get_throttled are read "
            "(another root for tests and containers).",
            [](auto &c) -> auto & { return c.health.sysfsRoot; }, notEmpty),
        live(pathKey(
            "security", "users_file", "", "a path (relative to this file)",
            "Accounts for VeNCrypt's Plain subtypes (X509Plain, TLSPlain; user name and "
            "password), made with kvmvncctl passwd. Unset: no accounts. A reload reads the "
            "file again; unsetting the key needs a restart.",
            [](auto &c) -> auto & { return c.security.usersFile; })),
        live(boolKey(
            "security", "allow_unencrypted", "false",
            "Offer plain VNC authentication (the vncpasswd password, then everything in the "
            "clear) to viewers that do not use TLS. Off: only encrypted logins (VeNCrypt, wss).",
            [](auto &c) -> auto & { return c.security.allowUnencrypted; })),
        live(boolKey(
            "security", "allow_tls_none", "false",
            "Offer VeNCrypt's X509None and TLSNone: encrypted, but without a password.",
            [](auto &c) -> auto & { return c.security.allowTlsNone; })),
        live(Key{"security", "web_origins", "", "origins separated by commas, or *",
                 "Other web pages allowed to connect with WebSocket, as browsers name them "
                 "(http://host:port). Unset: only the panel kvmvncd serves itself; a page "
                 "elsewhere (another noVNC) must be listed. * allows any. The host of each is "
                 "also a name kvmvncd answers HTTP to, besides IP addresses, localhost and its "
                 "host name: list the name browsers reach it by (https://kvm.example:5900).",
                 [](Config &config, std::string_view value) -> std::string {
                     std::vector<std::string> origins;
                     std::string item;
                     std::istringstream list{std::string(value)};
                     while (std::getline(list, item, ',')) {
                         item = trimmed(item);
                         if (item.empty())
                             continue;
                         if (item != "*" && item.find("://") == std::string::npos)
                             return "'" + item + "' is not an origin (scheme://host[:port])";
                         origins.push_back(item);
                     }
                     config.security.webOrigins = std::move(origins);
                     return {};
                 },
                 [](const Config &c) -> std::string {
                     std::string out;
                     for (const std::string &origin : c.security.webOrigins)
                         out += (out.empty() ? "" : ",") + origin;
                     return out;
                 }}),
        live(boolKey(
            "security", "anonymous_tls", "true",
            "Offer VeNCrypt's anonymous TLS subtypes (TLSVnc, TLSPlain) after the X509 ones: "
            "they stop eavesdroppers but not a man in the middle.",
            [](auto &c) -> auto & { return c.security.anonymousTls; })),
        pathKey(
            "security", "tls_cert", "", "a path (relative to this file)",
            "PEM certificate (then its chain) for VeNCrypt's X509 subtypes, HTTPS and wss. Unset, "
            "with tls_key unset: a self-signed one is made in tls_dir and kept.",
            [](auto &c) -> auto & { return c.security.tlsCert; }),
        pathKey(
            "security", "tls_key", "", "a path (relative to this file)",
            "PEM private key of tls_cert.", [](auto &c) -> auto & { return c.security.tlsKey; }),
        pathKey(
            "security", "tls_dir", "/var/lib/kvmvnc/tls", "a path (relative to this file)",
            "Where the self-signed certificate is made (cert.pem, key.pem) when tls_cert is unset; "
            "its SHA-256 fingerprint is logged at start.",
            [](auto &c) -> auto & { return c.security.tlsDir; }),
        intKey(
            "security", "handshake_timeout_ms", "10000", 500, 120000,
            "A connection that has not logged in within this time is closed.",
            [](auto &c) -> auto & { return c.security.handshakeTimeoutMs; }),
        intKey(
            "security", "login_failures_per_minute", "30", 1, 100000,
            "Failed logins a minute from all addresses together beyond which every address no "
            "password was accepted from in the last 30 days waits (30 s or more) before it may "
            "try; the others go on as before. Each address and IPv6 prefix is slowed on its own "
            "as well.",
            [](auto &c) -> auto & { return c.security.loginFailuresPerMinute; }),
        boolKey(
            "h264", "enabled", "false",
            "Send H.264 (RFB encoding 50) to viewers that decode it (noVNC 1.6 and later over "
            "HTTPS, TigerVNC 1.13 and later) while a large part of the screen keeps changing (a "
            "video, a window dragged), one encode for all of them; the areas that moved are sent "
            "again sharp once the screen is still. Needs kvmvncd built with OpenH264.",
            [](auto &c) -> auto & { return c.h264.enabled; }),
        enumKey<H264EncoderKind>(
            "h264", "encoder", "auto",
            "What encodes: auto takes the V4L2 memory-to-memory encoder at encoder_device when "
            "it opens and encodes H.264 (the Raspberry Pi 4's hardware one), else OpenH264; "
            "v4l2m2m the device (OpenH264 when it fails at start, with a warning); software "
            "OpenH264. The log says which and why.",
            [](auto &c) -> auto & { return c.h264.encoder; },
            {{"auto", H264EncoderKind::Auto},
             {"v4l2m2m", H264EncoderKind::V4l2M2m},
             {"software", H264EncoderKind::Software}}),
        stringKey(
            "h264", "encoder_device", "/dev/video11", "a device path",
            "The V4L2 memory-to-memory H.264 encoder (encoder = auto or v4l2m2m); the Pi 4's "
            "bcm2835-codec encoder is /dev/video11.",
            [](auto &c) -> auto & { return c.h264.encoderDevice; }, notEmpty),
        intKey(
            "h264", "bitrate_kbps", "5000", 100, 100000,
            "What the encoder's rate control aims at while the screen moves (5000 is PiKVM's "
            "default; a 1080p video at 30 fps stays legible at 2000).",
            [](auto &c) -> auto & { return c.h264.bitrateKbps; }),
        intKey(
            "h264", "max_fps", "30", 1, 60,
            "Pictures encoded a second at most; in between, the newest picture replaces the one "
            "before.",
            [](auto &c) -> auto & { return c.h264.maxFps; }),
        intKey(
            "h264", "gop", "3600", 0, 100000,
            "Pictures from one keyframe (IDR) to the next; 0: only when a viewer needs one (it "
            "joins, or fell behind). A viewer never waits for the interval: it asks for one.",
            [](auto &c) -> auto & { return c.h264.gop; }),
        intKey(
            "h264", "qp_min", "16", 0, 51,
            "Lowest quantiser (sharpest picture) the rate control may use.",
            [](auto &c) -> auto & { return c.h264.qpMin; }),
        intKey(
            "h264", "qp_max", "32", 0, 51,
            "Highest quantiser the rate control may use; past it the bitrate is exceeded rather "
            "than the picture blurred further. At least qp_min.",
            [](auto &c) -> auto & { return c.h264.qpMax; }),
        intKey(
            "h264", "motion_percent", "25", 1, 100,
            "A picture counts as moving when its changes cover this share of the screen.",
            [](auto &c) -> auto & { return c.h264.motionPercent; }),
        intKey(
            "h264", "motion_frames", "3", 1, 100,
            "Moving pictures in a row before viewers switch to H.264 (one large change, a "
            "window opening, stays pixels).",
            [](auto &c) -> auto & { return c.h264.motionFrames; }),
        intKey(
            "h264", "still_ms", "300", 50, 10000,
            "Viewers leave H.264 this long after the last moving picture.",
            [](auto &c) -> auto & { return c.h264.stillMs; }),
        boolKey(
            "h264", "sharpen", "true",
            "When the motion ends, send the areas that changed during it again with the viewer's "
            "own encoding, so text is exact once it stops moving. Off: the viewer keeps H.264's "
            "picture of them until they change (fewer bytes on a thin link).",
            [](auto &c) -> auto & { return c.h264.sharpen; }),
        live(Key{"log", "level", "info", "debug, info, warning or error",
                 "Least severe message logged.",
                 [](Config &config, std::string_view value) -> std::string {
                     std::string v = lower(value);
                     if (!log::parseLevel(v.c_str(), config.log.level))
                         return "'" + std::string(value) + "' is not debug, info, warning or error";
                     return {};
                 },
                 [](const Config &c) -> std::string {
                     return std::string(log::levelName(c.log.level));
                 }}),
    };
    return table;
}

// Feeds inih one line at a time so that errors can name their line (the
// library's own line numbers need a build option Debian does not set).
struct LineReader {
    std::string_view text;
    size_t position = 0;
    int line = 0;
    std::vector<int> overlongLines;
};

char *readLine(char *buffer, int size, void *stream) {
    auto *reader = static_cast<LineReader *>(stream);
    if (reader->position >= reader->text.size())
        return nullptr;
    std::string_view rest = reader->text.substr(reader->position);
    size_t newline = rest.find('\n');
    size_t length = newline == std::string_view::npos ? rest.size() : newline + 1;
    reader->position += length;
    ++reader->line;
    size_t room = static_cast<size_t>(size) - 1;
    if (length > room) {
        // Too long for inih's buffer: report it rather than parse a fragment.
        reader->overlongLines.push_back(reader->line);
        length = 0;
    }
    std::memcpy(buffer, rest.data(), length);
    buffer[length] = '\0';
    return buffer;
}

struct ParseState {
    Config config;
    LineReader reader;
    const std::string &name;
    const std::string &baseDir;
    std::vector<std::string> errors;
    std::vector<std::pair<std::string, std::string>> seen;  // section, key
};

int onValue(void *user, const char *section, const char *name, const char *value) {
    auto *state = static_cast<ParseState *>(user);
    std::string sectionName = lower(section);
    std::string keyName = lower(name);
    std::string where = state->name + ":" + std::to_string(state->reader.line) + ": [" +
                        sectionName + "] " + keyName + ": ";
    for (const auto &key : keys()) {
        if (sectionName != key.section || keyName != key.name)
            continue;
        for (const auto &previous : state->seen) {
            if (previous.first == sectionName && previous.second == keyName) {
                state->errors.push_back(where + "given twice");
                return 0;
            }
        }
        state->seen.emplace_back(sectionName, keyName);
        std::string text = trimmed(value);
        if (key.resolve)
            text = key.resolve(text, state->baseDir);
        std::string problem = key.set(state->config, text);
        if (!problem.empty()) {
            state->errors.push_back(where + problem);
            return 0;
        }
        return 1;
    }
    bool knownSection = std::any_of(keys().begin(), keys().end(),
                                    [&](const Key &key) { return sectionName == key.section; });
    state->errors.push_back(where + (knownSection ? "unknown key (see kvmvncd --help-config)"
                                                  : "unknown section (see kvmvncd --help-config)"));
    return 0;
}

}  // namespace

Config::Config() {
    for (const Key &key : keys()) {
        const std::string problem = key.set(*this, key.defaultValue);
        if (!problem.empty())
            throw std::logic_error(std::string("[") + key.section + "] " + key.name +
                                   ": the default " + problem);
    }
}

Config parseConfig(std::string_view text, const std::string &name, const std::string &baseDir) {
    ParseState state{Config{}, LineReader{text, 0, 0, {}}, name, baseDir, {}, {}};
    int result = ini_parse_stream(readLine, &state.reader, onValue, &state);
    for (int line : state.reader.overlongLines)
        state.errors.insert(state.errors.begin(),
                            name + ":" + std::to_string(line) + ": line too long");
    if (state.errors.empty() && result > 0)
        state.errors.push_back(name + ":" + std::to_string(result) +
                               ": syntax error (expected [section] or key = value)");
    if (state.errors.empty() && result < 0)
        state.errors.push_back(name + ": cannot parse");
    if (!state.errors.empty())
        throw ConfigError(state.errors.front());

    Config &config = state.config;
    if ((config.capture.width == 0) != (config.capture.height == 0))
        throw ConfigError(name + ": [capture] width, height: give both or neither");
    if (config.security.tlsCert.empty() != config.security.tlsKey.empty())
        throw ConfigError(name + ": [security] tls_cert, tls_key: give both or neither");
    if (config.h264.qpMin > config.h264.qpMax)
        throw ConfigError(name + ": [h264] qp_min, qp_max: " + std::to_string(config.h264.qpMin) +
                          " is above " + std::to_string(config.h264.qpMax));
    config.path = name;
    return config;
}

Config loadConfig(const std::string &path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw ConfigError(path + ": cannot open: " + errorText(errno));
    std::ostringstream contents;
    contents << file.rdbuf();
    size_t slash = path.rfind('/');
    std::string baseDir = slash == std::string::npos ? "." : path.substr(0, slash);
    if (baseDir.empty())
        baseDir = "/";
    return parseConfig(contents.str(), path, baseDir);
}

ReloadPlan planReload(const Config &running, const Config &next) {
    ReloadPlan plan{running, {}, {}};
    plan.config.path = next.path;
    for (const auto &key : keys()) {
        KeyChange change{std::string("[") + key.section + "] " + key.name, key.get(running),
                         key.get(next)};
        if (change.from == change.to)
            continue;
        const std::string_view name = key.name;
        const bool removesPasswords =
            (name == "passwd_file" || name == "users_file") && change.to.empty();
        // Copied through the setter, so the value is exactly what parsing
        // gave; the getter's text of a parsed value always parses again
        // (tests/config checks every key), so the setter cannot refuse it.
        if (key.reload == Reload::Live && !removesPasswords &&
            key.set(plan.config, change.to).empty())
            plan.applied.push_back(std::move(change));
        else
            plan.needsRestart.push_back(std::move(change));
    }
    return plan;
}

std::optional<Reload> reloadOf(std::string_view section, std::string_view key) {
    for (const auto &entry : keys())
        if (section == entry.section && key == entry.name)
            return entry.reload;
    return std::nullopt;
}

std::string describeKeys() {
    std::ostringstream out;
    const char *section = "";
    for (const auto &key : keys()) {
        if (std::strcmp(section, key.section) != 0) {
            section = key.section;
            out << (out.tellp() > 0 ? "\n" : "") << "[" << section << "]\n";
        }
        out << "  " << key.name << " = " << key.defaultValue << "\n"
            << "      " << key.help << "\n"
            << "      values: " << key.range << "\n"
            << "      on reload: "
            << (key.reload == Reload::Live ? "applied, viewers stay connected" : "needs a restart")
            << "\n";
    }
    return out.str();
}

}  // namespace kvmvnc::config

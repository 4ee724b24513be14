// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/pixel_format_name.h"

namespace kvmvnc::config {

enum class SourceKind { Virtual, V4l2, X11 };

struct ServerSection {
    std::string listen = "0.0.0.0";
    int port = 5900;
    std::string passwdFile;  // absolute, or empty for no authentication
    std::string desktopName = "kvmvnc";
    int maxClients = 16;
    bool xvp = true;             // noVNC's power menu; see --help-config
    std::string webRoot;         // empty: the installed panel, else the build tree's
    int stallTimeoutMs = 10000;  // a viewer that takes no byte this long goes
};

struct CaptureSection {
    SourceKind source = SourceKind::Virtual;
    std::string device = "/dev/video0";
    std::optional<capture::PixelFormat> format;  // nullopt: auto
    int width = 0;  // 0: auto (device's size; 1920 for the virtual target)
    int height = 0;
    int fps = 0;          // 0: auto (device default; 30 for the virtual target and X11)
    int input = -1;       // V4L2 input index, -1: keep
    std::string display;  // X display (source = x11), empty: $DISPLAY
    // The EDID loaded into a V4L2 device: "default" (kvmvnc's), "keep" (what
    // the device holds) or a file (absolute).
    std::string edid = "default";
    // A dongle's mode that gives no picture this long is left for the next;
    // 0: the first mode is kept.
    int firstFrameTimeoutMs = 2000;
};

struct VirtualSection {
    int bootSeconds = 3;  // BIOS screen shown after power-on
    bool animate = true;  // moving element and clock; false gives a still picture
};

enum class HidTarget { Auto, Gadget, Virtual };

// How the target is given the pointer: an absolute mouse, or a relative
// (boot) one for targets that mishandle absolute pointing.
enum class MouseMode { Absolute, Relative };

struct HidSection {
    HidTarget target = HidTarget::Auto;  // auto: the virtual target's when capturing it
    std::string keyboard = "/dev/hidg0";
    std::string mouse = "/dev/hidg1";          // absolute mouse
    std::string relativeMouse = "/dev/hidg2";  // relative (boot) mouse
    MouseMode mouseMode = MouseMode::Absolute;
    std::string layout = "us";
    std::string keymapsDir;   // empty: the installed tables, then the build tree's
    int typeIntervalMs = 10;  // pause after each pasted character
};

// Where a seam's actions go: the Linux device, the virtual target, or
// nowhere. Auto: the virtual target's when capturing it, else the device.
enum class DeviceTarget { Auto, Device, Virtual, None };

// ATX power control (PiKVM's wiring and timings by default). GPIO line
// offsets on `chip`; -1 leaves a line unused.
struct AtxSection {
    DeviceTarget target = DeviceTarget::Auto;  // device: GPIO through libgpiod
    std::string chip = "gpiochip0";            // a name under /dev or a path
    int powerButton = 23;
    int resetButton = 27;
    int powerLed = 24;
    int hddLed = 22;
    bool buttonsActiveLow = false;  // relay/optocoupler boards switch on high
    bool ledsActiveLow = true;      // optocouplers pull the input low when lit
    int clickMs = 100;
    int longPressMs = 5500;
    int busyAfterMs = 1000;  // after an action, before the next is accepted
    std::string wolMac;      // empty: no Wake-on-LAN
    std::string wolAddress = "255.255.255.255";
    int wolPort = 9;
};

// Virtual media: the image store and the USB mass-storage LUN.
struct MsdSection {
    DeviceTarget target = DeviceTarget::Auto;  // device: the configfs LUN
    std::string storage = "/var/lib/kvmvnc/images";
    // The LUN packaging/kvmvnc-gadget creates.
    std::string lun = "/sys/kernel/config/usb_gadget/kvmvnc/functions/mass_storage.usb0/lun.0";
    int partialMaxAgeHours = 24;  // 0: partial uploads are kept
    int freeSpaceReserveMib = 64;
};

// The board's and the pipeline's health (src/health): sampled every
// interval, logged on change, pushed to viewers, and served as Prometheus
// text when metrics_port is set.
struct HealthSection {
    int hotCelsius = 80;
    int intervalMs = 2000;
    std::string metricsListen = "127.0.0.1";
    int metricsPort = 0;  // 0: no metrics endpoint
    std::string sysfsRoot = "/sys";
};

// Who may connect and how (src/door).
struct SecuritySection {
    std::string usersFile;  // absolute, or empty for no accounts
    bool allowUnencrypted = false;
    bool allowTlsNone = false;
    bool anonymousTls = true;
    std::string tlsCert;  // both or neither; neither: generated in tlsDir
    std::string tlsKey;
    std::string tlsDir = "/var/lib/kvmvnc/tls";
    int handshakeTimeoutMs = 10000;
    int loginFailuresPerMinute = 30;  // from all addresses, see door::AuthThrottle
    // Web pages of other origins allowed to open a WebSocket to the RFB port
    // ("*": any); the panel's own origin always is.
    std::vector<std::string> webOrigins;
};

struct LogSection {
    log::Level level = log::Level::Info;
};

// The whole configuration, immutable once loaded (a reload loads another and
// plans from both, planReload()). Every key is described in one table
// (config.cpp) that parses it, prints --help-config and says how a reload
// treats it.
struct Config {
    std::string path;  // the file it came from, empty for defaults
    ServerSection server;
    CaptureSection capture;
    VirtualSection virtualTarget;
    HidSection hid;
    AtxSection atx;
    MsdSection msd;
    HealthSection health;
    SecuritySection security;
    LogSection log;
};

// A configuration problem, as one line naming the file, line and key:
// "kvmvnc.ini:12: [capture] fps: 500 is out of range 1..240".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What `systemctl reload` (SIGHUP) does with a key whose value changed: apply
// it to the running daemon, or leave the running value and log that the new
// one needs a restart. Each key's is in the table (--help-config shows it).
enum class Reload { Live, Restart };

// One key whose value differs between two configurations.
struct KeyChange {
    std::string key;   // "[hid] layout"
    std::string from;  // the running value, as the INI file would say it
    std::string to;    // the value in the file now
};

// What a reload does, decided from the running configuration and the one the
// file holds now (which has parsed and validated).
struct ReloadPlan {
    // The configuration that runs after the reload: the live keys' new
    // values, every other key's running one.
    Config config;
    std::vector<KeyChange> applied;       // live keys that changed
    std::vector<KeyChange> needsRestart;  // keys that changed and stay as they run
};

// Decides a reload. `[server] passwd_file` and `[security] users_file` are live (the daemon reads
// the files again on every reload, changed path or not), except that removing it, which would open
// the KVM to anyone, needs a restart: the running passwords stay.
ReloadPlan planReload(const Config &running, const Config &next);

// How `systemctl reload` treats [section] key; nullopt for an unknown key.
std::optional<Reload> reloadOf(std::string_view section, std::string_view key);

// Reads and validates an INI file. Relative paths in it are taken relative
// to the file's directory. Throws ConfigError.
Config loadConfig(const std::string &path);

// Parses INI text; `name` names it in errors and `baseDir` anchors relative
// paths. Throws ConfigError.
Config parseConfig(std::string_view text, const std::string &name, const std::string &baseDir);

// Every key with its default, range and help, for --help-config.
std::string describeKeys();

}  // namespace kvmvnc::config

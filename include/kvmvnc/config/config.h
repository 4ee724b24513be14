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
    std::string listen;
    int port{};
    int rfbPort{};           // 0: none
    std::string passwdFile;  // absolute, or empty for no authentication
    std::string desktopName;
    int maxClients{};
    bool xvp{};            // noVNC's power menu; see --help-config
    std::string webRoot;   // empty: the installed panel, else the build tree's
    int stallTimeoutMs{};  // a viewer that takes no byte this long goes
};

struct CaptureSection {
    SourceKind source{};
    std::string device;
    std::optional<capture::PixelFormat> format;  // nullopt: auto
    int width{};  // 0: auto (device's size; 1920 for the virtual target)
    int height{};
    int fps{};            // 0: auto (device default; 30 for the virtual target and X11)
    int input{};          // V4L2 input index, -1: keep
    std::string display;  // X display (source = x11), empty: $DISPLAY
    // The EDID loaded into a V4L2 device: "default" (kvmvnc's), "keep" (what
    // the device holds) or a file (absolute).
    std::string edid;
    // A dongle's mode that gives no picture this long is left for the next;
    // 0: the first mode is kept.
    int firstFrameTimeoutMs{};
};

struct VirtualSection {
    int bootSeconds{};  // BIOS screen shown after power-on
    bool animate{};     // moving element and clock; false gives a still picture
};

enum class HidTarget { Auto, Gadget, Virtual };

// How the target is given the pointer: an absolute mouse, or a relative
// (boot) one for targets that mishandle absolute pointing.
enum class MouseMode { Absolute, Relative };

struct HidSection {
    HidTarget target{};  // auto: the virtual target's when capturing it
    std::string keyboard;
    std::string mouse;          // absolute mouse
    std::string relativeMouse;  // relative (boot) mouse
    MouseMode mouseMode{};
    std::string layout;
    std::string keymapsDir;  // empty: the installed tables, then the build tree's
    int typeIntervalMs{};    // pause after each pasted character
    std::string pasteChord;  // input/key_chord.h: "alt_l,alt_l,p", or "off"
};

// Where a seam's actions go: the Linux device, the virtual target, or
// nowhere. Auto: the virtual target's when capturing it, else the device.
enum class DeviceTarget { Auto, Device, Virtual, None };

// ATX power control (PiKVM's wiring and timings by default). GPIO line
// offsets on `chip`; -1 leaves a line unused.
struct AtxSection {
    DeviceTarget target{};  // device: GPIO through libgpiod
    std::string chip;       // a name under /dev or a path
    int powerButton{};
    int resetButton{};
    int powerLed{};
    int hddLed{};
    bool buttonsActiveLow{};  // relay/optocoupler boards switch on high
    bool ledsActiveLow{};     // optocouplers pull the input low when lit
    int clickMs{};
    int longPressMs{};
    int busyAfterMs{};   // after an action, before the next is accepted
    std::string wolMac;  // empty: no Wake-on-LAN
    std::string wolAddress;
    int wolPort{};
};

// Virtual media: the image store and the USB mass-storage LUN.
struct MsdSection {
    DeviceTarget target{};  // device: the configfs LUN
    std::string storage;
    std::string lun;
    int partialMaxAgeHours{};  // 0: partial uploads are kept
    int freeSpaceReserveMib{};
};

// The board's and the pipeline's health (src/health): sampled every
// interval, logged on change, pushed to viewers, and served as Prometheus
// text when metrics_port is set.
struct HealthSection {
    int hotCelsius{};
    int intervalMs{};
    std::string metricsListen;
    int metricsPort{};  // 0: no metrics endpoint
    std::string sysfsRoot;
};

// Who may connect and how (src/door).
struct SecuritySection {
    std::string usersFile;  // absolute, or empty for no accounts
    bool allowUnencrypted{};
    bool allowTlsNone{};
    bool anonymousTls{};
    std::string tlsCert;  // both or neither; neither: generated in tlsDir
    std::string tlsKey;
    std::string tlsDir;
    int handshakeTimeoutMs{};
    int loginFailuresPerMinute{};  // from all addresses, see door::AuthThrottle
    // Web pages of other origins allowed to open a WebSocket to the RFB port
    // ("*": any); the panel's own origin always is.
    std::vector<std::string> webOrigins;
};

// H.264 (RFB encoding 50) for viewers that list it, while the screen is in
// large continuous motion (src/encode, src/rfb/h264_updates.h).
// Which H.264 encoder: a V4L2 M2M device (the Pi 4's) when it can, the
// device only (OpenH264 when it fails), or OpenH264 only.
enum class H264EncoderKind { Auto, V4l2M2m, Software };

struct H264Section {
    bool enabled{};
    H264EncoderKind encoder{};
    std::string encoderDevice;  // the V4L2 M2M encoder's node
    int bitrateKbps{};          // encode::H264Options
    int maxFps{};
    int gop{};
    int qpMin{};
    int qpMax{};
    int motionPercent{};  // rfb::MotionPolicy::Options
    int motionFrames{};
    int stillMs{};
    bool sharpen{};
};

struct LogSection {
    log::Level level{};
};

// The whole configuration, immutable once loaded (a reload loads another and
// plans from both, planReload()). Every key is described in one table
// (config.cpp) that parses it, gives its default, prints --help-config and
// says how a reload treats it; the sections above hold no defaults of their
// own.
struct Config {
    // Every key at the table's default.
    Config();

    std::string path;  // the file it came from, empty for defaults
    ServerSection server;
    CaptureSection capture;
    VirtualSection virtualTarget;
    HidSection hid;
    AtxSection atx;
    MsdSection msd;
    HealthSection health;
    SecuritySection security;
    H264Section h264;
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

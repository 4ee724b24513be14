// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/daemon.h"

#include <signal.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "kvmvnc/app/security_setup.h"
#include "kvmvnc/atx/gpio_atx_pins.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/v4l2_capture.h"
#include "kvmvnc/doctor/check_hardware.h"
#ifdef KVMVNC_HAVE_X11
#include "kvmvnc/capture/x11_capture.h"
#endif
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/input/gadget_hid.h"
#include "kvmvnc/input/text_typer.h"
#include "kvmvnc/msd/configfs_drive.h"
#include "kvmvnc/target/virtual_atx_pins.h"
#include "kvmvnc/target/virtual_drive.h"
#include "kvmvnc/target/virtual_hid.h"
#include "kvmvnc/target/virtual_screen.h"

namespace kvmvnc::app {

namespace {

// The panel's files: the configured folder, else the installed one, else the
// build tree's (a daemon run from the build tree); empty when none has an
// index.html.
std::string webRootOf(const config::ServerSection &server) {
    if (!server.webRoot.empty())
        return server.webRoot;
    for (const char *dir : {KVMVNC_WEB_INSTALL_DIR, KVMVNC_WEB_BUILD_DIR}) {
        std::error_code error;
        if (std::filesystem::exists(std::string(dir) + "/index.html", error))
            return dir;
    }
    return {};
}

// What the start-up log says about who may log in, and how.
std::string describeLogins(const door::Credentials &credentials,
                           const config::SecuritySection &security) {
    if (credentials.none())
        return "no authentication";
    std::string out;
    if (!credentials.users.empty())
        out += std::to_string(credentials.users.entries().size()) + " accounts: X509Plain" +
               (security.anonymousTls ? ", TLSPlain" : "");
    if (credentials.vnc) {
        out += out.empty() ? "" : "; ";
        out += credentials.vnc->viewOnly.empty() ? "VNC password: X509Vnc"
                                                 : "VNC and view-only passwords: X509Vnc";
        out += security.anonymousTls ? ", TLSVnc" : "";
        out += security.allowUnencrypted ? ", unencrypted VncAuth" : "";
    }
    return out;
}

constexpr const char *kLog = "daemon";
constexpr Size kVirtualDefaultSize{1920, 1080};
constexpr int kVirtualDefaultFps = 30;
constexpr int kX11DefaultFps = 30;
// What viewers see before a device's first picture, unless width and height say.
constexpr Size kDeviceDefaultSize{1280, 720};

// Hands viewers' input from the RFB server to the input router.
class RouterAdapter final : public rfb::RfbInputHandler {
public:
    explicit RouterAdapter(input::InputRouter &router) : router_(router) {}
    void keysymEvent(uint64_t viewer, bool down, uint32_t keysym) override {
        router_.keysymEvent(viewer, down, keysym);
    }
    void scancodeEvent(uint64_t viewer, bool down, uint32_t keycode, uint32_t keysym) override {
        // Viewers that cannot tell the physical key send key code 0.
        if (keycode == 0)
            router_.keysymEvent(viewer, down, keysym);
        else
            router_.scancodeEvent(viewer, down, keycode);
    }
    void pointerEvent(uint64_t viewer, uint8_t buttons, int x, int y, Size screen) override {
        router_.pointerEvent(viewer, buttons, x, y, screen);
    }
    void viewerLeft(uint64_t viewer) override { router_.viewerLeft(viewer); }

private:
    input::InputRouter &router_;
};

// What the control protocol's HealthState says of a snapshot.
control::HealthStateBody healthStateOf(const health::HealthSnapshot &snapshot) {
    static_assert(static_cast<int>(capture::SignalState::DeviceError) == control::kMaxSignalState,
                  "HealthState's signal numbers are SignalState's, in order");
    control::HealthStateBody state;
    state.temperatureKnown = snapshot.milliCelsius.has_value();
    state.milliCelsius = snapshot.milliCelsius.value_or(0);
    state.throttlingKnown = snapshot.throttled.has_value();
    state.throttled = snapshot.throttled.value_or(0);
    state.hot = snapshot.hot;
    state.signal = static_cast<uint8_t>(snapshot.signal);
    state.viewers = static_cast<uint16_t>(std::min<uint32_t>(snapshot.viewers, 0xffff));
    state.fpsHundredths = snapshot.fpsHundredths;
    state.width = static_cast<uint16_t>(std::clamp(snapshot.picture.width, 0, 0xffff));
    state.height = static_cast<uint16_t>(std::clamp(snapshot.picture.height, 0, 0xffff));
    return state;
}

// What the control protocol's EdidGetState says of the capture device's EDID.
control::EdidStateBody edidStateOf(const capture::EdidReport &report) {
    using State = control::EdidStateBody::State;
    control::EdidStateBody state;
    switch (report.state) {
    case capture::EdidReport::State::Unknown:
        state.state = State::Unknown;
        break;
    case capture::EdidReport::State::Present:
        state.state = State::Present;
        break;
    case capture::EdidReport::State::Empty:
        state.state = State::Empty;
        break;
    case capture::EdidReport::State::Unsupported:
        state.state = State::Unsupported;
        break;
    case capture::EdidReport::State::Failed:
        state.state = State::Failed;
        break;
    }
    state.setting = report.setting;
    state.node = report.node;
    state.detail = report.detail;
    state.edid = report.bytes;
    return state;
}

// Auto means the virtual target's when capturing it, else the device.
config::DeviceTarget resolve(config::DeviceTarget target, bool haveMachine) {
    if (target == config::DeviceTarget::Auto)
        return haveMachine ? config::DeviceTarget::Virtual : config::DeviceTarget::Device;
    return target;
}

std::unique_ptr<atx::AtxController> makeAtx(
    const config::AtxSection &cfg, const std::shared_ptr<target::VirtualMachine> &machine) {
    const config::DeviceTarget where = resolve(cfg.target, machine != nullptr);
    if (where == config::DeviceTarget::None)
        return nullptr;
    std::unique_ptr<atx::AtxPins> pins;
    if (where == config::DeviceTarget::Virtual) {
        if (!machine)
            throw std::runtime_error("[atx] target = virtual needs [capture] source = virtual");
        pins = std::make_unique<target::VirtualAtxPins>(machine);
    } else {
        atx::GpioAtxOptions options;
        options.chip = cfg.chip;
        options.powerButton = cfg.powerButton;
        options.resetButton = cfg.resetButton;
        options.powerLed = cfg.powerLed;
        options.hddLed = cfg.hddLed;
        options.buttonsActiveLow = cfg.buttonsActiveLow;
        options.ledsActiveLow = cfg.ledsActiveLow;
        try {
            pins = std::make_unique<atx::GpioAtxPins>(options);
        } catch (const std::exception &e) {
            LOG_WARN(kLog, "no ATX power control: %s", e.what());
            return nullptr;
        }
    }
    atx::AtxTimings timings;
    timings.click = std::chrono::milliseconds{cfg.clickMs};
    timings.longPress = std::chrono::milliseconds{cfg.longPressMs};
    timings.busyAfter = std::chrono::milliseconds{cfg.busyAfterMs};
    std::optional<atx::WakeOnLanTarget> wakeOnLan;
    if (!cfg.wolMac.empty()) {
        atx::WakeOnLanTarget target;
        atx::parseMacAddress(cfg.wolMac, target.mac);  // validated by the config
        target.address = cfg.wolAddress;
        target.port = static_cast<uint16_t>(cfg.wolPort);
        wakeOnLan = target;
    }
    auto controller = std::make_unique<atx::AtxController>(std::move(pins), timings, wakeOnLan);
    LOG_INFO(kLog, "ATX power control: %s", controller->description().c_str());
    return controller;
}

// What run() waits for: SIGINT and SIGTERM stop, SIGHUP reloads.
sigset_t daemonSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

}  // namespace

void Daemon::blockDaemonSignals() {
    const sigset_t set = daemonSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

Daemon::Daemon(const config::Config &cfg) : startConfig_(cfg) {
    log::setLevel(cfg.log.level);

    rfb::RfbServerOptions serverOptions;
    serverOptions.desktopName = cfg.server.desktopName;
    serverOptions.maxClients = cfg.server.maxClients;
    serverOptions.stallTimeout = std::chrono::milliseconds{cfg.server.stallTimeoutMs};
    std::shared_ptr<const door::Credentials> credentials = loadCredentials(cfg);
    if (credentials->none()) {
        LOG_WARN(kLog, "**********************************************************");
        LOG_WARN(kLog, "NO AUTHENTICATION: anyone who reaches %s:%d controls the target.",
                 cfg.server.listen.c_str(), cfg.server.port);
        LOG_WARN(kLog, "Set [security] users_file (kvmvncctl passwd) or [server] passwd_file");
        LOG_WARN(kLog, "(TigerVNC's vncpasswd).");
        LOG_WARN(kLog, "**********************************************************");
    }
    if (!credentials->none() && !credentials->vnc && credentials->users.empty())
        LOG_WARN(kLog, "%s holds no accounts: nobody can log in (kvmvncctl passwd NAME)",
                 cfg.security.usersFile.c_str());
    std::shared_ptr<const door::TlsServer> tls;
    try {
        tls = makeTlsServer(cfg.security);
    } catch (const std::exception &e) {
        // Without credentials nothing depends on TLS (None is all there is),
        // so a demo or test run in a folder of its own need not fail over a
        // certificate directory it cannot write; with credentials it must.
        if (!credentials->none() || cfg.security.allowTlsNone)
            throw std::runtime_error(std::string("no TLS for VeNCrypt: ") + e.what() +
                                     " (set [security] tls_dir, or tls_cert and tls_key)");
        LOG_WARN(kLog, "no TLS (%s); without credentials viewers connect with None anyway",
                 e.what());
    }

    std::shared_ptr<const input::KeysymMap> layout = loadKeyboardLayout(cfg.hid);

    std::unique_ptr<capture::FrameSource> source;
    Size startSize;
    if (cfg.capture.source == config::SourceKind::Virtual) {
        target::MachineOptions machineOptions;
        machineOptions.keyboardLayout = layout;
        if (cfg.capture.width > 0)
            machineOptions.desktopSize = {cfg.capture.width, cfg.capture.height};
        else
            machineOptions.desktopSize = kVirtualDefaultSize;
        machineOptions.biosDuration = std::chrono::seconds{cfg.virtualTarget.bootSeconds};
        machine_ = std::make_shared<target::VirtualMachine>(machineOptions);
        const int fps = cfg.capture.fps > 0 ? cfg.capture.fps : kVirtualDefaultFps;
        source = std::make_unique<target::VirtualScreen>(machine_, fps, cfg.virtualTarget.animate);
        startSize = machine_->view().outputSize;
    } else if (cfg.capture.source == config::SourceKind::X11) {
#ifdef KVMVNC_HAVE_X11
        capture::X11Options x11;
        x11.display = cfg.capture.display;
        x11.fps = cfg.capture.fps > 0 ? cfg.capture.fps : kX11DefaultFps;
        auto screen = std::make_unique<capture::X11Capture>(x11);
        if (screen->displayName().empty())
            throw std::runtime_error(
                "[capture] source = x11: no display (set [capture] display, or DISPLAY)");
        source = std::move(screen);
        startSize = cfg.capture.width > 0 ? Size{cfg.capture.width, cfg.capture.height}
                                          : kDeviceDefaultSize;
#else
        throw std::runtime_error(
            "[capture] source = x11: kvmvncd was built without X11 capture (KVMVNC_X11=OFF)");
#endif
    } else {
        capture::V4l2Options v4l2;
        v4l2.device = cfg.capture.device;
        v4l2.format = cfg.capture.format;
        v4l2.width = cfg.capture.width;
        v4l2.height = cfg.capture.height;
        v4l2.fps = cfg.capture.fps;
        v4l2.input = cfg.capture.input;
        v4l2.firstFrameTimeout = std::chrono::milliseconds{cfg.capture.firstFrameTimeoutMs};
        edid_ = std::make_shared<capture::EdidMailbox>(loadEdidRequest(cfg.capture));
        source = std::make_unique<capture::V4l2Capture>(v4l2, edid_);
        startSize = cfg.capture.width > 0 ? Size{cfg.capture.width, cfg.capture.height}
                                          : kDeviceDefaultSize;
    }
    serverOptions.initialSize = startSize;

    const bool virtualHid = cfg.hid.target == config::HidTarget::Virtual ||
                            (cfg.hid.target == config::HidTarget::Auto && machine_ != nullptr);
    const bool relativeMouse = cfg.hid.mouseMode == config::MouseMode::Relative;
    if (virtualHid) {
        if (!machine_)
            throw std::runtime_error("[hid] target = virtual needs [capture] source = virtual");
        hid_ = std::make_unique<target::VirtualHid>(machine_);
        LOG_INFO(kLog, "keyboard and %s mouse go to the virtual target",
                 relativeMouse ? "relative" : "absolute");
    } else {
        hid_ = std::make_unique<input::GadgetHid>(
            cfg.hid.keyboard, relativeMouse ? cfg.hid.relativeMouse : cfg.hid.mouse);
        if (relativeMouse)
            LOG_INFO(kLog, "the mouse is relative (%s)", cfg.hid.relativeMouse.c_str());
    }
    router_ = std::make_unique<input::InputRouter>(
        layout, *hid_, relativeMouse ? input::MouseMode::Relative : input::MouseMode::Absolute);
    typer_ = std::make_unique<input::TextTyper>(*router_,
                                                std::chrono::milliseconds{cfg.hid.typeIntervalMs});
    routerAdapter_ = std::make_unique<RouterAdapter>(*router_);
    serverOptions.input = routerAdapter_.get();

    atx_ = makeAtx(cfg.atx, machine_);
    const config::DeviceTarget media = resolve(cfg.msd.target, machine_ != nullptr);
    if (media != config::DeviceTarget::None) {
        try {
            msd::StoreLimits limits;
            limits.partialMaxAge = std::chrono::hours(cfg.msd.partialMaxAgeHours);
            limits.freeSpaceReserve = static_cast<uint64_t>(cfg.msd.freeSpaceReserveMib) << 20;
            store_ = std::make_unique<msd::ImageStore>(cfg.msd.storage, limits);
            if (media == config::DeviceTarget::Virtual) {
                if (!machine_)
                    throw std::runtime_error(
                        "[msd] target = virtual needs [capture] source = virtual");
                drive_ = std::make_unique<target::VirtualDrive>(machine_);
            } else {
                drive_ = std::make_unique<msd::ConfigfsDrive>(cfg.msd.lun);
            }
            LOG_INFO(kLog, "virtual media: images in %s, drive %s", cfg.msd.storage.c_str(),
                     drive_->description().c_str());
        } catch (const std::runtime_error &e) {
            if (media == config::DeviceTarget::Virtual && !machine_)
                throw;
            LOG_WARN(kLog, "no virtual media: %s", e.what());
            store_.reset();
            drive_.reset();
        }
    }
    control::ControlDevices devices{
        atx_.get(), !cfg.atx.wolMac.empty(), store_.get(), drive_.get(), typer_.get(), true};
    if (edid_)
        devices.edid = [edid = edid_] { return edidStateOf(edid->current()); };
    devices.hardwareCheck = [this] { return checkHardware(); };
    control_ = std::make_unique<control::ControlService>(std::move(devices));
    serverOptions.control = control_.get();
    serverOptions.xvp = cfg.server.xvp;

    server_ = std::make_unique<rfb::RfbServer>(serverOptions);
    door::FrontDoorOptions doorOptions;
    doorOptions.listen = cfg.server.listen;
    doorOptions.port = cfg.server.port;
    doorOptions.policy = securityPolicyOf(cfg.security);
    doorOptions.credentials = credentials;
    doorOptions.tls = tls;
    doorOptions.handshakeTimeout = std::chrono::milliseconds{cfg.security.handshakeTimeoutMs};
    doorOptions.stallTimeout = std::chrono::milliseconds{cfg.server.stallTimeoutMs};
    doorOptions.throttle.failuresPerMinute = cfg.security.loginFailuresPerMinute;
    doorOptions.webRoot = webRootOf(cfg.server);
    const std::string webRoot = doorOptions.webRoot;
    doorOptions.handoff = [server = server_.get()](UniqueFd connection,
                                                   const door::ViewerIdentity &viewer) {
        return server->adopt(std::move(connection), viewer);
    };
    door_ = std::make_unique<door::FrontDoor>(std::move(doorOptions));
    listenPort_ = door_->port();
    LOG_INFO(kLog, "listening on %s port %d (%s)", cfg.server.listen.c_str(), door_->port(),
             describeLogins(*credentials, cfg.security).c_str());
    if (webRoot.empty())
        LOG_WARN(kLog, "no browser panel: no index.html in %s or %s ([server] web_root)",
                 KVMVNC_WEB_INSTALL_DIR, KVMVNC_WEB_BUILD_DIR);
    else
        LOG_INFO(kLog, "browser panel on %s://%s:%d/ from %s", tls ? "https" : "http",
                 cfg.server.listen.c_str(), door_->port(), webRoot.c_str());
    hid_->setLedCallback([server = server_.get()](uint8_t leds) { server->setKeyboardLeds(leds); });
    hid_->setHostCallback([server = server_.get(), control = control_.get()](bool listening) {
        server->setHostListening(listening);
        control->setHostListening(listening);
    });
    if (!hid_->hostListening()) {
        server_->setHostListening(false);
        control_->setHostListening(false);
    }
    capture_ = std::make_unique<capture::CaptureThread>(std::move(source), mailbox_, startSize);
    pump_ = std::make_unique<FramePump>(mailbox_, *server_);
    pump_->start();
    capture_->start();

    health::HealthOptions healthOptions;
    healthOptions.interval = std::chrono::milliseconds{cfg.health.intervalMs};
    healthOptions.hotCelsius = cfg.health.hotCelsius;
    healthOptions.sysfsRoot = cfg.health.sysfsRoot;
    health::HealthSources sources;
    sources.framesCaptured = [capture = capture_.get()] { return capture->framesCaptured(); };
    sources.signal = [capture = capture_.get()] { return capture->signalState(); };
    sources.picture = [capture = capture_.get()] { return capture->pictureSize(); };
    sources.viewers = [server = server_.get()] {
        return static_cast<uint32_t>(std::max(server->clientCount(), 0));
    };
    health_ = std::make_unique<health::HealthMonitor>(
        healthOptions, std::move(sources),
        [control = control_.get()](const health::HealthSnapshot &snapshot) {
            control->setHealth(healthStateOf(snapshot));
        });
    health_->start();
    if (cfg.health.metricsPort > 0) {
        // Not worth refusing to start over: the KVM works without it.
        try {
            metrics_ = std::make_unique<health::MetricsServer>(
                cfg.health.metricsListen, cfg.health.metricsPort,
                [monitor = health_.get()] { return health::prometheusText(monitor->latest()); });
            metrics_->start();
            LOG_INFO(kLog, "Prometheus metrics on http://%s:%d/metrics",
                     cfg.health.metricsListen.c_str(), metrics_->port());
        } catch (const std::exception &e) {
            LOG_ERROR(kLog, "no metrics endpoint: %s", e.what());
        }
    }
    reloader_ = std::make_unique<ConfigReloader>(
        cfg, ReloadTargets{*server_, *door_, *router_, *typer_, edid_.get()}, credentials);
}

Daemon::~Daemon() {
    // Health reads the stages below: it goes first. Then in reverse order
    // of the data flow: stop producing, then consuming, then serving.
    if (metrics_)
        metrics_->stop();
    health_->stop();
    capture_->stop();
    mailbox_.close();
    pump_->stop();
    hid_->setLedCallback(nullptr);
    hid_->setHostCallback(nullptr);
    // The door relays to the server's viewers: it closes them first.
    door_.reset();
    server_.reset();
    // No viewer is left to ask: the control service, then what it drove.
    control_.reset();
    atx_.reset();
    // No viewer can send input any more: leave nothing pressed on the target.
    router_->releaseAll();
}

control::HardwareReportBody Daemon::checkHardware() {
    static_assert(static_cast<int>(doctor::Status::Skipped) == control::kMaxHardwareStatus,
                  "HardwareCheck's status numbers are doctor::Status's, in order");
    std::lock_guard lock(hardwareCheckMutex_);
    config::Config cfg = startConfig_;
    if (edid_)
        cfg.capture.edid = edid_->requested().setting;
    doctor::CheckOptions options;
    options.daemonPort = listenPort_.load();
    control::HardwareReportBody report;
    report.configuration = cfg.path;
    for (doctor::HardwareCheck &check : doctor::checkHardware(cfg, doctor::LinuxMachine(), options))
        report.checks.push_back({static_cast<uint8_t>(check.status), std::move(check.name),
                                 std::move(check.finding), std::move(check.fix)});
    return report;
}

int Daemon::run() {
    const sigset_t set = daemonSignals();
    int signalNumber = 0;
    while (true) {
        if (sigwait(&set, &signalNumber) != 0)
            return 1;
        if (signalNumber != SIGHUP)
            break;
        reloader_->reload();
    }
    PumpStats stats = pump_->stats();
    LOG_INFO(kLog,
             "%s: stopping after %llu frames (%llu changed, %llu tiles, %llu scrolls, %llu "
             "resizes)",
             strsignal(signalNumber), static_cast<unsigned long long>(stats.frames),
             static_cast<unsigned long long>(stats.changedFrames),
             static_cast<unsigned long long>(stats.changedTiles),
             static_cast<unsigned long long>(stats.moves),
             static_cast<unsigned long long>(stats.resizes));
    return 0;
}

}  // namespace kvmvnc::app

// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/daemon.h"

#include <signal.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include "kvmvnc/app/security_setup.h"
#include "kvmvnc/app/stage_options.h"
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
constexpr int kVirtualDefaultFps = 30;
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

// Says loudly that anyone may log in, or that nobody can.
void warnAboutLogins(const door::Credentials &credentials, const config::Config &cfg) {
    if (credentials.none()) {
        LOG_WARN(kLog, "**********************************************************");
        LOG_WARN(kLog, "NO AUTHENTICATION: anyone who reaches %s:%d controls the target.",
                 cfg.server.listen.c_str(), cfg.server.port);
        LOG_WARN(kLog, "Set [security] users_file (kvmvncctl passwd) or [server] passwd_file");
        LOG_WARN(kLog, "(TigerVNC's vncpasswd).");
        LOG_WARN(kLog, "**********************************************************");
    }
    if (!credentials.none() && !credentials.vnc && credentials.users.empty())
        LOG_WARN(kLog, "%s holds no accounts: nobody can log in (kvmvncctl passwd NAME)",
                 cfg.security.usersFile.c_str());
}

// TLS for VeNCrypt, HTTPS and wss; null when there is none and nothing needs it.
std::shared_ptr<const door::TlsServer> makeTls(const config::SecuritySection &security,
                                               const door::Credentials &credentials) {
    try {
        return makeTlsServer(security);
    } catch (const std::exception &e) {
        // Without credentials nothing depends on TLS (None is all there is),
        // so a demo or test run in a folder of its own need not fail over a
        // certificate directory it cannot write; with credentials it must.
        if (!credentials.none() || security.allowTlsNone)
            throw std::runtime_error(std::string("no TLS for VeNCrypt: ") + e.what() +
                                     " (set [security] tls_dir, or tls_cert and tls_key)");
        LOG_WARN(kLog, "no TLS (%s); without credentials viewers connect with None anyway",
                 e.what());
        return nullptr;
    }
}

// Where the picture comes from, and what comes with the source.
struct Source {
    std::unique_ptr<capture::FrameSource> frames;
    Size startSize;                                   // shown until the first picture
    std::shared_ptr<target::VirtualMachine> machine;  // the virtual target's
    std::shared_ptr<capture::EdidMailbox> edid;       // a V4L2 device's
};

Source makeSource(const config::Config &cfg, std::shared_ptr<const input::KeysymMap> layout) {
    Source source;
    const config::CaptureSection &capture = cfg.capture;
    source.startSize = capture.width > 0 ? Size{capture.width, capture.height} : kDeviceDefaultSize;
    if (capture.source == config::SourceKind::Virtual) {
        target::MachineOptions options = machineOptionsOf(capture, cfg.virtualTarget);
        options.keyboardLayout = std::move(layout);
        source.machine = std::make_shared<target::VirtualMachine>(options);
        const int fps = capture.fps > 0 ? capture.fps : kVirtualDefaultFps;
        source.frames =
            std::make_unique<target::VirtualScreen>(source.machine, fps, cfg.virtualTarget.animate);
        source.startSize = source.machine->view().outputSize;
    } else if (capture.source == config::SourceKind::X11) {
#ifdef KVMVNC_HAVE_X11
        auto screen = std::make_unique<capture::X11Capture>(x11OptionsOf(capture));
        if (screen->displayName().empty())
            throw std::runtime_error(
                "[capture] source = x11: no display (set [capture] display, or DISPLAY)");
        source.frames = std::move(screen);
#else
        throw std::runtime_error(
            "[capture] source = x11: kvmvncd was built without X11 capture (KVMVNC_X11=OFF)");
#endif
    } else {
        source.edid = std::make_shared<capture::EdidMailbox>(loadEdidRequest(capture));
        source.frames = std::make_unique<capture::V4l2Capture>(v4l2OptionsOf(capture), source.edid);
    }
    return source;
}

// The keyboard and mouse: the virtual target's, or the USB gadget's.
std::unique_ptr<input::HidSink> makeHid(const config::HidSection &cfg,
                                        const std::shared_ptr<target::VirtualMachine> &machine) {
    const bool virtualHid = cfg.target == config::HidTarget::Virtual ||
                            (cfg.target == config::HidTarget::Auto && machine != nullptr);
    const bool relativeMouse = cfg.mouseMode == config::MouseMode::Relative;
    if (virtualHid) {
        if (!machine)
            throw std::runtime_error("[hid] target = virtual needs [capture] source = virtual");
        auto hid = std::make_unique<target::VirtualHid>(machine);
        LOG_INFO(kLog, "keyboard and %s mouse go to the virtual target",
                 relativeMouse ? "relative" : "absolute");
        return hid;
    }
    auto hid = std::make_unique<input::GadgetHid>(cfg.keyboard,
                                                  relativeMouse ? cfg.relativeMouse : cfg.mouse);
    if (relativeMouse)
        LOG_INFO(kLog, "the mouse is relative (%s)", cfg.relativeMouse.c_str());
    return hid;
}

// Null when [atx] target = none, or when the GPIO lines cannot be had.
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
        try {
            pins = std::make_unique<atx::GpioAtxPins>(gpioAtxOptionsOf(cfg));
        } catch (const std::exception &e) {
            LOG_WARN(kLog, "no ATX power control: %s", e.what());
            return nullptr;
        }
    }
    auto controller =
        std::make_unique<atx::AtxController>(std::move(pins), atxTimingsOf(cfg), wakeOnLanOf(cfg));
    LOG_INFO(kLog, "ATX power control: %s", controller->description().c_str());
    return controller;
}

// Virtual media: the image store and the drive images go into.
struct Media {
    std::unique_ptr<msd::ImageStore> store;
    std::unique_ptr<msd::Drive> drive;
};

// None when [msd] target = none, or when the store or the LUN cannot be had.
Media makeMedia(const config::MsdSection &cfg,
                const std::shared_ptr<target::VirtualMachine> &machine) {
    const config::DeviceTarget where = resolve(cfg.target, machine != nullptr);
    if (where == config::DeviceTarget::None)
        return {};
    try {
        Media media;
        media.store = std::make_unique<msd::ImageStore>(cfg.storage, storeLimitsOf(cfg));
        if (where == config::DeviceTarget::Virtual) {
            if (!machine)
                throw std::runtime_error("[msd] target = virtual needs [capture] source = virtual");
            media.drive = std::make_unique<target::VirtualDrive>(machine);
        } else {
            media.drive = std::make_unique<msd::ConfigfsDrive>(cfg.lun);
        }
        LOG_INFO(kLog, "virtual media: images in %s, drive %s", cfg.storage.c_str(),
                 media.drive->description().c_str());
        return media;
    } catch (const std::runtime_error &e) {
        if (where == config::DeviceTarget::Virtual && !machine)
            throw;
        LOG_WARN(kLog, "no virtual media: %s", e.what());
        return {};
    }
}

// The control protocol's EDID query; empty when the source has no EDID.
std::function<control::EdidStateBody()> edidQueryOf(std::shared_ptr<capture::EdidMailbox> edid) {
    if (!edid)
        return nullptr;
    return [edid = std::move(edid)] { return edidStateOf(edid->current()); };
}

// The listening socket, handing viewers to `server`; logs where and for whom.
std::unique_ptr<door::FrontDoor> makeFrontDoor(
    const config::Config &cfg, const std::shared_ptr<const door::Credentials> &credentials,
    const std::shared_ptr<const door::TlsServer> &tls, rfb::RfbServer &server) {
    door::FrontDoorOptions options = frontDoorOptionsOf(cfg.server, cfg.security);
    options.credentials = credentials;
    options.tls = tls;
    options.webRoot = webRootOf(cfg.server);
    const std::string webRoot = options.webRoot;
    options.handoff = [server = &server](UniqueFd connection, const door::ViewerIdentity &viewer) {
        return server->adopt(std::move(connection), viewer);
    };
    auto door = std::make_unique<door::FrontDoor>(std::move(options));
    LOG_INFO(kLog, "listening on %s port %d (%s)", cfg.server.listen.c_str(), door->port(),
             describeLogins(*credentials, cfg.security).c_str());
    if (door->rfbPort() > 0)
        LOG_INFO(kLog, "RFB viewers only on port %d (greeted at once)", door->rfbPort());
    if (webRoot.empty())
        LOG_WARN(kLog, "no browser panel: no index.html in %s or %s ([server] web_root)",
                 KVMVNC_WEB_INSTALL_DIR, KVMVNC_WEB_BUILD_DIR);
    else
        LOG_INFO(kLog, "browser panel on %s://%s:%d/ from %s", tls ? "https" : "http",
                 cfg.server.listen.c_str(), door->port(), webRoot.c_str());
    return door;
}

// Samples the board and the pipeline, and pushes each sample to viewers.
std::unique_ptr<health::HealthMonitor> makeHealth(const config::HealthSection &cfg,
                                                  capture::CaptureThread &capture,
                                                  rfb::RfbServer &server,
                                                  control::ControlService &control) {
    health::HealthSources sources;
    sources.framesCaptured = [capture = &capture] { return capture->framesCaptured(); };
    sources.signal = [capture = &capture] { return capture->signalState(); };
    sources.picture = [capture = &capture] { return capture->pictureSize(); };
    sources.viewers = [server = &server] {
        return static_cast<uint32_t>(std::max(server->clientCount(), 0));
    };
    return std::make_unique<health::HealthMonitor>(
        healthOptionsOf(cfg), std::move(sources),
        [control = &control](const health::HealthSnapshot &snapshot) {
            control->setHealth(healthStateOf(snapshot));
        });
}

// The Prometheus endpoint, started; null without [health] metrics_port, or
// when it cannot listen: not worth refusing to start over, the KVM works
// without it.
std::unique_ptr<health::MetricsServer> makeMetrics(const config::HealthSection &cfg,
                                                   const health::HealthMonitor &monitor) {
    if (cfg.metricsPort <= 0)
        return nullptr;
    try {
        auto metrics = std::make_unique<health::MetricsServer>(
            cfg.metricsListen, cfg.metricsPort,
            [monitor = &monitor] { return health::prometheusText(monitor->latest()); });
        metrics->start();
        LOG_INFO(kLog, "Prometheus metrics on http://%s:%d/metrics", cfg.metricsListen.c_str(),
                 metrics->port());
        return metrics;
    } catch (const std::exception &e) {
        LOG_ERROR(kLog, "no metrics endpoint: %s", e.what());
        return nullptr;
    }
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
    std::shared_ptr<const door::Credentials> credentials = loadCredentials(cfg);
    warnAboutLogins(*credentials, cfg);
    std::shared_ptr<const door::TlsServer> tls = makeTls(cfg.security, *credentials);
    std::shared_ptr<const input::KeysymMap> layout = loadKeyboardLayout(cfg.hid);

    Source source = makeSource(cfg, layout);
    machine_ = source.machine;
    edid_ = source.edid;
    hid_ = makeHid(cfg.hid, machine_);
    router_ = std::make_unique<input::InputRouter>(layout, *hid_,
                                                   cfg.hid.mouseMode == config::MouseMode::Relative
                                                       ? input::MouseMode::Relative
                                                       : input::MouseMode::Absolute);
    typer_ = std::make_unique<input::TextTyper>(*router_,
                                                std::chrono::milliseconds{cfg.hid.typeIntervalMs});
    routerAdapter_ = std::make_unique<RouterAdapter>(*router_);

    atx_ = makeAtx(cfg.atx, machine_);
    Media media = makeMedia(cfg.msd, machine_);
    store_ = std::move(media.store);
    drive_ = std::move(media.drive);
    control_ = std::make_unique<control::ControlService>(control::ControlDevices{
        .atx = atx_.get(),
        .wakeOnLan = !cfg.atx.wolMac.empty(),
        .store = store_.get(),
        .drive = drive_.get(),
        .typer = typer_.get(),
        .health = true,
        .edid = edidQueryOf(edid_),
        .hardwareCheck = [this] { return checkHardware(); },
    });

    rfb::RfbServerOptions serverOptions = rfbServerOptionsOf(cfg.server);
    serverOptions.initialSize = source.startSize;
    serverOptions.pasteChord = pasteChordOf(cfg.hid);
    serverOptions.input = routerAdapter_.get();
    serverOptions.control = control_.get();
    server_ = std::make_unique<rfb::RfbServer>(serverOptions);
    door_ = makeFrontDoor(cfg, credentials, tls, *server_);
    listenPort_ = door_->port();

    hid_->setLedCallback([server = server_.get()](uint8_t leds) { server->setKeyboardLeds(leds); });
    hid_->setHostCallback([server = server_.get(), control = control_.get()](bool listening) {
        server->setHostListening(listening);
        control->setHostListening(listening);
    });
    if (!hid_->hostListening()) {
        server_->setHostListening(false);
        control_->setHostListening(false);
    }
    capture_ = std::make_unique<capture::CaptureThread>(std::move(source.frames), mailbox_,
                                                        source.startSize);
    pump_ = std::make_unique<FramePump>(mailbox_, *server_);
    startH264(cfg.h264);
    pump_->start();
    capture_->start();
    health_ = makeHealth(cfg.health, *capture_, *server_, *control_);
    health_->start();
    metrics_ = makeMetrics(cfg.health, *health_);
    reloader_ = std::make_unique<ConfigReloader>(
        cfg, ReloadTargets{*server_, *door_, *router_, *typer_, edid_.get()}, credentials);
}

// One stream and one encoder for every viewer; the pump feeds it while the
// server sees motion, and its thread wakes the viewers sent H.264.
void Daemon::startH264(const config::H264Section &h264) {
    if (!h264.enabled)
        return;
    // A failed M2M device was replaced by OpenH264 here; one that fails
    // later is given up on by the encoder thread after three failures at a
    // size (viewers get pixels), as OpenH264 would be.
    H264EncoderChoice choice = chooseH264Encoder(h264);
    if (choice.warning)
        LOG_WARN(kLog, "%s", choice.why.c_str());
    else
        LOG_INFO(kLog, "%s", choice.why.c_str());
    if (!choice.encoder)
        return;
    h264Stream_ = std::make_unique<encode::H264Stream>();
    h264Encoder_ = std::make_unique<encode::H264EncoderThread>(
        std::move(choice.encoder), h264OptionsOf(h264), *h264Stream_,
        [server = server_.get()](uint64_t) { server->wakeH264Viewers(); });
    server_->attachH264Stream(h264Stream_.get(), h264UpdateOptionsOf(h264));
    pump_->setH264Encoder(h264Encoder_.get());
    h264Encoder_->start();
    LOG_INFO(kLog, "H.264 (encoding 50) on for the viewers that decode it");
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
    // It wakes the server's viewers after each picture.
    if (h264Encoder_)
        h264Encoder_->stop();
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
             sigdescr_np(signalNumber), static_cast<unsigned long long>(stats.frames),
             static_cast<unsigned long long>(stats.changedFrames),
             static_cast<unsigned long long>(stats.changedTiles),
             static_cast<unsigned long long>(stats.moves),
             static_cast<unsigned long long>(stats.resizes));
    return 0;
}

}  // namespace kvmvnc::app

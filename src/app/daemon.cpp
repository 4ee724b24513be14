// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/daemon.h"

#include <signal.h>

#include <cstring>
#include <stdexcept>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/v4l2_capture.h"
#include "kvmvnc/input/gadget_hid.h"
#include "kvmvnc/rfb/vnc_password_file.h"
#include "kvmvnc/target/virtual_hid.h"
#include "kvmvnc/target/virtual_screen.h"

namespace kvmvnc::app {

namespace {

constexpr const char *kLog = "daemon";
constexpr Size kVirtualDefaultSize{1920, 1080};
constexpr int kVirtualDefaultFps = 30;

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

std::shared_ptr<const input::KeysymMap> loadLayout(const config::HidSection &hid) {
    std::vector<std::string> dirs;
    if (!hid.keymapsDir.empty())
        dirs.push_back(hid.keymapsDir);
    else
        dirs = {KVMVNC_KEYMAPS_INSTALL_DIR, KVMVNC_KEYMAPS_BUILD_DIR};
    auto layout =
        std::make_shared<const input::KeysymMap>(input::KeysymMap::forLayout(hid.layout, dirs));
    LOG_INFO(kLog, "keyboard layout %s (%zu keysyms)", layout->name().c_str(), layout->size());
    return layout;
}

}  // namespace

void Daemon::blockStopSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

Daemon::Daemon(const config::Config &cfg) {
    log::setLevel(cfg.log.level);

    rfb::RfbServerOptions serverOptions;
    serverOptions.listen = cfg.server.listen;
    serverOptions.port = cfg.server.port;
    serverOptions.desktopName = cfg.server.desktopName;
    serverOptions.maxClients = cfg.server.maxClients;
    if (!cfg.server.passwdFile.empty()) {
        serverOptions.passwords = rfb::loadVncPasswordFile(cfg.server.passwdFile);
    } else {
        LOG_WARN(kLog, "**********************************************************");
        LOG_WARN(kLog, "NO AUTHENTICATION: anyone who reaches %s:%d controls the target.",
                 cfg.server.listen.c_str(), cfg.server.port);
        LOG_WARN(kLog, "Set [server] passwd_file to a file made with TigerVNC's vncpasswd.");
        LOG_WARN(kLog, "**********************************************************");
    }

    std::shared_ptr<const input::KeysymMap> layout = loadLayout(cfg.hid);

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
    } else {
        capture::V4l2Options v4l2;
        v4l2.device = cfg.capture.device;
        v4l2.format = cfg.capture.format;
        v4l2.width = cfg.capture.width;
        v4l2.height = cfg.capture.height;
        v4l2.fps = cfg.capture.fps;
        v4l2.input = cfg.capture.input;
        source = std::make_unique<capture::V4l2Capture>(v4l2);
        startSize =
            cfg.capture.width > 0 ? Size{cfg.capture.width, cfg.capture.height} : Size{1280, 720};
    }
    serverOptions.initialSize = startSize;

    const bool virtualHid = cfg.hid.target == config::HidTarget::Virtual ||
                            (cfg.hid.target == config::HidTarget::Auto && machine_ != nullptr);
    if (virtualHid) {
        if (!machine_)
            throw std::runtime_error("[hid] target = virtual needs [capture] source = virtual");
        hid_ = std::make_unique<target::VirtualHid>(machine_);
        LOG_INFO(kLog, "keyboard and mouse go to the virtual target");
    } else {
        hid_ = std::make_unique<input::GadgetHid>(cfg.hid.keyboard, cfg.hid.mouse);
    }
    router_ = std::make_unique<input::InputRouter>(layout, *hid_);
    routerAdapter_ = std::make_unique<RouterAdapter>(*router_);
    serverOptions.input = routerAdapter_.get();

    server_ = std::make_unique<rfb::RfbServer>(serverOptions);
    hid_->setLedCallback([server = server_.get()](uint8_t leds) { server->setKeyboardLeds(leds); });
    capture_ = std::make_unique<capture::CaptureThread>(std::move(source), mailbox_, startSize);
    pump_ = std::make_unique<FramePump>(mailbox_, *server_);
    pump_->start();
    capture_->start();
}

Daemon::~Daemon() {
    // Reverse order of the data flow: stop producing, then consuming, then
    // serving.
    capture_->stop();
    mailbox_.close();
    pump_->stop();
    hid_->setLedCallback(nullptr);
    server_.reset();
    // No viewer can send input any more: leave nothing pressed on the target.
    router_->releaseAll();
}

int Daemon::run() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signalNumber = 0;
    if (sigwait(&set, &signalNumber) != 0)
        return 1;
    PumpStats stats = pump_->stats();
    LOG_INFO(kLog, "%s: stopping after %llu frames (%llu changed, %llu tiles, %llu resizes)",
             strsignal(signalNumber), static_cast<unsigned long long>(stats.frames),
             static_cast<unsigned long long>(stats.changedFrames),
             static_cast<unsigned long long>(stats.changedTiles),
             static_cast<unsigned long long>(stats.resizes));
    return 0;
}

}  // namespace kvmvnc::app

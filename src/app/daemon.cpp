// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/daemon.h"

#include <signal.h>

#include <cstring>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/v4l2_capture.h"
#include "kvmvnc/rfb/vnc_password_file.h"
#include "kvmvnc/target/virtual_screen.h"

namespace kvmvnc::app {

namespace {

constexpr const char *kLog = "daemon";
constexpr Size kVirtualDefaultSize{1920, 1080};
constexpr int kVirtualDefaultFps = 30;

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

    std::unique_ptr<capture::FrameSource> source;
    Size startSize;
    if (cfg.capture.source == config::SourceKind::Virtual) {
        target::MachineOptions machineOptions;
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
        startSize = cfg.capture.width > 0 ? Size{cfg.capture.width, cfg.capture.height}
                                          : Size{1280, 720};
    }
    serverOptions.initialSize = startSize;

    server_ = std::make_unique<rfb::RfbServer>(serverOptions);
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
    server_.reset();
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

// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "kvmvnc/app/config_reloader.h"
#include "kvmvnc/app/frame_pump.h"
#include "kvmvnc/atx/atx_controller.h"
#include "kvmvnc/capture/capture_thread.h"
#include "kvmvnc/capture/frame_mailbox.h"
#include "kvmvnc/config/config.h"
#include "kvmvnc/control/control_service.h"
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/encode/h264_encoder_thread.h"
#include "kvmvnc/encode/h264_stream.h"
#include "kvmvnc/health/health_monitor.h"
#include "kvmvnc/health/metrics_server.h"
#include "kvmvnc/input/hid_sink.h"
#include "kvmvnc/input/input_router.h"
#include "kvmvnc/msd/drive.h"
#include "kvmvnc/msd/image_store.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "kvmvnc/target/virtual_machine.h"

namespace kvmvnc::app {

// kvmvncd's running parts, built from a Config and torn down in reverse:
// the capture thread feeds the frame pump, which feeds the RFB server; the
// control service (ATX, image store, drive) answers the RFB server's
// control requests. An ATX or media device that cannot be opened is logged
// and left out; the daemon serves the picture regardless.
//
// Construction throws on start-up errors (password file, listen address);
// once running, device and viewer errors are handled where they happen and
// never stop the daemon.
class Daemon {
public:
    explicit Daemon(const config::Config &config);
    ~Daemon();

    // Serves until SIGINT or SIGTERM; returns the exit status. On SIGHUP it
    // reloads the configuration (ConfigReloader) on this thread, the one
    // that waits for signals, and goes on serving. The caller must have
    // blocked those signals in every thread (blockDaemonSignals()).
    int run();

    // The simulated machine when the source is the virtual target, else null.
    std::shared_ptr<target::VirtualMachine> virtualMachine() const { return machine_; }
    rfb::RfbServer &server() { return *server_; }

    // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and the
    // threads it creates later, so run() can wait for them (a SIGHUP that
    // comes during start-up waits for run()); ignores SIGPIPE.
    static void blockDaemonSignals();

    input::InputRouter &inputRouter() { return *router_; }

private:
    // The hardware checks of `kvmvncd --check-hardware`, run in here for
    // kvmvncctl doctor (control::ControlDevices::hardwareCheck): any viewer
    // thread, one run at a time.
    control::HardwareReportBody checkHardware();
    // [h264] enabled: the stream and its encoder, attached to server_ and
    // pump_ before the pump starts.
    void startH264(const config::H264Section &h264);

    // What checkHardware() checks against: the configuration the daemon
    // started with (the EDID setting is the mailbox's, which reloads change)
    // and the port the front door listens on (0 until it does).
    const config::Config startConfig_;
    std::atomic<int> listenPort_{0};
    std::mutex hardwareCheckMutex_;

    std::shared_ptr<target::VirtualMachine> machine_;
    std::unique_ptr<input::HidSink> hid_;
    std::unique_ptr<input::InputRouter> router_;
    std::unique_ptr<input::TextTyper> typer_;
    std::unique_ptr<rfb::RfbInputHandler> routerAdapter_;
    std::unique_ptr<atx::AtxController> atx_;
    std::unique_ptr<msd::ImageStore> store_;
    std::unique_ptr<msd::Drive> drive_;
    std::unique_ptr<control::ControlService> control_;
    capture::FrameMailbox mailbox_;
    std::unique_ptr<rfb::RfbServer> server_;
    std::unique_ptr<door::FrontDoor> door_;  // hands viewers to server_
    // The capture device's EDID: set by the reloader, loaded by the capture
    // thread, read by the control service. Null unless the source is V4L2.
    std::shared_ptr<capture::EdidMailbox> edid_;
    std::unique_ptr<capture::CaptureThread> capture_;
    // [h264] enabled: the stream the server's H.264 viewers read (it outlives
    // server_, which borrows it) and the thread that encodes for it (fed by
    // pump_, stopped before server_ goes: it wakes server_'s viewers).
    std::unique_ptr<encode::H264Stream> h264Stream_;
    std::unique_ptr<encode::H264EncoderThread> h264Encoder_;
    std::unique_ptr<FramePump> pump_;
    // Samples the board and the pipeline above (reads capture_ and
    // server_, pushes to control_); metrics_ serves its latest snapshot.
    // Both stop first when the daemon goes.
    std::unique_ptr<health::HealthMonitor> health_;
    std::unique_ptr<health::MetricsServer> metrics_;  // null: no [health] metrics_port
    // Owns the running configuration; used by run() only.
    std::unique_ptr<ConfigReloader> reloader_;
};

}  // namespace kvmvnc::app

// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kvmvnc/capture/frame_source.h"

namespace kvmvnc::capture {

// What the [capture] section asks of an X display.
struct X11Options {
    std::string display;  // ":99"; empty: $DISPLAY
    int fps = 30;
    bool sharedMemory = true;  // false: XGetImage even where MIT-SHM works (tests)
    bool damage = true;        // false: fetch every picture whole even where DAMAGE works (tests)
};

// Captures the root window of an X display (Xvfb, a desktop session), so that
// kvmvncd can serve what x11vnc or x0vncserver would serve: the benchmark runs
// all three on one Xvfb.
//
// A picture is taken every 1/fps seconds. The capture keeps a mirror of the
// screen: with MIT-SHM the shared segment XShmGetImage writes into (made
// again only when the root window changes size), without it (a remote
// display, another IPC namespace) a buffer filled by XGetImage, which
// allocates each time. Where the server has DAMAGE (and XFixes 2), it
// collects what X clients draw, and a picture fetches only the rows drawn on
// since the last one - a still screen costs one round trip and returns
// Unchanged, a typed character a band of 16 rows. The picture then says
// which rows those were (Frame::damage), so the differ compares only them,
// and a recycled frame holding one of the last pictures (Frame::pictureId)
// is brought up to date by copying only the rows drawn on since. Without
// DAMAGE every picture is fetched and copied whole and the differ finds what
// changed. The size follows the root window's ConfigureNotify. Only 24-bit
// TrueColor with the usual masks (0xff0000, 0xff00, 0xff) in 32-bit
// little-endian pixels is taken - that is XRGB8888 already, so a picture is
// a row copy; other visuals are refused with a DeviceError saying so.
//
// A display that cannot be opened, or whose server goes away, is NoDevice and
// is opened again about once a second. Xlib ends the process on a broken
// connection by default; X11Capture installs process-wide error handlers that
// do not (see x11_connection.cpp), so nothing else in the process may rely on
// Xlib's defaults, and the process must ignore SIGPIPE (kvmvncd does). What is
// not survivable: a server that hangs without closing its socket blocks the
// capture thread in its round trip (and so the daemon's shutdown).
//
// Thread-bound: owned and driven by the capture thread (constructed and
// destroyed elsewhere, as long as no call overlaps).
class X11Capture final : public FrameSource {
public:
    explicit X11Capture(X11Options options);
    ~X11Capture() override;
    X11Capture(const X11Capture &) = delete;
    X11Capture &operator=(const X11Capture &) = delete;

    CaptureResult capture(Frame &frame, std::chrono::milliseconds timeout) override;
    SourceStatus status() const override;
    std::string description() const override;

    // The display captured: the option, or $DISPLAY; empty if neither is set.
    const std::string &displayName() const { return displayName_; }

private:
    using Clock = std::chrono::steady_clock;
    // The Xlib side (connection, shared segment), in the private
    // x11_connection.h so that Xlib's macros (None, Status, Bool...) stay out
    // of every includer.
    class Connection;

    void connect();
    void disconnect(SignalState state, std::string detail);
    CaptureResult unavailable(Clock::time_point deadline);

    X11Options options_;
    std::string displayName_;
    Clock::duration period_;
    std::unique_ptr<Connection> connection_;
    SourceStatus status_{SignalState::NoDevice, {}};
    Clock::time_point nextAttempt_{};  // next open while disconnected
    Clock::time_point nextFrame_{};
    Size loggedSize_{};  // what "capturing ..." last said
    bool loggedShm_ = false;
};

}  // namespace kvmvnc::capture

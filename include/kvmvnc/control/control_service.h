// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kvmvnc/control/protocol.h"

namespace kvmvnc::atx {
class AtxController;
}
namespace kvmvnc::input {
class TextTyper;
}
namespace kvmvnc::msd {
class Drive;
class ImageStore;
}  // namespace kvmvnc::msd

namespace kvmvnc::control {

// One viewer connection as the control stage sees it; the RFB stage
// implements it. send() takes a whole server message and may be called from
// any thread (the ATX thread pushes state changes).
class ControlSession {
public:
    virtual ~ControlSession() = default;
    virtual uint64_t sessionId() const = 0;
    virtual bool fullRights() const = 0;
    virtual void send(const std::vector<uint8_t> &message) = 0;
};

// What the daemon has to control; any of it may be absent (null).
struct ControlDevices {
    atx::AtxController *atx = nullptr;
    bool wakeOnLan = false;  // the controller has a WoL target
    msd::ImageStore *store = nullptr;
    msd::Drive *drive = nullptr;
    input::TextTyper *typer = nullptr;  // the keyboard: its state, and pasting text
    bool health = false;                // a health monitor calls setHealth()
    // The capture device's EDID, from any thread; empty when the source has
    // none (the virtual target, X11).
    std::function<EdidStateBody()> edid = nullptr;
    // The hardware checks (src/doctor) run now, from any thread; empty: the
    // request is Unsupported.
    std::function<HardwareReportBody()> hardwareCheck = nullptr;
};

// The server side of docs/protocol.md: answers requests, runs them against
// the ATX controller, the image store and the drive, and pushes state changes
// to every session that announced the pseudo-encoding.
//
// Threading: handle() runs in each viewer's input thread, concurrently for
// different viewers; pushes come from there, from the ATX thread, the
// typist's thread and the HID sink's. The service starts no thread of its
// own. A sessions lock guards the announced list and is held while pushing
// (so a session is never sent to after remove() returns); drive operations
// are serialised by their own lock. The devices outlive the service.
class ControlService {
public:
    explicit ControlService(ControlDevices devices);
    ~ControlService();
    ControlService(const ControlService &) = delete;
    ControlService &operator=(const ControlService &) = delete;

    uint32_t features() const;

    // The session announced the pseudo-encoding: sends Hello and the current
    // states, and pushes changes from now on. Idempotent.
    void announce(ControlSession &session);
    // The session is gone: no more pushes, its uploads are released (their
    // confirmed data kept for a resume).
    void remove(ControlSession &session);

    // Answers one request: the Reply message to send back.
    std::vector<uint8_t> handle(ControlSession &session, const RequestHeader &header,
                                const std::vector<uint8_t> &payload);
    // A Reply refusing request `requestId` without looking at it (too large).
    static std::vector<uint8_t> refuse(uint32_t requestId, Status status,
                                       const std::string &message);

    // Whether the target's USB host reads the keyboard; pushed to every
    // announced session on change. Any thread.
    void setHostListening(bool listening);

    // The device's health, pushed to every announced session as HealthState
    // (the caller decides when a change is worth it). Any thread.
    void setHealth(const HealthStateBody &health);

    // Types `utf8` for `session` as TypeText does without skipping anything
    // (the paste chord types a viewer's clipboard so), with its refusals in
    // its order: view-only, no keyboard, not UTF-8, characters the layout
    // cannot type (listed in the message), the target not listening,
    // another text being typed. Progress goes to the session if it
    // announced the pseudo-encoding; TypeCancel and the session leaving
    // stop it. Any thread.
    struct Typed {
        Status status = Status::Ok;
        std::string message;  // why, when refused
        uint32_t characters = 0;
    };
    Typed typeText(ControlSession &session, std::string_view utf8);

    // xvp (noVNC's power menu): 2 shutdown, 3 reboot, 4 reset (a hard power
    // cycle, AtxController::powerCycle()). False when refused (view-only, no
    // ATX, busy, unknown code).
    bool xvp(ControlSession &session, uint8_t code);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kvmvnc::control

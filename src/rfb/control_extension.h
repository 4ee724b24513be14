// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <cstdint>

#include "kvmvnc/control/control_service.h"

struct _rfbClientRec;

namespace kvmvnc::rfb {

// One viewer as the control stage sees it: writes whole server messages
// under the viewer's send lock, like libvncserver's own updates. Lives in
// RfbServer's per-viewer data from acceptance until the client-gone hook.
//
// Pushes (ATX, typing, health) come from other threads until the hook
// removes the session from the service, but libvncserver closes the socket
// before that hook: a write in between would go to a closed descriptor, or
// to whatever connection reused its number. So the session stops writing
// as soon as the viewer is being closed (rfbCloseClient calls the
// extension's close callback first, before the input thread ends).
class ViewerControlSession final : public control::ControlSession {
public:
    ViewerControlSession(_rfbClientRec *client, uint64_t id) : client_(client), id_(id) {}
    uint64_t sessionId() const override { return id_; }
    bool fullRights() const override;
    void send(const std::vector<uint8_t> &message) override;
    // From the extension's close callback; later send()s write nothing.
    void markClosing() { closing_.store(true); }

private:
    _rfbClientRec *client_;
    uint64_t id_;
    std::atomic<bool> closing_{false};
};

// The control protocol (docs/protocol.md) as a libvncserver extension: the
// KvmvncControl pseudo-encoding announces a viewer to the ControlService,
// and message type 200 carries its requests. Idempotent; call before the
// server accepts viewers.
void registerControlExtension();

// Implemented by RfbServer: the service (null when none) and the viewer's
// session (null until it is accepted).
control::ControlService *controlServiceOf(_rfbClientRec *client);
ViewerControlSession *controlSessionOf(_rfbClientRec *client);

// Unlinks the extension from a viewer that is gone and frees libvncserver's
// list node for it.
void detachControlExtension(_rfbClientRec *client);

}  // namespace kvmvnc::rfb

// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>

#include "kvmvnc/control/control_service.h"

struct _rfbClientRec;  // NOLINT(bugprone-reserved-identifier): libvncserver's tag

namespace kvmvnc::rfb {

class ViewerOutbox;

// One viewer as the control stage sees it. Lives in RfbServer's per-viewer
// data from acceptance until the client-gone hook.
//
// send() (the service's pushes: ATX, drive, input, typing and health state,
// from the ATX thread, the typist's, the HID sink's, the health monitor's)
// queues the message in the viewer's outbox, which its own thread writes:
// a viewer that stopped reading never holds up the thread that pushes. A
// state push replaces the same state's push still queued. reply(), on the
// viewer's input thread, writes what is queued and then the reply, so a
// reply never overtakes the Hello or a push posted before it.
class ViewerControlSession final : public control::ControlSession {
public:
    ViewerControlSession(_rfbClientRec *client, uint64_t id, ViewerOutbox &outbox)
        : client_(client), id_(id), outbox_(outbox) {}
    uint64_t sessionId() const override { return id_; }
    bool fullRights() const override;
    void send(const std::vector<uint8_t> &message) override;
    // The viewer's input thread only.
    void reply(const std::vector<uint8_t> &message);

private:
    _rfbClientRec *client_;
    uint64_t id_;
    ViewerOutbox &outbox_;
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

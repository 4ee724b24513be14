// SPDX-License-Identifier: GPL-2.0-or-later
#include "control_extension.h"

#include <rfb/rfb.h>

#include <algorithm>
#include <mutex>

#include "extension_node.h"
#include "kvmvnc/base/log.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";

rfbProtocolExtension gExtension;
int gPseudoEncodings[] = {control::kPseudoEncoding, 0};

rfbBool onEnablePseudoEncoding(rfbClientPtr client, void **, int encoding) {
    if (encoding != control::kPseudoEncoding)
        return FALSE;
    control::ControlService *service = controlServiceOf(client);
    ViewerControlSession *session = controlSessionOf(client);
    if (service && session)
        service->announce(*session);
    return TRUE;
}

// Reads and drops `size` bytes: a refused request's payload, so that the
// stream stays in step.
bool discard(rfbClientPtr client, uint32_t size) {
    char buffer[16384];
    while (size > 0) {
        const int chunk = static_cast<int>(std::min<uint32_t>(size, sizeof(buffer)));
        if (rfbReadExact(client, buffer, chunk) <= 0)
            return false;
        size -= static_cast<uint32_t>(chunk);
    }
    return true;
}

rfbBool onMessage(rfbClientPtr client, void *, const rfbClientToServerMsg *message) {
    if (message->type != control::kMessageType)
        return FALSE;
    uint8_t headerBytes[control::kRequestHeaderSize - 1];
    if (rfbReadExact(client, reinterpret_cast<char *>(headerBytes), sizeof(headerBytes)) <= 0) {
        rfbCloseClient(client);
        return TRUE;
    }
    const control::RequestHeader header = control::parseRequestHeader(headerBytes);
    control::ControlService *service = controlServiceOf(client);
    ViewerControlSession *session = controlSessionOf(client);
    if (!session) {
        rfbCloseClient(client);
        return TRUE;
    }
    if (header.payloadLength > control::kMaxRequestPayload || !service) {
        const bool tooLarge = header.payloadLength > control::kMaxRequestPayload;
        if (tooLarge)
            LOG_WARN(kLog, "viewer %s: control request of %u bytes refused", client->host,
                     header.payloadLength);
        session->send(control::ControlService::refuse(
            header.requestId, tooLarge ? control::Status::TooLarge : control::Status::Unsupported,
            tooLarge
                ? "requests carry at most " + std::to_string(control::kMaxRequestPayload) + " bytes"
                : "this server has no control features"));
        if (!discard(client, header.payloadLength))
            rfbCloseClient(client);
        return TRUE;
    }
    std::vector<uint8_t> payload(header.payloadLength);
    if (!payload.empty() && rfbReadExact(client, reinterpret_cast<char *>(payload.data()),
                                         static_cast<int>(payload.size())) <= 0) {
        rfbCloseClient(client);
        return TRUE;
    }
    try {
        session->send(service->handle(*session, header, payload));
    } catch (const std::exception &e) {
        // Allocation failure or a device throwing: this viewer goes, the
        // daemon stays.
        LOG_ERROR(kLog, "viewer %s: control request failed: %s", client->host, e.what());
        rfbCloseClient(client);
    }
    return TRUE;
}

// rfbCloseClient, on whichever thread closes the viewer; it may hold the
// viewer's send lock (a failed update), so this takes no lock.
void onClose(rfbClientPtr client, void *) {
    if (ViewerControlSession *session = controlSessionOf(client))
        session->markClosing();
}

}  // namespace

bool ViewerControlSession::fullRights() const { return !client_->viewOnly; }

void ViewerControlSession::send(const std::vector<uint8_t> &message) {
    LOCK(client_->sendMutex);
    // Checked under the lock: a push that waited behind an update must not
    // write once the viewer is closing. (A write already under way keeps
    // the descriptor it started with; libvncserver's own updates do too.)
    if (closing_.load()) {
        UNLOCK(client_->sendMutex);
        return;
    }
    rfbWriteExact(client_, reinterpret_cast<const char *>(message.data()),
                  static_cast<int>(message.size()));
    UNLOCK(client_->sendMutex);
}

void registerControlExtension() {
    static std::once_flag once;
    registerExtensionOnce(once, gExtension, gPseudoEncodings, onEnablePseudoEncoding, onMessage,
                          onClose);
}

void detachControlExtension(rfbClientPtr client) { freeExtensionNode(client, &gExtension); }

}  // namespace kvmvnc::rfb

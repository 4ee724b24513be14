// SPDX-License-Identifier: GPL-2.0-or-later
#include "control_extension.h"

#include <rfb/rfb.h>

#include <algorithm>
#include <mutex>

#include "extension_node.h"
#include "kvmvnc/base/log.h"
#include "viewer_outbox.h"

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
        session->reply(control::ControlService::refuse(
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
        session->reply(service->handle(*session, header, payload));
    } catch (const std::exception &e) {
        // Allocation failure or a device throwing: this viewer goes, the
        // daemon stays.
        LOG_ERROR(kLog, "viewer %s: control request failed: %s", client->host, e.what());
        rfbCloseClient(client);
    }
    return TRUE;
}

// Which queued push a newer one replaces: a state's, by its message type.
uint32_t replacementKey(const std::vector<uint8_t> &message) {
    if (message.size() < 2)
        return 0;
    switch (static_cast<control::ServerMessage>(message[1])) {
    case control::ServerMessage::AtxState:
    case control::ServerMessage::DriveState:
    case control::ServerMessage::InputState:
    case control::ServerMessage::TypeProgress:
    case control::ServerMessage::HealthState:
        return 0x100u | message[1];
    default:
        return 0;  // Hello, UploadProgress (one per upload), replies
    }
}

}  // namespace

bool ViewerControlSession::fullRights() const { return !client_->viewOnly; }

void ViewerControlSession::send(const std::vector<uint8_t> &message) {
    outbox_.post(message, replacementKey(message));
}

void ViewerControlSession::reply(const std::vector<uint8_t> &message) {
    LOCK(client_->sendMutex);
    outbox_.writeLocked(message);
    UNLOCK(client_->sendMutex);
}

void registerControlExtension() {
    static std::once_flag once;
    registerExtensionOnce(once, gExtension, gPseudoEncodings, onEnablePseudoEncoding, onMessage);
}

void detachControlExtension(rfbClientPtr client) { freeExtensionNode(client, &gExtension); }

}  // namespace kvmvnc::rfb

// SPDX-License-Identifier: GPL-2.0-or-later
#include "qemu_extensions.h"

#include <rfb/rfb.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "between_updates.h"
#include "extension_node.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "viewer_outbox.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";
constexpr int kQemuExtendedKeyEvent = -258;
constexpr int kQemuLedState = -261;
constexpr int kDesktopName = -307;
constexpr uint8_t kQemuClientMessage = 255;
constexpr uint8_t kQemuExtendedKeySubtype = 0;

rfbProtocolExtension gExtension;
int gPseudoEncodings[] = {kQemuExtendedKeyEvent, kQemuLedState, kDesktopName, 0};

RfbServer *serverOf(rfbClientPtr client) {
    return static_cast<RfbServer *>(client->screen->screenData);
}

void putU32(uint8_t *out, uint32_t value) {
    out[0] = static_cast<uint8_t>(value >> 24);
    out[1] = static_cast<uint8_t>(value >> 16);
    out[2] = static_cast<uint8_t>(value >> 8);
    out[3] = static_cast<uint8_t>(value);
}

// A FramebufferUpdate holding one pseudo-rectangle of `encoding` with
// `payload` bytes after it.
std::vector<uint8_t> pseudoRect(int encoding, const uint8_t *payload, size_t size) {
    std::vector<uint8_t> message(4 + 12 + size, 0);
    message[0] = rfbFramebufferUpdate;
    message[3] = 1;                                            // one rectangle
    putU32(&message[4 + 8], static_cast<uint32_t>(encoding));  // at 0,0 sized 0x0
    if (size > 0)
        std::memcpy(message.data() + 4 + 12, payload, size);
    return message;
}

// The same, written now; the caller holds the client's send lock.
bool sendPseudoRectLocked(rfbClientPtr client, int encoding, const uint8_t *payload, size_t size) {
    const std::vector<uint8_t> message = pseudoRect(encoding, payload, size);
    return rfbWriteExact(client, reinterpret_cast<const char *>(message.data()),
                         static_cast<int>(message.size())) > 0;
}

// Keys in the viewer's outbox: a newer LED state or name replaces one not
// yet sent.
constexpr uint32_t kLedStateKey = 1;
constexpr uint32_t kDesktopNameKey = 2;

// The same, queued in the viewer's outbox (any thread; its own writes it).
void postPseudoRect(rfbClientPtr client, uint32_t key, int encoding, const uint8_t *payload,
                    size_t size) {
    if (ViewerOutbox *outbox = outboxOf(client))
        outbox->post(pseudoRect(encoding, payload, size), key);
}

// The same, taking the send lock, as libvncserver's own updates do.
bool sendPseudoRect(rfbClientPtr client, int encoding, const uint8_t *payload, size_t size) {
    LOCK(client->sendMutex);
    const bool ok = sendPseudoRectLocked(client, encoding, payload, size);
    UNLOCK(client->sendMutex);
    return ok;
}

// QEMU's LED bits are Scroll 1, Num 2, Caps 4; HID's are Num 1, Caps 2, Scroll 4.
uint8_t qemuLeds(uint8_t hidLeds) {
    return static_cast<uint8_t>(((hidLeds & 0x04) ? 1 : 0) | ((hidLeds & 0x01) ? 2 : 0) |
                                ((hidLeds & 0x02) ? 4 : 0));
}

rfbBool onEnablePseudoEncoding(rfbClientPtr client, void **, int encoding) {
    QemuClientState *state = qemuStateOf(client);
    if (!state)
        return FALSE;
    if (encoding == kQemuExtendedKeyEvent) {
        {
            std::lock_guard lock(state->mutex);
            if (state->extendedKeys)
                return TRUE;
            state->extendedKeys = true;
        }
        // Viewers send extended key events only after this answer.
        if (!sendPseudoRect(client, kQemuExtendedKeyEvent, nullptr, 0))
            rfbCloseClient(client);
        return TRUE;
    }
    if (encoding == kQemuLedState) {
        {
            std::lock_guard lock(state->mutex);
            state->leds = true;
        }
        sendLedState(client, serverOf(client)->keyboardLeds());
        return TRUE;
    }
    if (encoding == kDesktopName) {
        {
            std::lock_guard lock(state->mutex);
            state->desktopName = true;
        }
        sendDesktopName(client, serverOf(client)->desktopName());
        return TRUE;
    }
    return FALSE;
}

rfbBool onMessage(rfbClientPtr client, void *, const rfbClientToServerMsg *message) {
    if (message->type != kQemuClientMessage)
        return FALSE;
    QemuClientState *state = qemuStateOf(client);
    uint8_t subtype = 0;
    if (rfbReadExact(client, reinterpret_cast<char *>(&subtype), 1) <= 0) {
        rfbCloseClient(client);
        return TRUE;
    }
    if (subtype != kQemuExtendedKeySubtype) {
        // Its length is unknown, so the stream cannot be followed any further.
        LOG_WARN(kLog, "closing viewer %s: unknown QEMU message sub-type %u", client->host,
                 subtype);
        rfbCloseClient(client);
        return TRUE;
    }
    uint8_t body[10];  // down-flag (2), keysym (4), keycode (4)
    if (rfbReadExact(client, reinterpret_cast<char *>(body), sizeof(body)) <= 0) {
        rfbCloseClient(client);
        return TRUE;
    }
    const bool down = (body[0] << 8 | body[1]) != 0;
    const uint32_t keysym =
        uint32_t{body[2]} << 24 | uint32_t{body[3]} << 16 | uint32_t{body[4]} << 8 | body[5];
    const uint32_t keycode =
        uint32_t{body[6]} << 24 | uint32_t{body[7]} << 16 | uint32_t{body[8]} << 8 | body[9];
    bool announced = false;
    if (state) {
        std::lock_guard lock(state->mutex);
        announced = state->extendedKeys;
    }
    if (!announced) {
        LOG_WARN(kLog, "closing viewer %s: extended key event before -258 was agreed",
                 client->host);
        rfbCloseClient(client);
        return TRUE;
    }
    if (!client->viewOnly)
        serverOf(client)->onExtendedKey(down, keysym, keycode, client);
    return TRUE;
}

}  // namespace

void registerQemuExtensions() {
    static std::once_flag once;
    registerExtensionOnce(once, gExtension, gPseudoEncodings, onEnablePseudoEncoding, onMessage);
}

void detachQemuExtensions(rfbClientPtr client) { freeExtensionNode(client, &gExtension); }

void beforeUpdateLocked(rfbClientPtr client) {
    if (QemuClientState *state = qemuStateOf(client)) {
        std::lock_guard lock(state->mutex);
        state->supportedMessagesPending = client->enableSupportedMessages;
    }
}

void afterUpdateLocked(rfbClientPtr client) {
    QemuClientState *state = qemuStateOf(client);
    if (!state)
        return;
    {
        std::lock_guard lock(state->mutex);
        // libvncserver clears the flag when it sends the list.
        const bool listSent = state->supportedMessagesPending && !client->enableSupportedMessages;
        state->supportedMessagesPending = client->enableSupportedMessages;
        if (!state->extendedKeys || !listSent)
            return;
    }
    if (!sendPseudoRectLocked(client, kQemuExtendedKeyEvent, nullptr, 0))
        rfbCloseClient(client);
}

void sendLedState(rfbClientPtr client, uint8_t hidLeds) {
    QemuClientState *state = qemuStateOf(client);
    if (!state)
        return;
    {
        std::lock_guard lock(state->mutex);
        if (!state->leds || state->sentLeds == hidLeds)
            return;
        state->sentLeds = hidLeds;
    }
    const uint8_t payload = qemuLeds(hidLeds);
    postPseudoRect(client, kLedStateKey, kQemuLedState, &payload, 1);
}

void sendDesktopName(rfbClientPtr client, const std::string &name) {
    QemuClientState *state = qemuStateOf(client);
    if (!state)
        return;
    {
        std::lock_guard lock(state->mutex);
        if (!state->desktopName || state->sentName == name)
            return;
        state->sentName = name;
    }
    std::vector<uint8_t> payload(4);
    putU32(payload.data(), static_cast<uint32_t>(name.size()));
    payload.insert(payload.end(), name.begin(), name.end());
    postPseudoRect(client, kDesktopNameKey, kDesktopName, payload.data(), payload.size());
}

}  // namespace kvmvnc::rfb

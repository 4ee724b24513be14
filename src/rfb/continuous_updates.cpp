// SPDX-License-Identifier: GPL-2.0-or-later
#include "continuous_updates.h"

#include <rfb/rfb.h>
// rfbregion.h has no C++ guard of its own.
extern "C" {
#include <rfb/rfbregion.h>
}

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#include "extension_node.h"
#include "h264_updates.h"
#include "kvmvnc/base/log.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";
constexpr int kFenceEncoding = -312;
constexpr int kContinuousUpdatesEncoding = -313;
constexpr uint8_t kEnableContinuousUpdates = 150;  // client to server
constexpr uint8_t kEndOfContinuousUpdates = 150;   // server to client
constexpr uint8_t kFence = 248;                    // both ways

constexpr uint32_t kFenceBlockBefore = 1u << 0;
constexpr uint32_t kFenceBlockAfter = 1u << 1;
constexpr uint32_t kFenceSyncNext = 1u << 2;
constexpr uint32_t kFenceRequest = 1u << 31;
constexpr size_t kMaxFencePayload = 64;  // the protocol's limit

rfbProtocolExtension gExtension;
int gPseudoEncodings[] = {kFenceEncoding, kContinuousUpdatesEncoding, 0};

uint16_t getU16(const uint8_t *in) { return static_cast<uint16_t>(in[0] << 8 | in[1]); }

uint32_t getU32(const uint8_t *in) {
    return uint32_t{in[0]} << 24 | uint32_t{in[1]} << 16 | uint32_t{in[2]} << 8 | in[3];
}

// A Fence message; the caller holds the client's send lock.
bool sendFenceLocked(rfbClientPtr client, uint32_t flags, const uint8_t *payload, size_t size) {
    std::vector<uint8_t> message{kFence,
                                 0,
                                 0,
                                 0,
                                 static_cast<uint8_t>(flags >> 24),
                                 static_cast<uint8_t>(flags >> 16),
                                 static_cast<uint8_t>(flags >> 8),
                                 static_cast<uint8_t>(flags),
                                 static_cast<uint8_t>(size)};
    message.insert(message.end(), payload, payload + size);
    return rfbWriteExact(client, reinterpret_cast<char *>(message.data()),
                         static_cast<int>(message.size())) > 0;
}

bool sendEndOfContinuousUpdatesLocked(rfbClientPtr client) {
    char message = static_cast<char>(kEndOfContinuousUpdates);
    return rfbWriteExact(client, &message, 1) > 0;
}

// Adds `area`, clipped to the screen, to what the viewer asked for, and
// wakes its output thread. Takes the update lock (after the send lock, in
// libvncserver's order, when the caller holds that).
void armRequestedRegion(rfbClientPtr client, const Rect &area) {
    const int x1 = std::clamp(area.x, 0, client->screen->width);
    const int y1 = std::clamp(area.y, 0, client->screen->height);
    const int x2 = std::clamp(area.right(), 0, client->screen->width);
    const int y2 = std::clamp(area.bottom(), 0, client->screen->height);
    if (x2 <= x1 || y2 <= y1)
        return;
    sraRegionPtr region = sraRgnCreateRect(x1, y1, x2, y2);
    pthread_mutex_lock(&client->updateMutex);
    sraRgnOr(client->requestedRegion, region);
    pthread_cond_signal(&client->updateCond);
    pthread_mutex_unlock(&client->updateMutex);
    sraRgnDestroy(region);
}

// Whether a change or copy in `area` waits to be sent. Takes the update lock.
bool changeWaitsIn(rfbClientPtr client, const Rect &area) {
    sraRegionPtr region = sraRgnCreateRect(area.x, area.y, area.right(), area.bottom());
    pthread_mutex_lock(&client->updateMutex);
    sraRegionPtr changes = sraRgnCreateRgn(client->modifiedRegion);
    sraRgnOr(changes, client->copyRegion);
    const bool waits = sraRgnAnd(changes, region);
    pthread_mutex_unlock(&client->updateMutex);
    sraRgnDestroy(changes);
    sraRgnDestroy(region);
    return waits;
}

// Arms `state.area` if a change waits there, else on the next change; the
// caller holds the state's mutex.
void armOrWait(rfbClientPtr client, ContinuousUpdateState &state) {
    state.armOnChange = !changeWaitsIn(client, state.area);
    if (!state.armOnChange)
        armRequestedRegion(client, state.area);
}

rfbBool onEnablePseudoEncoding(rfbClientPtr client, void **, int encoding) {
    ContinuousUpdateState *state = continuousStateOf(client);
    if (!state)
        return FALSE;
    if (encoding != kFenceEncoding && encoding != kContinuousUpdatesEncoding)
        return FALSE;
    // Send lock first, then our state: the order of the output thread,
    // which holds the send lock when it calls continuousAfterUpdateLocked().
    // The state's lock is never held while writing: the frame pump takes it
    // (continuousArmOnChange) and must not wait on a viewer's socket.
    LOCK(client->sendMutex);
    bool sendFence = false;
    bool sendEnd = false;
    {
        std::lock_guard lock(state->mutex);
        if (encoding == kFenceEncoding && !state->fence)
            sendFence = state->fence = true;
        else if (encoding == kContinuousUpdatesEncoding && !state->continuousOffered)
            sendEnd = state->continuousOffered = true;
    }
    bool ok = true;
    if (sendFence)
        ok = sendFenceLocked(client, kFenceRequest, nullptr, 0);
    else if (sendEnd)
        ok = sendEndOfContinuousUpdatesLocked(client);
    UNLOCK(client->sendMutex);
    if (!ok)
        rfbCloseClient(client);
    return TRUE;
}

void handleEnableContinuousUpdates(rfbClientPtr client, ContinuousUpdateState &state) {
    uint8_t body[9];  // enable (1), x, y, width, height (2 each)
    if (rfbReadExact(client, reinterpret_cast<char *>(body), sizeof(body)) <= 0) {
        rfbCloseClient(client);
        return;
    }
    const bool enable = body[0] != 0;
    const Rect area{getU16(body + 1), getU16(body + 3), getU16(body + 5), getU16(body + 7)};
    LOCK(client->sendMutex);
    bool sendEnd = false;
    {
        std::lock_guard lock(state.mutex);
        if (enable) {
            const bool was = state.continuousEnabled;
            state.continuousEnabled = true;
            state.area = area;
            if (!state.heldForSync)
                armOrWait(client, state);
            if (!was)
                LOG_DEBUG(kLog, "viewer %s: continuous updates for %dx%d+%d+%d", client->host,
                          area.width, area.height, area.x, area.y);
        } else {
            // After EndOfContinuousUpdates only requests bring updates
            // (TigerVNC changes its pixel format between the two), so
            // what was armed goes. A pending non-incremental request's area
            // is in the modified region already and comes with the next
            // request.
            state.continuousEnabled = false;
            state.armOnChange = false;
            pthread_mutex_lock(&client->updateMutex);
            sraRgnMakeEmpty(client->requestedRegion);
            h264ForgetParkedRequestLocked(client);
            pthread_mutex_unlock(&client->updateMutex);
            sendEnd = true;
        }
    }
    // Written with the send lock only (see onEnablePseudoEncoding).
    const bool ok = !sendEnd || sendEndOfContinuousUpdatesLocked(client);
    UNLOCK(client->sendMutex);
    if (!ok)
        rfbCloseClient(client);
}

void handleFence(rfbClientPtr client, ContinuousUpdateState &state) {
    uint8_t head[8];  // padding (3), flags (4), length (1)
    if (rfbReadExact(client, reinterpret_cast<char *>(head), sizeof(head)) <= 0) {
        rfbCloseClient(client);
        return;
    }
    const uint32_t flags = getU32(head + 3);
    const size_t length = head[7];
    if (length > kMaxFencePayload) {
        LOG_WARN(kLog, "closing viewer %s: fence with %zu bytes (at most %zu)", client->host,
                 length, kMaxFencePayload);
        rfbCloseClient(client);
        return;
    }
    uint8_t payload[kMaxFencePayload];
    if (length > 0 &&
        rfbReadExact(client, reinterpret_cast<char *>(payload), static_cast<int>(length)) <= 0) {
        rfbCloseClient(client);
        return;
    }
    if (!(flags & kFenceRequest))
        return;  // the answer to ours: it only told the viewer that we do fences
    const uint32_t answer = flags & (kFenceBlockBefore | kFenceBlockAfter | kFenceSyncNext);
    LOCK(client->sendMutex);
    {
        std::lock_guard lock(state.mutex);
        if ((flags & kFenceSyncNext) && length > 0) {
            // The viewer's next message (a new pixel format) takes effect
            // at this answer: send nothing until it asks again.
            state.heldForSync = true;
            state.updatesAtHold = rfbStatGetMessageCountSent(client, rfbFramebufferUpdate);
            pthread_mutex_lock(&client->updateMutex);
            sraRgnMakeEmpty(client->requestedRegion);
            h264ForgetParkedRequestLocked(client);
            pthread_mutex_unlock(&client->updateMutex);
        }
    }
    // Written with the send lock only (see onEnablePseudoEncoding).
    const bool ok = sendFenceLocked(client, answer, payload, length);
    UNLOCK(client->sendMutex);
    if (!ok)
        rfbCloseClient(client);
}

rfbBool onMessage(rfbClientPtr client, void *, const rfbClientToServerMsg *message) {
    if (message->type != kEnableContinuousUpdates && message->type != kFence)
        return FALSE;
    ContinuousUpdateState *state = continuousStateOf(client);
    if (!state)
        return FALSE;
    bool agreed;
    {
        std::lock_guard lock(state->mutex);
        agreed = message->type == kFence ? state->fence : state->continuousOffered;
    }
    if (!agreed) {
        // Its length depends on what was agreed; the stream cannot be
        // followed any further.
        LOG_WARN(kLog, "closing viewer %s: message %u before its pseudo-encoding was agreed",
                 client->host, message->type);
        rfbCloseClient(client);
        return TRUE;
    }
    if (message->type == kFence)
        handleFence(client, *state);
    else
        handleEnableContinuousUpdates(client, *state);
    return TRUE;
}

}  // namespace

void registerContinuousUpdates() {
    static std::once_flag once;
    registerExtensionOnce(once, gExtension, gPseudoEncodings, onEnablePseudoEncoding, onMessage);
}

void detachContinuousUpdates(rfbClientPtr client) { freeExtensionNode(client, &gExtension); }

void continuousAfterUpdateLocked(rfbClientPtr client) {
    ContinuousUpdateState *state = continuousStateOf(client);
    if (!state)
        return;
    std::lock_guard lock(state->mutex);
    if (state->heldForSync) {
        // Only an update actually sent answers the viewer's request after the
        // fence (libvncserver also runs this hook when it had nothing to
        // send); from then on the new pixel format is in force.
        if (rfbStatGetMessageCountSent(client, rfbFramebufferUpdate) <= state->updatesAtHold)
            return;
        state->heldForSync = false;
    }
    if (state->continuousEnabled)
        armOrWait(client, *state);
}

void continuousArmOnChange(rfbClientPtr client) {
    ContinuousUpdateState *state = continuousStateOf(client);
    if (!state)
        return;
    std::lock_guard lock(state->mutex);
    if (state->continuousEnabled && state->armOnChange && !state->heldForSync)
        armOrWait(client, *state);
}

}  // namespace kvmvnc::rfb

// SPDX-License-Identifier: GPL-2.0-or-later
#include "h264_updates.h"

#include <rfb/rfb.h>
// rfbregion.h has no C++ guard of its own.
extern "C" {
#include <rfb/rfbregion.h>
}

#include <cstdint>
#include <mutex>
#include <utility>

#include "continuous_updates.h"
#include "extension_node.h"
#include "kvmvnc/base/log.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";
constexpr int kH264Encoding = 50;
constexpr uint32_t kResetContext = 1u << 0;
constexpr uint32_t kResetAllContexts = 1u << 1;

rfbProtocolExtension gExtension;
int gPseudoEncodings[] = {kH264Encoding, 0};

void putU16(uint8_t *out, unsigned value) {
    out[0] = static_cast<uint8_t>(value >> 8);
    out[1] = static_cast<uint8_t>(value);
}

void putU32(uint8_t *out, uint32_t value) {
    out[0] = static_cast<uint8_t>(value >> 24);
    out[1] = static_cast<uint8_t>(value >> 16);
    out[2] = static_cast<uint8_t>(value >> 8);
    out[3] = static_cast<uint8_t>(value);
}

rfbBool onEnablePseudoEncoding(rfbClientPtr client, void **, int encoding) {
    if (encoding != kH264Encoding)
        return FALSE;
    H264ViewerState *state = h264StateOf(client);
    if (!state)
        return FALSE;
    // This SetEncodings is already counted (rfbProcessClientNormalMessage
    // records it before reading the list).
    state->listedAt.store(rfbStatGetMessageCountRcvd(client, rfbSetEncodings));
    return TRUE;
}

bool listed(rfbClientPtr client, const H264ViewerState &state) {
    const int listedAt = state.listedAt.load();
    return listedAt >= 0 && listedAt == rfbStatGetMessageCountRcvd(client, rfbSetEncodings);
}

// One FramebufferUpdate of one encoding-50 rectangle over the screen; the
// caller holds the send lock.
bool sendUnitsLocked(rfbClientPtr client, const encode::H264Stream::Batch &batch) {
    uint32_t length = 0;
    for (const auto &unit : batch.units)
        length += static_cast<uint32_t>(unit->bytes.size());
    uint8_t head[4 + 12 + 8] = {};
    head[0] = rfbFramebufferUpdate;
    putU16(head + 2, 1);
    putU16(head + 8, static_cast<unsigned>(batch.size.width));
    putU16(head + 10, static_cast<unsigned>(batch.size.height));
    putU32(head + 12, kH264Encoding);
    putU32(head + 16, length);
    // A new context resets all of them: a viewer has one context at a time
    // here (the whole screen), and decoders of an old size would otherwise
    // stay allocated in it (noVNC keeps up to 64).
    putU32(head + 20, batch.resetContext ? kResetContext | kResetAllContexts : 0);
    if (rfbWriteExact(client, reinterpret_cast<char *>(head), sizeof(head)) <= 0)
        return false;
    for (const auto &unit : batch.units) {
        if (!unit->bytes.empty() &&
            rfbWriteExact(client, reinterpret_cast<const char *>(unit->bytes.data()),
                          static_cast<int>(unit->bytes.size())) <= 0)
            return false;
    }
    // Counted as libvncserver counts its own updates: the continuous-update
    // code's SyncNext hold ends at the next FramebufferUpdate sent.
    const int raw = batch.size.width * batch.size.height * 4;
    rfbStatRecordMessageSent(client, rfbFramebufferUpdate, static_cast<int>(sizeof(head) + length),
                             raw);
    rfbStatRecordEncodingSent(client, kH264Encoding, static_cast<int>(12 + 8 + length), raw);
    return true;
}

// Moves what libvncserver would send into the refine region and empties
// the request, so libvncserver sends nothing; `park` keeps the request for
// the encoder thread's wake to give back. The caller holds the update lock.
void takeUpdateLocked(rfbClientPtr client, H264ViewerState &state, bool park) {
    sraRgnOr(state.refine, client->modifiedRegion);
    sraRgnOr(state.refine, client->copyRegion);
    sraRgnMakeEmpty(client->modifiedRegion);
    sraRgnMakeEmpty(client->copyRegion);
    client->copyDX = 0;
    client->copyDY = 0;
    sraRgnMakeEmpty(client->requestedRegion);
    state.requestParked = park;
}

// Back to pixels: what changed while H.264 was sent goes out again with the
// viewer's own encoding, unless `resend` is false (the motion ended and
// [h264] sharpen is off: the viewer keeps H.264's picture of it). Takes
// the update lock.
void leaveLocked(rfbClientPtr client, H264ViewerState &state, bool resend = true) {
    state.wake.store(false);
    if (!state.active)
        return;
    state.active = false;
    state.sending = false;
    // Within today's screen: a change outside every request would stay
    // pending for good and keep the output thread busy.
    sraRegionPtr screen = sraRgnCreateRect(0, 0, client->screen->width, client->screen->height);
    sraRgnAnd(state.refine, screen);
    LOCK(client->updateMutex);
    if (resend)
        sraRgnOr(client->modifiedRegion, state.refine);
    sraRgnMakeEmpty(state.refine);
    if (state.requestParked) {
        // The request waited for a unit that will not be sent now.
        sraRgnOr(client->requestedRegion, screen);
        state.requestParked = false;
    }
    UNLOCK(client->updateMutex);
    sraRgnDestroy(screen);
    LOG_DEBUG(kLog, "viewer %s: pixels again after %llu H.264 rectangles", client->host,
              static_cast<unsigned long long>(state.rectangles));
}

bool wantsWholeScreen(rfbClientPtr client) {
    sraRegionPtr screen = sraRgnCreateRect(0, 0, client->screen->width, client->screen->height);
    LOCK(client->updateMutex);
    sraRegionPtr missing = sraRgnCreateRgn(screen);
    sraRgnSubtract(missing, client->requestedRegion);
    const bool whole = sraRgnEmpty(missing);
    UNLOCK(client->updateMutex);
    sraRgnDestroy(missing);
    sraRgnDestroy(screen);
    return whole;
}

}  // namespace

H264ViewerState::H264ViewerState() : refine(sraRgnCreate()) {}

H264ViewerState::~H264ViewerState() { sraRgnDestroy(refine); }

void registerH264Updates() {
    static std::once_flag once;
    registerExtensionOnce(once, gExtension, gPseudoEncodings, onEnablePseudoEncoding, nullptr);
}

void detachH264Updates(rfbClientPtr client) { freeExtensionNode(client, &gExtension); }

void h264BeforeUpdateLocked(rfbClientPtr client) {
    H264ViewerState *state = h264StateOf(client);
    encode::H264Stream *stream = h264StreamOf(client);
    if (!state || !stream || !state->refine)
        return;
    // A resolution change goes first, as a DesktopSize of its own; the
    // stream restarts at the new size with a new context.
    if (client->useNewFBSize && client->newFBSizePending)
        return;
    // Only whole-screen requests (noVNC's and TigerVNC's, and continuous
    // updates of the whole screen): the rectangle is the whole screen.
    if (!listed(client, *state)) {
        leaveLocked(client, *state);
        return;
    }
    if (!h264MotionNow(client)) {
        leaveLocked(client, *state, h264Sharpens(client));
        return;
    }
    if (!wantsWholeScreen(client)) {
        leaveLocked(client, *state);
        return;
    }
    // The wake flag goes up before the stream is read, and `woken` is
    // cleared then: a unit published after the read finds the flag and
    // sets `woken`, and the request is not parked on a wake that came
    // already (it would wait for the next unit).
    state->wake.store(true);
    encode::H264Stream::Batch batch;
    for (;;) {
        LOCK(client->updateMutex);
        state->woken = false;
        UNLOCK(client->updateMutex);
        const encode::H264Stream::ReadResult result = stream->read(state->cursor, batch);
        if (result == encode::H264Stream::ReadResult::Unavailable) {
            leaveLocked(client, *state);
            return;
        }
        const bool fits = batch.size.width == client->screen->width &&
                          batch.size.height == client->screen->height;
        if (result == encode::H264Stream::ReadResult::Units && fits)
            break;
        // Nothing to send yet (or units of a size the screen no longer
        // has: the encoder follows the resize): wait for the next unit.
        if (!fits)
            state->cursor.synced = false;
        state->active = true;
        LOCK(client->updateMutex);
        const bool woken = state->woken;
        if (!woken)
            takeUpdateLocked(client, *state, true);
        UNLOCK(client->updateMutex);
        if (!woken)
            return;
    }
    if (!std::exchange(state->sending, true))
        LOG_DEBUG(kLog, "viewer %s: H.264 from unit %llu", client->host,
                  static_cast<unsigned long long>(batch.units.front()->sequence));
    state->active = true;
    // The request is answered before the answer is written, as
    // libvncserver does: the viewer's next request may arrive while this
    // update is still being written, and must not be emptied after it.
    LOCK(client->updateMutex);
    takeUpdateLocked(client, *state, false);
    UNLOCK(client->updateMutex);
    if (!sendUnitsLocked(client, batch)) {
        rfbCloseClient(client);
        return;
    }
    state->rectangles += 1;
}

bool h264EverListed(rfbClientPtr client) {
    const H264ViewerState *state = h264StateOf(client);
    return state && state->listedAt.load() >= 0;
}

void h264Wake(rfbClientPtr client) {
    H264ViewerState *state = h264StateOf(client);
    if (!state || !state->wake.load())
        return;
    // A token change of one pixel: libvncserver's output thread waits for
    // a change in the requested region, and the pixel ends in the refine
    // region like any other change.
    sraRegionPtr token = sraRgnCreateRect(0, 0, 1, 1);
    LOCK(client->updateMutex);
    state->woken = true;
    if (state->requestParked) {
        sraRegionPtr screen = sraRgnCreateRect(0, 0, client->screen->width, client->screen->height);
        sraRgnOr(client->requestedRegion, screen);
        sraRgnDestroy(screen);
        state->requestParked = false;
    }
    sraRgnOr(client->modifiedRegion, token);
    pthread_cond_signal(&client->updateCond);
    UNLOCK(client->updateMutex);
    sraRgnDestroy(token);
    continuousArmOnChange(client);
}

void h264ForgetParkedRequestLocked(rfbClientPtr client) {
    if (H264ViewerState *state = h264StateOf(client))
        state->requestParked = false;
}

}  // namespace kvmvnc::rfb

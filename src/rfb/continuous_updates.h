// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <mutex>

#include "kvmvnc/base/geometry.h"

struct _rfbClientRec;  // NOLINT(bugprone-reserved-identifier): libvncserver's tag

namespace kvmvnc::rfb {

// Continuous updates and Fence, which libvncserver 0.9.14 lacks, registered
// with it as one extension:
//   -312  Fence: the viewer sends Fence messages (248) and answers ours. We
//         send one request when a viewer first lists -312, as TigerVNC's
//         server does; viewers take that as the sign that fences work.
//   -313  ContinuousUpdates: once we answer with EndOfContinuousUpdates
//         (150), the viewer may send EnableContinuousUpdates (150) for an
//         area, and from then on every change in that area is sent as soon
//         as the previous update is out, without waiting for a
//         FramebufferUpdateRequest. The frame rate then no longer depends
//         on the round-trip time.
//
// How: libvncserver sends an update only while the viewer's requested
// region is not empty, and empties it with every update it sends. For a
// viewer in continuous mode the region is armed again with the area right
// after each update (in the output thread, under the send lock). Pacing is
// TCP's: the output thread blocks in write() while the link is full, and
// changes meanwhile merge into the next update, so a slow link gets fewer,
// fresher frames rather than a queue of stale ones.
//
// Fences are answered in order on the viewer's input thread, under its send
// lock (never inside an update) but not its state's lock, which the frame
// pump takes and which is therefore never held while writing. BlockBefore
// and BlockAfter hold trivially (messages are handled one at a time). SyncNext is honoured: a
// SyncNext fence with a payload (TigerVNC's pixel format change: the fence, then SetPixelFormat,
// then a FramebufferUpdateRequest) drops the requested region and holds continuous updates until
// the viewer asks again, so no update in the old format follows the answer. A SyncNext fence
// without a payload is TigerVNC's probe; it is answered at once with SyncNext set, which is what
// makes TigerVNC enable continuous updates.
//
// Idempotent; call before the server accepts viewers.
void registerContinuousUpdates();

// What one viewer agreed to. Lives in RfbServer's per-viewer data.
struct ContinuousUpdateState {
    std::mutex mutex;                // input thread (messages) vs output thread (after an update)
    bool fence = false;              // listed -312; our fence request was sent
    bool continuousOffered = false;  // listed -313; EndOfContinuousUpdates was sent
    bool continuousEnabled = false;  // EnableContinuousUpdates(1) received
    bool heldForSync = false;        // a SyncNext fence waits for the viewer's next request
    int updatesAtHold = 0;           // FramebufferUpdates sent when the hold began
    bool armOnChange = false;        // nothing to send in the area: arm at the next change
    Rect area;                       // what continuous updates cover
};

// Implemented by RfbServer: the state of `client`, null until it is accepted.
ContinuousUpdateState *continuousStateOf(_rfbClientRec *client);

// Unlinks the extension from a viewer that is gone (or refused) and frees
// libvncserver's list node for it.
void detachContinuousUpdates(_rfbClientRec *client);

// Called after each update, with the client's send lock held: arms the
// requested region again for a viewer in continuous mode when a change in
// its area waits, else at the next change (arming with nothing to send
// would spin the output thread: libvncserver counts a change anywhere as
// pending).
void continuousAfterUpdateLocked(_rfbClientRec *client);

// Called after changes were marked or copies scheduled: arms a viewer in
// continuous mode that was waiting for a change in its area.
void continuousArmOnChange(_rfbClientRec *client);

}  // namespace kvmvnc::rfb

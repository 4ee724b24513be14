// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>

#include "kvmvnc/encode/h264_stream.h"

struct _rfbClientRec;  // NOLINT(bugprone-reserved-identifier): libvncserver's tag
struct sraRegion;

namespace kvmvnc::rfb {

// "Open H.264", RFB encoding 50, for viewers that list it (noVNC 1.6 and
// later in a secure context, TigerVNC 1.13 and later), registered with
// libvncserver as an extension with pseudoEncodings {50, 0}: libvncserver
// knows no encoding 50, so a SetEncodings that lists it calls our
// enablePseudoEncoding, whatever its place in the list (TigerVNC lists it
// after Tight). Nothing tells an extension when a later SetEncodings leaves
// it out, so the viewer's count of SetEncodings messages is kept with the
// listing: 50 is in force exactly while no SetEncodings came after the one
// that listed it (libvncserver counts the message before it reads its
// encodings).
//
// What is sent, and how: while the MotionPolicy says the screen is in
// motion and the viewer's requested region is the whole screen, each update
// is one rectangle of encoding 50 over the whole screen (U32 length, U32
// flags with ResetContext when the viewer's decoder starts a new context,
// then the access units it has not had from the shared encode::H264Stream,
// whole, concatenated) instead of libvncserver's encoding. It is written
// from the viewer's own output thread, in the display hook, under its send
// lock, like every update (a thread of our own would race libvncserver for
// the socket, and TCP's pacing of continuous updates would be lost). The
// changes libvncserver would have sent are kept in the viewer's refine
// region instead, and the requested region is emptied, so libvncserver
// finds nothing to send and returns. When motion ends, or the viewer drops
// 50 or asks for part of the screen, the refine region goes back into the
// modified region: the areas that moved are sent once more, sharp, with
// the viewer's own encoding.
//
// A viewer whose next unit is not encoded yet (joining, waiting for an IDR
// after falling behind, or simply ahead of the encoder) has its request
// parked the same way: the encoder thread's wake (h264Wake) gives the
// request back when a unit is published, and a token change of one pixel
// makes libvncserver's output thread run (it waits for a change, not for
// us). The producer never waits for a viewer: the wake takes only the
// update lock, as RfbServer::markModified does.
//
// Idempotent; call before the server accepts viewers.
void registerH264Updates();

// What one viewer agreed to and where it is. Lives in RfbServer's per-viewer
// data. Everything but `wake` is the viewer's own, read and written with
// its send lock held (the display hook; SetEncodings, which the
// between-updates marker applies under it); the parked request is guarded
// by the viewer's update lock.
struct H264ViewerState {
    H264ViewerState();
    ~H264ViewerState();
    H264ViewerState(const H264ViewerState &) = delete;
    H264ViewerState &operator=(const H264ViewerState &) = delete;

    // The SetEncodings (by count) that listed 50; -1: none. Atomic for a
    // viewer whose SetEncodings came without the between-updates marker.
    std::atomic<int> listedAt{-1};
    encode::H264Stream::Cursor cursor;
    bool active = false;          // updates go as H.264; changes wait in `refine`
    bool sending = false;         // a unit went out since `active` was last set
    sraRegion *refine = nullptr;  // what changed while H.264 was sent
    bool requestParked = false;   // under the update lock: a whole-screen request waits for a unit
    bool woken = false;           // under the update lock: h264Wake() ran since the stream was read
    std::atomic<bool> wake{false};  // the encoder thread's publications concern this viewer
    uint64_t rectangles = 0;        // encoding-50 rectangles sent
};

// Implemented by RfbServer: the viewer's state, null until it is accepted.
H264ViewerState *h264StateOf(_rfbClientRec *client);
// Implemented by RfbServer: the shared stream, null when none is attached.
encode::H264Stream *h264StreamOf(_rfbClientRec *client);
// Implemented by RfbServer: whether the MotionPolicy says H.264 now.
bool h264MotionNow(_rfbClientRec *client);
// Implemented by RfbServer: whether the end of motion sends what changed
// during it again as pixels ([h264] sharpen).
bool h264Sharpens(_rfbClientRec *client);

// Unlinks the extension from a viewer that is gone (or refused) and frees
// libvncserver's list node for it.
void detachH264Updates(_rfbClientRec *client);

// The display hook's part, before every update, with the send lock held:
// sends the viewer's access units (and leaves libvncserver nothing to send),
// parks its request until there are some, or gives back the refine region.
void h264BeforeUpdateLocked(_rfbClientRec *client);

// From any thread (the encoder's, after a publication; the frame pump's, to
// let viewers leave H.264 once the screen is still): wakes the viewer's
// output thread if it is sending H.264 or waiting for a unit. Takes only the
// update lock and the continuous-update state's lock.
void h264Wake(_rfbClientRec *client);

// Whether the viewer listed 50 in any SetEncodings so far (an atomic read,
// for other threads: a later SetEncodings without 50 is not seen here).
bool h264EverListed(_rfbClientRec *client);

// Called with the update lock held where the requested region is emptied
// for another reason (a SyncNext fence's hold): a parked request is
// dropped too, so no wake answers it.
void h264ForgetParkedRequestLocked(_rfbClientRec *client);

}  // namespace kvmvnc::rfb

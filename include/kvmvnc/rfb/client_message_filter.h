// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvmvnc::rfb {

// libvncserver takes this message type from the front door only: "apply the
// next message between two updates". A client sending it is closed like any
// sender of an unknown type, so it never reaches libvncserver from outside.
constexpr uint8_t kBetweenUpdatesMessage = 201;

// What a viewer sends after the security handshake (ClientInit, then client
// messages), read before libvncserver sees it. The front door runs every
// admitted viewer's bytes through one of these on their way to the RFB
// server, so that nothing a viewer sends can reach libvncserver in a form
// that hurts the daemon, the target or the other viewers:
//
//  - SetPixelFormat and SetEncodings go in behind kBetweenUpdatesMessage:
//    libvncserver 0.9.14 applies them on the viewer's input thread without
//    the send lock, under its output thread's running encoder (crashes:
//    SIGSEGV, double free, SIGFPE). Behind the marker the RFB server applies
//    them with that lock held (rfb/between_updates.cpp). A pixel format
//    libvncserver cannot translate to is refused here.
//  - A view-only viewer's input never arrives: keys, pointer (libvncserver
//    records the button-holding viewer before it checks view-only, which
//    froze the others' mice), QEMU key events, SetDesktopSize. Control
//    requests and xvp still go in: the control service refuses what they
//    would change, with an answer the viewer understands.
//  - Extension messages go in only after their pseudo-encoding was listed
//    in a SetEncodings: xvp (-309), ExtendedDesktopSize (-308), QEMU key
//    events (-258), Fence (-312), EnableContinuousUpdates (-313).
//  - Server-side scaling (SetScale, PalmVNC's SetServerScale) is not
//    offered: dropped, so libvncserver's scaled screens (and their division
//    by a size after a resize) never exist.
//  - ClientCutText goes in up to kMaxCutText bytes (the viewer's clipboard,
//    typed on the target only when that viewer presses the paste chord);
//    longer ones are skipped, whatever their length (libvncserver would
//    close a viewer whose clipboard holds over 1 MiB, and viewers send it
//    unasked). With the Extended Clipboard (0xC0A1E5CE) listed, only
//    messages that provide data go in: capabilities, requests and peeks
//    are dropped, as are messages too short for their flags. A view-only
//    viewer's clipboard is dropped (it could never be typed).
//  - Any other message type closes the connection: its length is unknown,
//    so the stream cannot be followed.
//
// Bounded: a message is held only until its length is known, SetEncodings
// (at most kMaxEncodings) and SetDesktopSize whole; payloads (control
// uploads, clipboard) stream through or are skipped.
//
// Thread-bound: one per connection, used by its relay thread.
class ClientMessageFilter {
public:
    static constexpr uint32_t kMaxEncodings = 1024;
    static constexpr uint32_t kMaxDesktopScreens = 64;
    // libvncserver's own bound for ClientCutText.
    static constexpr uint32_t kMaxCutText = 1u << 20;

    explicit ClientMessageFilter(bool viewOnly) : viewOnly_(viewOnly) {}

    // Reads `input` and appends what libvncserver may see to `output`.
    // False when the connection must close; closeReason() says why. A false
    // return is final.
    bool feed(std::span<const uint8_t> input, std::vector<uint8_t> &output);
    const std::string &closeReason() const { return closeReason_; }

    // Messages dropped so far (view-only input, scaling, clipboard).
    uint64_t dropped() const { return dropped_; }

private:
    // How many bytes of the message in `head_` must be held before it can
    // be judged; 0 when the type is unknown.
    size_t headSize() const;
    // A ClientCutText head (8 bytes read) whose negative length says Extended Clipboard.
    bool extendedCutText() const;
    // Judges the complete head: appends it (or not) to `output`, sets up
    // what follows it. False: close.
    bool judge(std::vector<uint8_t> &output);
    bool refuse(std::string reason);

    // Pseudo-encodings listed so far, as bits of announced_.
    enum Announced : uint32_t {
        kListedXvp = 1u << 0,
        kListedExtendedDesktopSize = 1u << 1,
        kListedQemuKeys = 1u << 2,
        kListedFence = 1u << 3,
        kListedContinuousUpdates = 1u << 4,
        kListedExtendedClipboard = 1u << 5,
    };

    const bool viewOnly_;
    bool clientInitSeen_ = false;
    uint32_t announced_ = 0;
    std::vector<uint8_t> head_;  // the message being read, until judged
    uint64_t payloadLeft_ = 0;   // bytes after a judged head
    bool payloadPasses_ = false;
    bool scalingLogged_ = false;
    bool failed_ = false;
    uint64_t dropped_ = 0;
    std::string closeReason_;
};

}  // namespace kvmvnc::rfb

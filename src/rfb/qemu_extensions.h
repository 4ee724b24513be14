// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

struct _rfbClientRec;  // NOLINT(bugprone-reserved-identifier): libvncserver's tag

namespace kvmvnc::rfb {

// RFB extensions libvncserver lacks, registered with it:
//   -258  QEMU Extended Key Event: the viewer sends physical keys (message
//         255, sub-type 0) once the server answers with a -258 pseudo-rect;
//   -261  QEMU LED State: the server sends the keyboard LEDs as a pseudo-rect
//         with one byte (1 Scroll, 2 Num, 4 Caps);
//   -307  DesktopName: the server renames the desktop (the viewer's window
//         title) with a pseudo-rect holding a 4-byte length and the name;
//         kvmvnc says there when the target is not reading the keyboard.
// Idempotent; call before the server accepts viewers.
void registerQemuExtensions();

// What one viewer agreed to. Lives in RfbServer's per-viewer data (never in
// libvncserver's extension data, which it frees with free(), possibly twice).
struct QemuClientState {
    std::mutex mutex;  // input thread (SetEncodings) vs LED sender
    bool extendedKeys = false;
    bool supportedMessagesPending = false;  // as before the update being sent
    bool leds = false;
    int sentLeds = -1;
    bool desktopName = false;
    std::string sentName;  // as told in ServerInit or by -307
};

// Implemented by RfbServer: the state of `client`, null until it is accepted.
QemuClientState *qemuStateOf(_rfbClientRec *client);

// Unlinks the extension from a viewer that is gone and frees the list node
// libvncserver allocated for it (0.9.14 never frees it otherwise).
void detachQemuExtensions(_rfbClientRec *client);

// Called around each update, with the client's send lock held. After the
// update that carried libvncserver's SupportedMessages list, the -258 offer
// is repeated: libvncclient (Remmina and others) replaces its table of
// supported messages with that list, which does not know ours.
void beforeUpdateLocked(_rfbClientRec *client);
void afterUpdateLocked(_rfbClientRec *client);

// Sends the LED state to `client` if it asked for -261 and has not been told
// this state yet. Queued in the viewer's outbox: any thread, never blocks.
void sendLedState(_rfbClientRec *client, uint8_t hidLeds);

// Sends `name` to `client` if it asked for -307 and has another name now.
// Queued in the viewer's outbox: any thread, never blocks.
void sendDesktopName(_rfbClientRec *client, const std::string &name);

}  // namespace kvmvnc::rfb

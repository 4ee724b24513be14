// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

struct _rfbClientRec;  // NOLINT(bugprone-reserved-identifier): libvncserver's tag

namespace kvmvnc::rfb {

class ViewerOutbox;

// The front door's kBetweenUpdatesMessage (kvmvnc/rfb/client_message_filter.h)
// as a libvncserver extension, enabled for every viewer: the message after
// it (SetPixelFormat or SetEncodings) is read and applied with the viewer's
// send lock held, so never while its output thread encodes with the old
// format or encoder state. The send lock is made recursive for every viewer
// (makeSendLockRecursive), because libvncserver sends while applying them
// (xvp's and the extended clipboard's announcements, a colour map, our
// extensions' answers) and takes the lock again for that.
//
// Its close callback shuts the viewer's outbox, so that nothing more is
// written to a viewer being closed. Idempotent; call before the server
// accepts viewers.
void registerBetweenUpdates();

// Re-creates `client`'s send lock as a recursive mutex. For the new-client
// hook, before libvncserver starts the viewer's threads.
bool makeSendLockRecursive(_rfbClientRec *client);

// Implemented by RfbServer: the viewer's outbox, null until it is accepted.
ViewerOutbox *outboxOf(_rfbClientRec *client);

// Unlinks the extension from a viewer that is gone (or refused) and frees
// libvncserver's list node for it.
void detachBetweenUpdates(_rfbClientRec *client);

}  // namespace kvmvnc::rfb

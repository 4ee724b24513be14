// SPDX-License-Identifier: GPL-2.0-or-later
#include "between_updates.h"

#include <rfb/rfb.h>

#include <mutex>

#include "extension_node.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/rfb/client_message_filter.h"
#include "viewer_outbox.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";

rfbProtocolExtension gExtension;

// The message being applied on this thread: the front door never sends two
// markers in a row, so a second one inside is not from it.
thread_local bool applying = false;

rfbBool onMessage(rfbClientPtr client, void *, const rfbClientToServerMsg *message) {
    if (message->type != kBetweenUpdatesMessage)
        return FALSE;
    if (applying) {
        LOG_WARN(kLog, "closing viewer %s: a nested between-updates marker", client->host);
        rfbCloseClient(client);
        return TRUE;
    }
    applying = true;
    // Waits for the update under way, if any; the next one starts after
    // the message is applied. libvncserver reads the message itself.
    LOCK(client->sendMutex);
    rfbProcessClientMessage(client);
    UNLOCK(client->sendMutex);
    applying = false;
    return TRUE;
}

// rfbCloseClient, on whichever thread closes the viewer; takes no lock the
// closing thread might hold.
void onClose(rfbClientPtr client, void *) {
    if (ViewerOutbox *outbox = outboxOf(client))
        outbox->close();
}

}  // namespace

void registerBetweenUpdates() {
    static std::once_flag once;
    registerExtensionOnce(once, gExtension, nullptr, nullptr, onMessage, onClose);
}

bool makeSendLockRecursive(rfbClientPtr client) {
    pthread_mutexattr_t attributes;
    if (pthread_mutexattr_init(&attributes) != 0)
        return false;
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_destroy(&client->sendMutex);
    const bool ok = pthread_mutex_init(&client->sendMutex, &attributes) == 0;
    pthread_mutexattr_destroy(&attributes);
    return ok;
}

void detachBetweenUpdates(rfbClientPtr client) { freeExtensionNode(client, &gExtension); }

}  // namespace kvmvnc::rfb

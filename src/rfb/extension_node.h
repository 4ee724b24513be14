// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <rfb/rfb.h>

#include <cstdlib>
#include <mutex>

namespace kvmvnc::rfb {

// Unlinks `extension` from a viewer that is gone and frees the list node
// libvncserver allocated for it (calloc; its data is ours, null). 0.9.14's
// rfbDisableExtension unlinks without freeing, and a fixed version would
// free it, so calling it and freeing afterwards would be wrong on one or the
// other: we do both ourselves.
inline void freeExtensionNode(rfbClientPtr client, rfbProtocolExtension *extension) {
    rfbExtensionData **link = &client->extensions;
    while (*link) {
        if ((*link)->extension == extension) {
            rfbExtensionData *node = *link;
            *link = node->next;
            std::free(node);
            return;
        }
        link = &(*link)->next;
    }
}

// Registers one of our extensions with libvncserver, once however often it
// is called. Its per-viewer state lives in RfbServer's client data (libvncserver
// frees extension data with free(), possibly twice), so the list node it
// gives each viewer carries none. `close`, if any, runs in rfbCloseClient.
inline void registerExtensionOnce(std::once_flag &once, rfbProtocolExtension &extension,
                                  int *pseudoEncodings,
                                  rfbBool (*enablePseudoEncoding)(rfbClientPtr, void **, int),
                                  rfbBool (*handleMessage)(rfbClientPtr, void *,
                                                           const rfbClientToServerMsg *),
                                  void (*close)(rfbClientPtr, void *) = nullptr) {
    std::call_once(once, [&] {
        extension.close = close;
        extension.newClient = [](rfbClientPtr, void **data) -> rfbBool {
            *data = nullptr;
            return TRUE;
        };
        extension.pseudoEncodings = pseudoEncodings;
        extension.enablePseudoEncoding = enablePseudoEncoding;
        extension.handleMessage = handleMessage;
        rfbRegisterProtocolExtension(&extension);
    });
}

}  // namespace kvmvnc::rfb

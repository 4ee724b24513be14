// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <rfb/rfb.h>

#include <cstdlib>

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

}  // namespace kvmvnc::rfb

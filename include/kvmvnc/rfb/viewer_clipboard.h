// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "kvmvnc/control/protocol.h"

namespace kvmvnc::rfb {

// The last text a viewer put in its clipboard (ClientCutText), kept to be
// typed on the target when that viewer asks (the paste chord), never by
// itself: viewers send their clipboard unasked, on every copy.
//
// Kept as UTF-8, at most kMaxBytes (TypeText's bound). A longer text is
// refused rather than cut: typed in part, a script or a list of commands
// would run its first lines and break off in the middle of one. Refused
// text (too long, or not UTF-8 from the extended clipboard) empties the
// clipboard, so an older text is never typed when the viewer believes it
// copied another; the caller logs why.
//
// Thread-bound: the viewer's input thread sets and reads it.
class ViewerClipboard {
public:
    static constexpr size_t kMaxBytes = control::kMaxTypeText;

    enum class Outcome { Kept, TooLong, NotUtf8 };

    // Plain ClientCutText: ISO 8859-1.
    Outcome setLatin1(std::string_view text);
    // Extended Clipboard (0xC0A1E5CE) text: UTF-8, and the NUL that ends it.
    Outcome setUtf8(std::string_view text);

    const std::string &text() const { return text_; }

private:
    std::string text_;
};

}  // namespace kvmvnc::rfb

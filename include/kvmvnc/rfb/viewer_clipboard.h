// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kvmvnc::rfb {

// The last text a viewer put in its clipboard (ClientCutText), kept to be
// typed on the target when that viewer asks (the paste chord), never by
// itself: viewers send their clipboard unasked, on every copy.
//
// Kept as UTF-8, at most kMaxBytes: longer text is cut at the last whole
// character within the bound, and the cut is reported (the caller logs
// it), so a paste types the start of the text rather than nothing. Text
// that is not UTF-8 (from the extended clipboard) empties the clipboard:
// an older text must not be typed when the viewer believes it copied
// another.
//
// Thread-bound: the viewer's input thread sets and reads it.
class ViewerClipboard {
public:
    static constexpr size_t kMaxBytes = 64 * 1024;

    enum class Outcome { Kept, Truncated, NotUtf8 };

    // Plain ClientCutText: ISO 8859-1.
    Outcome setLatin1(std::string_view text);
    // Extended Clipboard (0xC0A1E5CE) text: UTF-8, and the NUL that ends it.
    Outcome setUtf8(std::string_view text);

    const std::string &text() const { return text_; }

private:
    std::string text_;
};

}  // namespace kvmvnc::rfb

// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/viewer_clipboard.h"

#include "kvmvnc/base/utf8.h"

namespace kvmvnc::rfb {

ViewerClipboard::Outcome ViewerClipboard::setLatin1(std::string_view text) {
    text_.clear();
    for (const char byte : text) {
        const auto character = static_cast<unsigned char>(byte);
        if (text_.size() + (character < 0x80 ? 1 : 2) > kMaxBytes) {
            text_.clear();
            return Outcome::TooLong;
        }
        appendUtf8(text_, character);  // Latin-1 is the first 256 code points
    }
    return Outcome::Kept;
}

ViewerClipboard::Outcome ViewerClipboard::setUtf8(std::string_view text) {
    text_.clear();
    // The Extended Clipboard's text ends with a NUL (TigerVNC and noVNC send one).
    if (!text.empty() && text.back() == '\0')
        text.remove_suffix(1);
    if (text.size() > kMaxBytes)
        return Outcome::TooLong;
    if (!decodeUtf8Strict(text))
        return Outcome::NotUtf8;
    text_.assign(text);
    return Outcome::Kept;
}

}  // namespace kvmvnc::rfb

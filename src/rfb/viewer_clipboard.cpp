// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/viewer_clipboard.h"

#include "kvmvnc/base/utf8.h"

namespace kvmvnc::rfb {

ViewerClipboard::Outcome ViewerClipboard::setLatin1(std::string_view text) {
    text_.clear();
    for (const char byte : text) {
        const auto character = static_cast<unsigned char>(byte);
        if (text_.size() + (character < 0x80 ? 1 : 2) > kMaxBytes)
            return Outcome::Truncated;
        appendUtf8(text_, character);  // Latin-1 is the first 256 code points
    }
    return Outcome::Kept;
}

ViewerClipboard::Outcome ViewerClipboard::setUtf8(std::string_view text) {
    text_.clear();
    // The Extended Clipboard's text ends with a NUL (TigerVNC sends one).
    if (!text.empty() && text.back() == '\0')
        text.remove_suffix(1);
    // Checked whole, not only the part kept: a broken text is refused
    // wherever it breaks.
    if (!decodeUtf8Strict(text))
        return Outcome::NotUtf8;
    if (text.size() <= kMaxBytes) {
        text_.assign(text);
        return Outcome::Kept;
    }
    size_t end = kMaxBytes;
    // Back to the first byte of the character the bound cuts.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80)
        --end;
    text_.assign(text.substr(0, end));
    return Outcome::Truncated;
}

}  // namespace kvmvnc::rfb

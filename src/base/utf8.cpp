// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/utf8.h"

namespace kvmvnc {

namespace {
constexpr char32_t kReplacement = U'\uFFFD';
}  // namespace

std::optional<char32_t> decodeUtf8At(std::string_view text, size_t &i) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    auto isContinuation = [&](size_t k) { return k < text.size() && (byte(k) & 0xc0) == 0x80; };
    const uint8_t lead = byte(i++);
    if (lead < 0x80)
        return lead;
    const int extra = lead >= 0xf8   ? -1
                      : lead >= 0xf0 ? 3
                      : lead >= 0xe0 ? 2
                      : lead >= 0xc0 ? 1
                                     : -1;
    if (extra < 0)
        return std::nullopt;
    char32_t cp = lead & (0x3f >> extra);
    for (int k = 0; k < extra; ++k) {
        if (!isContinuation(i))
            return std::nullopt;
        cp = (cp << 6) | (byte(i) & 0x3f);
        ++i;
    }
    constexpr char32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kSmallest[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return std::nullopt;  // overlong, out of range, or a surrogate
    return cp;
}

std::u32string decodeUtf8(std::string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();)
        out.push_back(decodeUtf8At(text, i).value_or(kReplacement));
    return out;
}

std::optional<std::u32string> decodeUtf8Strict(std::string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const std::optional<char32_t> cp = decodeUtf8At(text, i);
        if (!cp)
            return std::nullopt;
        out.push_back(*cp);
    }
    return out;
}

void appendUtf8(std::string &out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xc0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xe0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (c & 0x3f));
    }
}

}  // namespace kvmvnc

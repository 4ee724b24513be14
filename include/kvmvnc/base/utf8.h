// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kvmvnc {

// UTF-8 as text on screens, in names and in pasted text.

// Decodes `text`; a broken sequence becomes one U+FFFD (for drawing).
std::u32string decodeUtf8(std::string_view text);
// Decodes `text`, or nothing when it is not well-formed UTF-8 (broken or
// overlong sequences, surrogates, code points past U+10FFFF).
std::optional<std::u32string> decodeUtf8Strict(std::string_view text);
// Decodes the sequence at text[i] and moves i past it; a broken sequence is
// skipped whole (lead and continuation bytes) and gives nothing.
std::optional<char32_t> decodeUtf8At(std::string_view text, size_t &i);
void appendUtf8(std::string &out, char32_t character);

}  // namespace kvmvnc

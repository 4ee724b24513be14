// SPDX-License-Identifier: GPL-2.0-or-later
// Text rules HTTP headers share (RFC 9110): ASCII case-insensitive names and
// tokens, optional whitespace around values. Internal to the door stage.
#pragma once

#include <string_view>

namespace kvmvnc::door::http_text {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

// Without the spaces and tabs around it.
inline std::string_view trimWhitespace(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

}  // namespace kvmvnc::door::http_text

// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmvnc::input {

// A key chord as the configuration writes it ([hid] paste_chord): key names
// separated by commas, "alt_l,alt_l,p"; every key but the last is tapped
// (pressed and released), the last one pressed. "off" is no chord. Header
// only, with nothing behind it, so the configuration checks a value without
// linking the input stage.

inline constexpr size_t kMaxChordKeys = 8;

namespace detail {

struct ChordKeyName {
    const char *name;
    uint32_t keysym;
};

// The keys a chord may use: modifiers, letters, digits and keys that type
// nothing. Letters match either case (a viewer sends 'P' while Shift or
// Caps Lock is on).
inline constexpr ChordKeyName kChordKeyNames[] = {
    {"alt_l", 0xffe9},   {"alt_r", 0xffea},       {"ctrl_l", 0xffe3},  {"ctrl_r", 0xffe4},
    {"shift_l", 0xffe1}, {"shift_r", 0xffe2},     {"super_l", 0xffeb}, {"super_r", 0xffec},
    {"meta_l", 0xffe7},  {"meta_r", 0xffe8},      {"escape", 0xff1b},  {"insert", 0xff63},
    {"pause", 0xff13},   {"scroll_lock", 0xff14}, {"print", 0xff61},   {"menu", 0xff67},
    {"space", 0x20},
};

inline std::string lowerAscii(std::string_view text) {
    std::string out(text);
    for (char &c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

inline std::optional<uint32_t> chordKeysymOf(std::string_view name) {
    const std::string lower = lowerAscii(name);
    if (lower.size() == 1 &&
        ((lower[0] >= 'a' && lower[0] <= 'z') || (lower[0] >= '0' && lower[0] <= '9')))
        return static_cast<uint32_t>(lower[0]);
    if (lower.size() >= 2 && lower.size() <= 3 && lower[0] == 'f') {
        int number = 0;
        for (size_t i = 1; i < lower.size(); ++i) {
            if (lower[i] < '0' || lower[i] > '9')
                return std::nullopt;
            number = number * 10 + (lower[i] - '0');
        }
        if (number >= 1 && number <= 12)
            return 0xffbe + static_cast<uint32_t>(number - 1);  // XK_F1..XK_F12
        return std::nullopt;
    }
    for (const ChordKeyName &key : kChordKeyNames)
        if (lower == key.name)
            return key.keysym;
    return std::nullopt;
}

}  // namespace detail

// The chord's keysyms in order (empty for "off"), or nothing with
// `problem` saying why.
inline std::optional<std::vector<uint32_t>> parseKeyChord(std::string_view text,
                                                          std::string *problem = nullptr) {
    auto fail = [&](std::string why) -> std::optional<std::vector<uint32_t>> {
        if (problem)
            *problem = std::move(why);
        return std::nullopt;
    };
    auto trim = [](std::string_view part) {
        while (!part.empty() && (part.front() == ' ' || part.front() == '\t'))
            part.remove_prefix(1);
        while (!part.empty() && (part.back() == ' ' || part.back() == '\t'))
            part.remove_suffix(1);
        return part;
    };
    text = trim(text);
    if (detail::lowerAscii(text) == "off")
        return std::vector<uint32_t>{};
    std::vector<uint32_t> keys;
    while (true) {
        const size_t comma = text.find(',');
        const std::string_view name = trim(text.substr(0, comma));
        if (name.empty())
            return fail("an empty key name (write keys like alt_l,alt_l,p, or off)");
        std::optional<uint32_t> keysym = detail::chordKeysymOf(name);
        if (!keysym)
            return fail("'" + std::string(name) +
                        "' is not a key name (a-z, 0-9, f1-f12, alt_l, ctrl_l, shift_l, super_l, "
                        "their _r twins, meta_l, escape, insert, pause, scroll_lock, print, "
                        "menu, space)");
        keys.push_back(*keysym);
        if (keys.size() > kMaxChordKeys)
            return fail("more than " + std::to_string(kMaxChordKeys) + " keys");
        if (comma == std::string_view::npos)
            break;
        text.remove_prefix(comma + 1);
    }
    if (keys.size() < 2)
        return fail("a chord needs at least two keys (a lone key would never reach the target)");
    return keys;
}

}  // namespace kvmvnc::input

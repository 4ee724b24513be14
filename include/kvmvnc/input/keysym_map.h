// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kvmvnc::input {

// One key of the target's keyboard and the modifiers (HID bits: Shift,
// AltGr...) held while pressing it.
struct KeyStroke {
    uint8_t usage = 0;
    uint8_t modifiers = 0;
    bool operator==(const KeyStroke &) const = default;
};

// How to type each keysym on a target using one keyboard layout: a table
// generated from xkb-data (keymaps/keymap_generator.cpp), plus the keys
// every layout has in the same place (modifiers, function, editing, cursor
// and keypad keys). Immutable once loaded: safe to share between threads.
class KeysymMap {
public:
    // Throws std::runtime_error naming the file (and line) on failure.
    static KeysymMap fromFile(const std::string &path, const std::string &name);
    static KeysymMap fromText(std::string_view text, const std::string &name);
    // Loads `layout` ("us", "de", "de(nodeadkeys)") from the first directory
    // that has it; the error lists where it looked.
    static KeysymMap forLayout(const std::string &layout, const std::vector<std::string> &dirs);

    std::optional<KeyStroke> lookup(uint32_t keysym) const;
    // The keysym a key and modifiers type (the inverse), for the virtual
    // target's "operating system". Prefers legacy keysyms to Unicode ones.
    std::optional<uint32_t> keysymFor(KeyStroke stroke) const;

    const std::string &name() const { return name_; }
    size_t size() const { return byKeysym_.size(); }

    // The keysym a viewer sends for a character: Latin-1 is its own keysym,
    // the rest 0x01000000 + code point; newline and tab are Return and Tab.
    static uint32_t keysymForCharacter(char32_t character);
    // The character a keysym stands for, or 0 (for the virtual target).
    static char32_t characterForKeysym(uint32_t keysym);

private:
    std::string name_;
    std::unordered_map<uint32_t, KeyStroke> byKeysym_;
    std::unordered_map<uint16_t, uint32_t> byStroke_;  // usage << 8 | modifiers
};

}  // namespace kvmvnc::input

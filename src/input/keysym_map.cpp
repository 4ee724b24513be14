// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/keysym_map.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/input/hid_usage.h"

namespace kvmvnc::input {

namespace {

bool parseHex(std::string_view field, uint32_t &out) {
    if (field.size() < 3 || field[0] != '0' || (field[1] != 'x' && field[1] != 'X'))
        return false;
    auto [end, ec] = std::from_chars(field.data() + 2, field.data() + field.size(), out, 16);
    return ec == std::errc() && end == field.data() + field.size();
}

}  // namespace

KeysymMap KeysymMap::fromText(std::string_view text, const std::string &name) {
    KeysymMap map;
    map.name_ = name;
    int lineNumber = 0;
    size_t position = 0;
    while (position < text.size()) {
        size_t end = text.find('\n', position);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(position, end - position);
        position = end + 1;
        ++lineNumber;
        if (line.empty() || line.front() == '#')
            continue;
        std::string_view fields[3];
        size_t count = 0;
        size_t at = 0;
        while (at < line.size() && count < 4) {
            while (at < line.size() && line[at] == ' ')
                ++at;
            size_t stop = line.find(' ', at);
            if (stop == std::string_view::npos)
                stop = line.size();
            if (stop > at) {
                if (count == 3) {
                    ++count;
                    break;
                }
                fields[count++] = line.substr(at, stop - at);
            }
            at = stop;
        }
        uint32_t keysym = 0, usageValue = 0, modifiers = 0;
        if (count != 3 || !parseHex(fields[0], keysym) || !parseHex(fields[1], usageValue) ||
            !parseHex(fields[2], modifiers) || usageValue > 0xff || modifiers > 0xff)
            throw std::runtime_error(name + ":" + std::to_string(lineNumber) +
                                     ": expected 'keysym usage modifiers' in hex");
        KeyStroke stroke{static_cast<uint8_t>(usageValue), static_cast<uint8_t>(modifiers)};
        map.byKeysym_[keysym] = stroke;
        const uint16_t key = static_cast<uint16_t>(stroke.usage << 8 | stroke.modifiers);
        auto it = map.byStroke_.find(key);
        if (it == map.byStroke_.end() || (it->second >= 0x01000000 && keysym < 0x01000000))
            map.byStroke_[key] = keysym;
    }
    if (map.byKeysym_.empty())
        throw std::runtime_error(name + ": no keys in keymap");
    return map;
}

KeysymMap KeysymMap::fromFile(const std::string &path, const std::string &name) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error(path + ": cannot open keymap: " + errorText(errno));
    std::ostringstream text;
    text << file.rdbuf();
    return fromText(text.str(), name);
}

KeysymMap KeysymMap::forLayout(const std::string &layout, const std::vector<std::string> &dirs) {
    if (layout.empty() || layout.find('/') != std::string::npos ||
        layout.find("..") != std::string::npos)
        throw std::runtime_error("keyboard layout '" + layout + "' is not a layout name");
    std::string looked;
    for (const std::string &dir : dirs) {
        const std::string path = dir + "/" + layout + ".kmap";
        if (std::ifstream(path).good())
            return fromFile(path, layout);
        looked += (looked.empty() ? "" : ", ") + dir;
    }
    throw std::runtime_error("keyboard layout '" + layout + "' not found in " +
                             (looked.empty() ? std::string("(no keymap directory)") : looked));
}

std::optional<KeyStroke> KeysymMap::lookup(uint32_t keysym) const {
    if (auto special = usageForSpecialKeysym(keysym))
        return KeyStroke{*special, 0};
    auto it = byKeysym_.find(keysym);
    if (it != byKeysym_.end())
        return it->second;
    return std::nullopt;
}

std::optional<uint32_t> KeysymMap::keysymFor(KeyStroke stroke) const {
    auto it = byStroke_.find(static_cast<uint16_t>(stroke.usage << 8 | stroke.modifiers));
    if (it == byStroke_.end())
        return std::nullopt;
    return it->second;
}

uint32_t KeysymMap::keysymForCharacter(char32_t character) {
    if (character == U'\n' || character == U'\r')
        return 0xff0d;  // Return
    if (character == U'\t')
        return 0xff09;  // Tab
    if ((character >= 0x20 && character <= 0x7e) || (character >= 0xa0 && character <= 0xff))
        return character;
    return 0x01000000 | character;
}

char32_t KeysymMap::characterForKeysym(uint32_t keysym) {
    if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff))
        return keysym;
    if ((keysym & 0xff000000) == 0x01000000)
        return keysym & 0x00ffffff;
    return 0;
}

}  // namespace kvmvnc::input

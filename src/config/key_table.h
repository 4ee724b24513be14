// SPDX-License-Identifier: GPL-2.0-or-later
// The row type of the key table (config.cpp) and the helpers that make rows
// for each kind of value. Internal to the config stage.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kvmvnc/config/config.h"

namespace kvmvnc::config::table {

// Parses `value` into the config; returns an error text, or "" when valid.
using Setter = std::function<std::string(Config &, std::string_view value)>;
// The key's value in a config, as the INI file would say it: compares two
// configs, names what a reload changed, and copies a value with the setter.
using Getter = std::function<std::string(const Config &)>;
// A value as the setter takes it, given the INI file's directory: path keys
// take a relative value from there.
using Resolver = std::string (*)(const std::string &value, const std::string &baseDir);
// Checks a text value: "" when valid, else the problem.
using Check = std::string (*)(const std::string &value);

struct Key {
    const char *section;
    const char *name;
    const char *defaultValue;
    std::string range;
    const char *help;
    Setter set = nullptr;
    Getter get = nullptr;
    Reload reload = Reload::Restart;
    Resolver resolve = nullptr;  // null: the value is taken as it is
};

// Marks a key that `systemctl reload` applies to the running daemon.
inline Key live(Key key) {
    key.reload = Reload::Live;
    return key;
}

inline std::string trimmed(std::string_view text) {
    size_t begin = text.find_first_not_of(" \t");
    size_t end = text.find_last_not_of(" \t");
    return begin == std::string_view::npos ? std::string{}
                                           : std::string(text.substr(begin, end - begin + 1));
}

inline std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

inline std::string resolvePath(const std::string &path, const std::string &baseDir) {
    if (path.empty() || path.front() == '/' || baseDir.empty())
        return path;
    return (std::filesystem::path(baseDir) / path).lexically_normal().string();
}

// The helpers below take `field`, a generic lambda returning the member for
// a Config or a const one: the setter writes through it, the getter reads.

// A text value, taken as it is once `check` (if any) accepts it.
template <typename Field>
Key stringKey(const char *section, const char *name, const char *defaultValue, std::string range,
              const char *help, Field field, Check check = nullptr) {
    Key key{section, name, defaultValue, std::move(range), help};
    key.set = [=](Config &config, std::string_view value) -> std::string {
        std::string text(value);
        std::string problem = check ? check(text) : "";
        if (problem.empty())
            field(config) = std::move(text);
        return problem;
    };
    key.get = [=](const Config &config) -> std::string { return field(config); };
    return key;
}

// A file or directory; relative to the INI file's directory.
template <typename Field>
Key pathKey(const char *section, const char *name, const char *defaultValue, std::string range,
            const char *help, Field field, Check check = nullptr) {
    Key key = stringKey(section, name, defaultValue, std::move(range), help, field, check);
    key.resolve = resolvePath;
    return key;
}

template <typename Field>
Key intKey(const char *section, const char *name, const char *defaultValue, int min, int max,
           const char *help, Field field, int specialValue = -2,
           const char *specialMeaning = nullptr) {
    std::string range = std::to_string(min) + ".." + std::to_string(max);
    if (specialMeaning)
        range = std::to_string(specialValue) + " (" + specialMeaning + ") or " + range;
    Key key{section, name, defaultValue, range, help};
    key.set = [=](Config &config, std::string_view value) -> std::string {
        int parsed = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
        if (ec != std::errc() || end != value.data() + value.size())
            return "'" + std::string(value) + "' is not a whole number";
        if (parsed != specialValue && (parsed < min || parsed > max))
            return std::to_string(parsed) + " is out of range " + range;
        field(config) = parsed;
        return {};
    };
    key.get = [=](const Config &config) { return std::to_string(field(config)); };
    return key;
}

template <typename Field>
Key boolKey(const char *section, const char *name, const char *defaultValue, const char *help,
            Field field) {
    Key key{section, name, defaultValue, "true or false", help};
    key.set = [=](Config &config, std::string_view value) -> std::string {
        std::string v = lower(value);
        if (v == "true" || v == "yes" || v == "on" || v == "1")
            field(config) = true;
        else if (v == "false" || v == "no" || v == "off" || v == "0")
            field(config) = false;
        else
            return "'" + std::string(value) + "' is not true or false";
        return {};
    };
    key.get = [=](const Config &config) -> std::string { return field(config) ? "true" : "false"; };
    return key;
}

// One of a few words (any case), each naming a value of an enum.
template <typename Enum, typename Field>
Key enumKey(const char *section, const char *name, const char *defaultValue, const char *help,
            Field field, std::vector<std::pair<const char *, Enum>> words) {
    std::string range;
    for (size_t i = 0; i < words.size(); ++i) {
        if (i > 0)
            range += i + 1 == words.size() ? " or " : ", ";
        range += words[i].first;
    }
    Key key{section, name, defaultValue, range, help};
    key.set = [=](Config &config, std::string_view value) -> std::string {
        const std::string v = lower(value);
        for (const auto &[word, meaning] : words) {
            if (v == word) {
                field(config) = meaning;
                return {};
            }
        }
        return "'" + std::string(value) + "' is not " + range;
    };
    key.get = [=](const Config &config) -> std::string {
        for (const auto &[word, meaning] : words)
            if (field(config) == meaning)
                return word;
        return "?";
    };
    return key;
}

}  // namespace kvmvnc::config::table

// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace kvmvnc::log {

namespace {

std::atomic<Level> gLevel{Level::Info};

const char *levelTag(Level level) {
    switch (level) {
    case Level::Debug:
        return "D";
    case Level::Info:
        return "I";
    case Level::Warning:
        return "W";
    case Level::Error:
        return "E";
    }
    return "?";
}

constexpr struct {
    const char *name;
    Level level;
} kNames[] = {{"debug", Level::Debug},
              {"info", Level::Info},
              {"warning", Level::Warning},
              {"error", Level::Error}};

}  // namespace

void setLevel(Level level) { gLevel.store(level, std::memory_order_relaxed); }

Level level() { return gLevel.load(std::memory_order_relaxed); }

bool parseLevel(const char *text, Level &out) {
    for (const auto &entry : kNames) {
        if (std::strcmp(text, entry.name) == 0) {
            out = entry.level;
            return true;
        }
    }
    return false;
}

const char *levelName(Level level) {
    for (const auto &entry : kNames)
        if (entry.level == level)
            return entry.name;
    return "?";
}

void write(Level lvl, const char *category, const char *format, ...) {
    char line[1024];
    int used = std::snprintf(line, sizeof(line), "%s %s: ", levelTag(lvl), category);
    if (used < 0)
        return;
    va_list args;
    va_start(args, format);
    int body = std::vsnprintf(line + used, sizeof(line) - used, format, args);
    va_end(args);
    size_t length = used + (body < 0 ? 0 : static_cast<size_t>(body));
    if (length > sizeof(line) - 2)
        length = sizeof(line) - 2;
    // Messages from libraries sometimes end in a newline already.
    while (length > 0 && line[length - 1] == '\n')
        --length;
    line[length++] = '\n';
    // One write() per line: atomic with respect to other threads' lines.
    ssize_t ignored = ::write(STDERR_FILENO, line, length);
    (void)ignored;
}

}  // namespace kvmvnc::log

// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

// Process-wide logging to stderr (the journal under systemd), one line per
// message, written with a single write() so lines from different threads never
// interleave. Thread-safe.

namespace kvmvnc::log {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

void setLevel(Level level);
Level level();

// Parses "debug", "info", "warning" or "error". Returns false on anything else.
bool parseLevel(const char *text, Level &out);
// The name parseLevel() takes for `level`.
const char *levelName(Level level);

void write(Level level, const char *category, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace kvmvnc::log

#define KVM_LOG(severity, category, ...)                                            \
    do {                                                                            \
        if (static_cast<int>(severity) >= static_cast<int>(::kvmvnc::log::level())) \
            ::kvmvnc::log::write(severity, category, __VA_ARGS__);                  \
    } while (0)
#define LOG_DEBUG(category, ...) KVM_LOG(::kvmvnc::log::Level::Debug, category, __VA_ARGS__)
#define LOG_INFO(category, ...) KVM_LOG(::kvmvnc::log::Level::Info, category, __VA_ARGS__)
#define LOG_WARN(category, ...) KVM_LOG(::kvmvnc::log::Level::Warning, category, __VA_ARGS__)
#define LOG_ERROR(category, ...) KVM_LOG(::kvmvnc::log::Level::Error, category, __VA_ARGS__)
